package clv

import (
	"context"
	"math"
)

// objective returns f(x) and writes ∇f(x) into grad. It returns +Inf (or NaN)
// where f is not defined.
type objective func(x, grad []float64) float64

// optResult is the outcome of one local minimisation.
type optResult struct {
	x         []float64
	f         float64
	grad      []float64
	iters     int
	converged bool
	// h is the final inverse Hessian approximation (nil if none was built).
	h [][]float64
}

// stallGradTol is the gradient bound (per customer, with respect to the
// log-parameters) under which an optimiser that can no longer make relative
// progress on f counts as converged. It is scale-aware: the objective is the
// mean log-likelihood per customer and the gradient is taken with respect to
// ln θ, so neither the number of customers nor the unit of time or money
// changes it. A change of 1e−6 in a log-parameter then moves the mean
// log-likelihood by less than 1e−11.
const stallGradTol = 1e-5

// relFTol: an iteration that lowers f by less than relFTol·max(1, |f|)
// makes no relative progress.
const relFTol = 1e-13

// bfgs minimises fn from x0 with the BFGS quasi-Newton method (inverse
// Hessian update, Nocedal & Wright 2006, §6.1) and a backtracking Armijo
// line search with safeguarded quadratic interpolation. It stops with
// converged = true when max|∇f| ≤ tol, or when f no longer changes
// relatively (two iterations in a row below relFTol, or no step along the
// search direction lowers f) while max|∇f| ≤ max(100·tol, stallGradTol);
// it stops with converged = false after maxIter iterations or when it
// cannot make progress with a larger gradient. Each step changes no
// coordinate by more than maxStep, which keeps the exponentiated
// log-parameters of the callers finite. h0, when not nil, is the initial
// inverse Hessian (e.g. from a fit of a subsample); it is copied. It checks
// ctx before every iteration and returns ctx's error when it is done.
func bfgs(ctx context.Context, fn objective, x0 []float64, h0 [][]float64, maxIter int, tol float64) (optResult, error) {
	const (
		maxStep = 3.0
		c1      = 1e-4
	)
	stallTol := math.Max(100*tol, stallGradTol)
	n := len(x0)
	x := append([]float64(nil), x0...)
	g := make([]float64, n)
	f := fn(x, g)
	res := optResult{x: x, f: f, grad: g}
	if !isFinite(f) || !allFinite(g) {
		res.f = math.Inf(1)
		return res, nil
	}
	flat := 0 // consecutive iterations without relative progress
	H := identity(n)
	fresh := true // H is the identity (no curvature information yet)
	if h0 != nil {
		for i := range H {
			copy(H[i], h0[i])
		}
		fresh = false
	}
	xn := make([]float64, n)
	gn := make([]float64, n)
	d := make([]float64, n)
	s := make([]float64, n)
	y := make([]float64, n)
	for res.iters = 0; res.iters < maxIter; res.iters++ {
		if err := ctx.Err(); err != nil {
			res.f = f
			return res, err
		}
		if maxAbs(g) <= tol {
			res.converged = true
			break
		}
		for i := range d {
			d[i] = 0
			for j := range g {
				d[i] -= H[i][j] * g[j]
			}
		}
		gd := dot(g, d)
		if !(gd < 0) {
			H, fresh = identity(n), true
			for i := range d {
				d[i] = -g[i]
			}
			gd = dot(g, d)
		}
		if m := maxAbs(d); m > maxStep {
			for i := range d {
				d[i] *= maxStep / m
			}
			gd = dot(g, d)
		}
		step, fnew, ok := 1.0, 0.0, false
		for ls := 0; ls < 60; ls++ {
			if ls > 0 && ctx.Err() != nil {
				res.f = f
				return res, ctx.Err()
			}
			for i := range x {
				xn[i] = x[i] + step*d[i]
			}
			fnew = fn(xn, gn)
			if isFinite(fnew) && allFinite(gn) && fnew <= f+c1*step*gd {
				ok = true
				break
			}
			next := 0.5 * step
			if isFinite(fnew) {
				// Minimiser of the quadratic through f, f'(0) = gd and fnew.
				q := -gd * step * step / (2 * (fnew - f - gd*step))
				next = math.Min(math.Max(q, 0.1*step), 0.5*step)
			}
			step = next
		}
		if !ok {
			if !fresh {
				H, fresh = identity(n), true // retry once along −∇f
				continue
			}
			res.converged = maxAbs(g) <= stallTol
			break
		}
		var ss, yy, sy float64
		for i := range x {
			s[i] = xn[i] - x[i]
			y[i] = gn[i] - g[i]
			ss += s[i] * s[i]
			yy += y[i] * y[i]
			sy += s[i] * y[i]
		}
		if sy > 1e-12*math.Sqrt(ss*yy) {
			if fresh {
				// Scale the initial inverse Hessian (Nocedal & Wright eq. 6.20).
				for i := range H {
					H[i][i] = sy / yy
				}
				fresh = false
			}
			bfgsUpdate(H, s, y, sy)
		}
		improvement := f - fnew
		copy(x, xn)
		copy(g, gn)
		f = fnew
		if improvement <= 1e-16*math.Abs(f) && maxAbs(s) < 1e-12 {
			res.iters++
			res.converged = maxAbs(g) <= stallTol
			break
		}
		if improvement <= relFTol*math.Max(1, math.Abs(f)) {
			flat++
		} else {
			flat = 0
		}
		if flat >= 2 && maxAbs(g) <= stallTol {
			res.iters++
			res.converged = true
			break
		}
	}
	res.f = f
	res.h = H
	return res, nil
}

// bfgsUpdate applies H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1/(yᵀs).
func bfgsUpdate(H [][]float64, s, y []float64, sy float64) {
	n := len(s)
	rho := 1 / sy
	Hy := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			Hy[i] += H[i][j] * y[j]
		}
	}
	yHy := dot(y, Hy)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			H[i][j] += -rho*(Hy[i]*s[j]+s[i]*Hy[j]) + (rho*rho*yHy+rho)*s[i]*s[j]
		}
	}
}

func identity(n int) [][]float64 {
	H := make([][]float64, n)
	for i := range H {
		H[i] = make([]float64, n)
		H[i][i] = 1
	}
	return H
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		if a := math.Abs(x); a > m || math.IsNaN(a) {
			m = a
		}
	}
	return m
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allFinite(v []float64) bool {
	for _, x := range v {
		if !isFinite(x) {
			return false
		}
	}
	return true
}
