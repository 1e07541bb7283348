// Package clv computes customer lifetime value.
//
// Historic CLV is what the customer has been worth so far: net revenue
// (purchases minus refunds) and net gross margin, kept exactly in minor units
// by package customer. This package adds the forward-looking figures. The
// classic formula values a customer as
//
//	CLV = average order value × purchases per year × expected lifespan in years × gross margin
//
// (Classic). It is the baseline the service publishes until a probabilistic
// customer-base model (BG/NBD, MBG/NBD with Gamma-Gamma spend) has been
// fitted. All functions are pure.
//
// # Data
//
// The probabilistic models need three numbers per customer (Customer),
// counted from the customer's first purchase, in one time unit (weeks,
// days, …) chosen by the caller:
//
//   - x, the number of repeat purchases (purchases after the first);
//   - tx, the recency: the time of the last repeat purchase (0 if x = 0);
//   - T, the age: the time from the first purchase to the end of the
//     calibration period;
//
// and, for spend, m, the mean value of the repeat purchases. Customers with
// the same (x, tx, T) are interchangeable, so Group merges them into one
// weighted row; fitting is then proportional to the number of distinct rows.
//
// # BG/NBD
//
// The beta-geometric/negative binomial model of Fader, Hardie & Lee (2005),
// NewBGNBD. While alive, a customer buys at Poisson rate λ; right after each
// repeat purchase the customer drops out ("dies") with probability p, for
// good. Across customers λ ~ Gamma(shape r, rate α) and p ~ Beta(a, b),
// independently. The likelihood of one customer is
//
//	L = B(a, b+x)/B(a,b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
//	  + [x > 0] B(a+1, b+x−1)/B(a,b) · Γ(r+x) α^r / (Γ(r) (α+tx)^(r+x)),
//
// "still alive at T" plus "died right after the last purchase". From it:
//
//	P(alive | x, tx, T) = 1 / (1 + [x > 0] a/(b+x−1) · ((α+T)/(α+tx))^(r+x))
//	E[X(t)]             = (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]
//	E[Y(t) | x, tx, T]  = P(alive) · (a+b+x−1)/(a−1)
//	                      · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//
// where X(t) is the number of repeat purchases of a new customer in (0, t]
// and Y(t) the number in (T, T+t] of a customer with history (x, tx, T). The
// last one is P(alive) times E[X(t)] under the posterior λ ~ Gamma(r+x, α+T),
// p ~ Beta(a, b+x) of an alive customer. P(X(t) = n) (ProbPurchases) is
// FHL (2005) eq. 8.
//
// # MBG/NBD
//
// The modified BG/NBD of Batislam, Denizel & Filiztekin (2007) and Hoppe &
// Wagner (2007) (lifetimes' ModifiedBetaGeoFitter), NewMBGNBD, adds a
// dropout opportunity at the first purchase (time 0), so a customer without
// repeat purchases may already be gone and P(alive) of one-time buyers falls
// with their age. An alive customer has survived k = x+1 dropout
// opportunities instead of x:
//
//	L = B(a, b+x+1)/B(a,b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
//	  + B(a+1, b+x)/B(a,b)   · Γ(r+x) α^r / (Γ(r) (α+tx)^(r+x))
//	P(alive | x, tx, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+tx))^(r+x))
//	E[X(t)]             = b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))]
//	E[Y(t) | x, tx, T]  = P(alive) · (a+b+x)/(a−1)
//	                      · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))]
//
// # Churn: no purchase in a horizon
//
// ProbNoPurchase is P(no purchase in (T, T+h] | x, tx, T): the customer is
// gone, or alive with posterior rate λ ~ Gamma(r+x, α+T) and no purchase in
// h (in both models dropout happens only right after a purchase):
//
//	P(Y(h) = 0) = 1 − P(alive) + P(alive)·((α+T)/(α+T+h))^(r+x).
//
// # BG/BB
//
// For discrete-time data (one transaction opportunity per period), BGBB is
// the beta-geometric/beta-binomial model of Fader, Hardie & Shang (2010):
// transaction probability p ~ Beta(α, β) per opportunity while alive,
// dropout probability θ ~ Beta(γ, δ) before each opportunity; FitBGBB fits
// it on (x, tx, n) patterns (the donations data reproduce the published
// estimates). As a PurchaseModel (name "bgbb") T is the number of
// opportunities; Discrete says whether histories are discrete-time data
// it applies to.
//
// # Pareto/NBD
//
// ParetoNBD (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader,
// Hardie & Lee's 2005 note): Poisson purchases at rate λ ~ Gamma(r, α)
// while alive, an exponential lifetime with rate μ ~ Gamma(s, β). It is a
// PurchaseModel (name "paretonbd"): P(alive) is the alive branch's share of
// the likelihood, E[Y(t) | history] is closed form, P(X(t) = n) a bounded
// Gauss–Legendre quadrature over the dropout time, and, for it and BG/BB,
// ProbNoPurchase is the likelihood ratio L(x, tx, T+h) / L(x, tx, T) (the
// probability of the history extended by h silent time units over that of
// the history).
//
// # Gamma-Gamma
//
// The spend model (GammaGamma) of Colombo & Jiang (1999), as used by Fader,
// Hardie & Lee (2005, "RFM and CLV") and Fader & Hardie (2013): each
// transaction's value is Gamma(shape p, rate ν), and ν ~ Gamma(shape q,
// rate γ) across customers; spend is assumed independent of the purchase
// process. A customer's mean m over x transactions has density
//
//	f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px−1) x^(px) / (γ + m x)^(px+q)
//
// and the expected value of the customer's future transactions is
//
//	E[M | x, m] = p (γ + m x) / (p x + q − 1)
//	            = (q−1)/(px+q−1) · p γ/(q−1) + px/(px+q−1) · m,
//
// a weighted average of the population mean p γ/(q−1) (the answer for
// x = 0) and the observed mean m. It is fitted on repeat buyers only.
//
// # Fitting
//
// FitPurchaseModel (FitBGNBD, FitMBGNBD, FitParetoNBD, FitBGBB) and
// FitGammaGammaContext maximise
// the weighted mean log-likelihood per customer, optionally minus an L2
// penalty Penalizer·Σθ² on the parameters θ (lifetimes' penalizer_coef
// convention, with α on lifetimes' time axis scaled to max T = 1), over the
// log-parameters, so every parameter stays positive. The optimiser is BFGS
// with analytic gradients (digamma functions) and an Armijo line search, run
// from several deterministic starting points scaled to the observed
// purchase rate (or mean spend); the best optimum wins. On more than 50,000
// distinct rows the starts run on an evenly spaced subsample and the winner
// is refined on all rows. Converged reports whether the gradient tolerance
// was met, or the objective stopped changing relatively with a small
// scale-free gradient (the objective is a mean per customer and the
// gradient is taken in log-parameters, so the test does not depend on the
// number of customers or the unit of time or money). Every fit is bounded
// (iterations, line-search steps) and checks its context before every
// likelihood evaluation. Gamma-Gamma is fitted on spends divided by their
// mean, refuses spends above MaxSpend, and reports q ≤ 1 (infinite mean
// spend) as ErrInfiniteMeanSpend. On the CDNOW sample the fits reproduce
// the published estimates (see the tests).
//
// # Customer lifetime value
//
// CLV values a customer over the next H months with monthly discounting,
// as lifetimes' customer_lifetime_value does:
//
//	CLV = Σ_{i=1..H} (E[Y(i·μ)] − E[Y((i−1)·μ)]) · spend / (1+d)^i
//
// with μ = 30/unitDays model time units per month, d the monthly discount
// rate and spend the expected value per purchase, usually
// GammaGamma.ConditionalExpectedSpend (times a margin for profit).
//
// # sBG: contract renewal
//
// For subscriptions (contractual customers, where churn is an explicit
// cancellation at the end of a contract period), SBG is the
// shifted-beta-geometric model of Fader & Hardie (2007): a subscriber
// renews at the end of every period with probability 1 − θ, θ ~ Beta(α, β)
// across subscribers. With T the period in which a subscriber cancels,
//
//	P(T = t)  = B(α+1, β+t−1)/B(α, β)          (cancels in period t ≥ 1)
//	S(t)      = P(T > t) = B(α, β+t)/B(α, β)   (survival after t renewals)
//	r_t       = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) (retention rate)
//
// The retention rate rises with tenure although every subscriber's own θ
// is constant: the subscribers with high θ leave first. After n renewals
// the posterior is θ ~ Beta(α, β+n), so the probability of renewing at the
// end of the current period is (β+n)/(α+β+n), the expected number of
// further renewals (β+n)/(α−1) (infinite for α ≤ 1) and the discounted
// expected residual lifetime (Fader & Hardie 2010, eq. 6)
//
//	DERL(d | n) = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)),
//
// the expected future renewal payments discounted at d per period; times
// the price it is the subscriber's residual value. FitSBG maximises the
// likelihood of rows "cancelled in period t" (ln P(T = t)) and "still
// subscribed after t periods" (right-censored, ln S(t)) with analytic
// gradients; on the two cohorts of Fader & Hardie (2007) it reproduces the
// published estimates (see the tests).
//
// # Numerics
//
// Log-likelihoods use ln Γ and log-sum-exp, never powers of large numbers,
// so they stay finite for customers with tens of thousands of purchases.
// The hypergeometric terms are summed after Euler's transformation,
// (1−z)^s ₂F₁(s, b; c; z) = (1−z)^(a−1) ₂F₁(c−s, a−1; c; z), which keeps the
// series terms small for any x; near a = 1, for c close to a non-positive
// integer, when the series would need more than 2,000 terms, or for
// horizons so long that t/(α+T+t) > 0.995, the expectation is instead
// integrated numerically over the dropout probability, with closed-form
// tails so the work is bounded even for a, b → 0.
//
// # References
//
//   - Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your
//     Customers" the Easy Way: An Alternative to the Pareto/NBD Model.
//     Marketing Science 24(2), 275–284.
//   - Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using
//     Iso-Value Curves for Customer Base Analysis. Journal of Marketing
//     Research 42(4), 415–430.
//   - Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of
//     Monetary Value. brucehardie.com note 025.
//   - Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical
//     validation and comparison of models for customer base analysis.
//     International Journal of Research in Marketing 24(3), 201–209.
//   - Hoppe, D. & Wagner, U. (2007). Customer base analysis: The case for a
//     central variant of the Betageometric/NBD Model. Marketing — Journal of
//     Research and Management 3(2), 75–90.
//   - Fader, P. S. & Hardie, B. G. S. (2007). How to Project Customer
//     Retention. Journal of Interactive Marketing 21(1), 76–90.
//   - Fader, P. S. & Hardie, B. G. S. (2010). Customer-Base Valuation in a
//     Contractual Setting: The Perils of Ignoring Heterogeneity. Marketing
//     Science 29(1), 85–93.
//   - Colombo, R. & Jiang, W. (1999). A stochastic RFM model. Journal of
//     Interactive Marketing 13(3), 2–12.
package clv
