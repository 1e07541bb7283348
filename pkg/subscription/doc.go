// Package subscription scores contractual customers: subscribers whose
// churn is an explicit cancellation at the end of a contract period, not a
// purchase that fails to come.
//
// # Model
//
// Renewal follows the shifted-beta-geometric model (clv.SBG, Fader &
// Hardie 2007): at the end of every period a subscriber renews with
// probability 1 − θ, θ ~ Beta(α, β) across subscribers. One model is
// fitted per contract period (day, week, month, quarter, year), because the
// model counts periods, and a monthly and a yearly renewal are different
// decisions. Fit takes one row per subscription as of the fit's instant
// (Rows): a subscription that is cancelled, cancelling or lapsed is a
// cancellation in period renewals+1; an active one is right-censored after
// its renewals. A period with fewer than Config.MinSubscribers rows, or
// without a cancellation, is not fitted and says why (Model.Skipped).
//
// # Scores
//
// Evaluate scores a customer's primary subscription (customer.State
// SubscriptionFeatures: the active one renewed last) as of an instant. With
// n renewals made, the posterior is θ ~ Beta(α, β+n), and
//
//	renewal probability  P(renew at the end of this period) = (β+n)/(α+β+n)
//	churn probability    1 − S(n+k)/S(n), k = the renewal dates within the churn horizon
//	expected renewals    Σ_{j=1..h} S(n+j)/S(n), h = the periods within Config.Horizon
//	residual value       price · DERL(d | n), DERL of Fader & Hardie (2010, eq. 6),
//	                     d the per-period rate of Config.AnnualDiscount
//
// summed over the active subscriptions for the residual value. A
// cancelling or cancelled subscriber has churn probability 1 and no
// residual value. Without a fitted model for the period the probabilities
// are NaN (segment comparisons with NaN are false) and the residual value
// is 0.
//
// Purchases of a subscriber are scored by the purchase model as before: a
// cancelled subscriber who still buys one-off keeps the purchase model's
// CLV and churn for those purchases (package scoring).
package subscription
