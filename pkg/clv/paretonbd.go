package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ParetoNBDParams are the parameters of the Pareto/NBD model of Schmittlein,
// Morrison & Colombo (1987): while alive a customer buys at Poisson rate
// λ ~ Gamma(R, Alpha); the lifetime is exponential with rate μ ~ Gamma(S,
// Beta).
type ParetoNBDParams struct {
	R, Alpha, S, Beta float64
}

func (p ParetoNBDParams) valid() bool {
	for _, v := range [...]float64{p.R, p.Alpha, p.S, p.Beta} {
		if !(v > 0) || math.IsInf(v, 1) {
			return false
		}
	}
	return true
}

// ParetoNBD is a Pareto/NBD model; histories are (x, tx, T) as in Customer.
type ParetoNBD struct{ P ParetoNBDParams }

// hyp2f1c returns ln ₂F₁(a, b; a+1; z) for 0 ≤ z < 1 by its series, whose
// term ratio (a+n)(b+n)z/((a+1+n)(n+1)) tends to z: at most 100,000 terms
// (z up to about 0.9996); NaN beyond.
func hyp2f1c(a, b, z float64) float64 {
	if z == 0 {
		return 0
	}
	term, sum := 1.0, 1.0
	for n := 0.0; n < 1e5; n++ {
		term *= (a + n) * (b + n) / ((a + 1 + n) * (n + 1)) * z
		sum += term
		if term <= 1e-17*sum && n > b {
			return math.Log(sum)
		}
		if math.IsInf(sum, 1) {
			return math.NaN()
		}
	}
	return math.NaN()
}

// LogLikelihood is ln L(x, tx, T) of Fader, Hardie & Lee (2005), "A Note
// on Deriving the Pareto/NBD Model and Related Expressions", eq. 22:
//
//	L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀ ],
//
// with, for α ≥ β (and symmetrically, swapping the roles, for α < β),
//
//	A₀ = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+tx)) / (α+tx)^(r+s+x)
//	   − ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+T)) / (α+T)^(r+s+x),
//
// computed in logarithms. It returns NaN outside the domain or where the
// series would need more than 100,000 terms.
func (m ParetoNBD) LogLikelihood(x, tx, T float64) float64 {
	p := m.P
	if !p.valid() || !validHistory(x, tx, T) || (x == 0 && tx != 0) {
		return math.NaN()
	}
	a1 := p.R + p.S + x
	var lf1, lf2, ld1, ld2 float64
	if p.Alpha >= p.Beta {
		b1 := p.S + 1
		lf1, lf2 = hyp2f1c(a1, b1, (p.Alpha-p.Beta)/(p.Alpha+tx)), hyp2f1c(a1, b1, (p.Alpha-p.Beta)/(p.Alpha+T))
		ld1, ld2 = a1*math.Log(p.Alpha+tx), a1*math.Log(p.Alpha+T)
	} else {
		b1 := p.R + x
		lf1, lf2 = hyp2f1c(a1, b1, (p.Beta-p.Alpha)/(p.Beta+tx)), hyp2f1c(a1, b1, (p.Beta-p.Alpha)/(p.Beta+T))
		ld1, ld2 = a1*math.Log(p.Beta+tx), a1*math.Log(p.Beta+T)
	}
	u, v := lf1-ld1, lf2-ld2 // A₀ = e^u − e^v ≥ 0
	var lA0 float64
	switch {
	case math.IsNaN(u) || math.IsNaN(v):
		return math.NaN()
	case v >= u:
		lA0 = math.Inf(-1)
	default:
		lA0 = u + math.Log(-math.Expm1(v-u))
	}
	base := lgamma(p.R+x) - lgamma(p.R) + p.R*math.Log(p.Alpha) + p.S*math.Log(p.Beta)
	alive := -(p.R+x)*math.Log(p.Alpha+T) - p.S*math.Log(p.Beta+T)
	return base + logAddExp(alive, math.Log(p.S/a1)+lA0)
}

// FitParetoNBD fits Pareto/NBD by maximum likelihood (BFGS on the
// log-parameters with central-difference gradients on the grouped rows,
// from o.Starts starting points, checking ctx).
func FitParetoNBD(ctx context.Context, data []Customer, o FitOptions) (ParetoNBD, FitResult, error) {
	o = o.withDefaults()
	d, err := newPurchaseData(data)
	if err != nil {
		return ParetoNBD{}, FitResult{}, err
	}
	meanLL := func(p ParetoNBDParams) float64 {
		m := ParetoNBD{P: p}
		var s float64
		for i, w := range d.w {
			s += w * m.LogLikelihood(d.xs[d.xi[i]], d.txs[d.txi[i]], d.ts[d.ti[i]])
		}
		return s / d.n
	}
	fromLog := func(v []float64) ParetoNBDParams {
		return ParetoNBDParams{math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), math.Exp(v[3])}
	}
	obj := func(v, grad []float64) float64 {
		p := fromLog(v)
		if !p.valid() {
			return math.Inf(1)
		}
		f := -meanLL(p)
		if !isFinite(f) {
			return math.Inf(1)
		}
		const h = 1e-6
		for i := range grad {
			up := append([]float64(nil), v...)
			dn := append([]float64(nil), v...)
			up[i] += h
			dn[i] -= h
			grad[i] = (meanLL(fromLog(dn)) - meanLL(fromLog(up))) / (2 * h)
		}
		if o.Penalizer > 0 {
			for i, th := range [...]float64{p.R, p.Alpha, p.S, p.Beta} {
				f += o.Penalizer * th * th
				grad[i] += 2 * o.Penalizer * th * th
			}
		}
		return f
	}
	rate := d.sumX / math.Max(d.sumT, 1e-300)
	if !(rate > 0) {
		rate = 1 / math.Max(d.sumT/d.n, 1)
	}
	meanT := d.sumT / d.n
	starts := [][2]float64{{1, 1}, {0.5, 0.5}, {0.3, 2}, {2, 0.3}, {1, 5}}
	best := optResult{f: math.Inf(1)}
	tol := math.Max(o.Tol, 1e-7) // central differences
	for s := 0; s < o.Starts; s++ {
		st := starts[s%len(starts)]
		x0 := []float64{math.Log(st[0]), math.Log(st[0] / rate), math.Log(st[1]), math.Log(st[1] * meanT)}
		res, err := bfgs(ctx, obj, x0, nil, o.MaxIter, tol)
		if err != nil {
			return ParetoNBD{}, FitResult{N: int(math.Round(d.n))}, fmt.Errorf("clv: Pareto/NBD fit stopped: %w", err)
		}
		if res.f < best.f {
			best = res
		}
	}
	out := FitResult{N: int(math.Round(d.n))}
	if best.x == nil || !isFinite(best.f) {
		return ParetoNBD{}, out, errors.New("clv: Pareto/NBD likelihood is not finite at any starting point")
	}
	p := fromLog(best.x)
	out.LogLikelihood = meanLL(p) * d.n
	out.Converged, out.Iterations = best.converged, best.iters
	return ParetoNBD{P: p}, out, nil
}
