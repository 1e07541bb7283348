package clv

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// FitOptions control maximum-likelihood fitting. The zero value is usable.
type FitOptions struct {
	// Penalizer is the coefficient of an L2 penalty on the parameters, as
	// lifetimes' penalizer_coef: the fit maximises the mean log-likelihood
	// per customer minus Penalizer·Σθ², where θ are the natural (not log)
	// parameters. 0 (the default) gives the plain MLE. Because the penalty is
	// on the per-customer mean, its strength does not depend on the number
	// of customers. For the purchase models the penalty is taken, as
	// lifetimes does, on a rescaled time axis on which the oldest customer
	// has age 1: θ = (r, α/max T, a, b), so the same Penalizer means the
	// same thing whatever the time unit (lifetimes' _scale_time). The
	// Gamma-Gamma penalty is on (p, q, γ) in the unit of the data, as
	// lifetimes' GammaGammaFitter has it.
	Penalizer float64
	// Starts is the number of deterministic starting points (default 5); the
	// best local optimum wins. On more than subsampleRows distinct rows the
	// starts are run on an evenly spaced subsample of the (sorted) rows and
	// only the winner is refined on all of them.
	Starts int
	// MaxIter is the iteration limit of each start (default 500).
	MaxIter int
	// Tol is the convergence tolerance on the largest absolute gradient of
	// the per-customer objective with respect to the log-parameters
	// (default 1e-9).
	Tol float64
}

func (o FitOptions) withDefaults() FitOptions {
	if o.Starts <= 0 {
		o.Starts = 5
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 500
	}
	if o.Tol <= 0 {
		o.Tol = 1e-9
	}
	return o
}

// FitResult describes a fit.
type FitResult struct {
	// LogLikelihood is the total (weighted) log-likelihood of the data at
	// the fitted parameters, without the penalty.
	LogLikelihood float64
	// Converged is true when the winning start met the gradient tolerance
	// Tol (or stopped at a point no step could improve, with the gradient
	// within 100·Tol) before MaxIter iterations; false means the iteration
	// limit was hit or the optimiser stalled with a larger gradient.
	Converged bool
	// Iterations is the number of optimiser iterations of the winning start.
	Iterations int
	// N is the number of customers used (the sum of their weights).
	N int
}

// Group merges customers with identical (X, TX, T, M) into one row whose
// weight W is the sum of theirs, and returns the rows sorted by X, TX, T
// and M. Fitting on grouped data gives the same estimates much faster when
// times are discretised (days, weeks). Set M to 0 first to group for a
// purchase model alone.
func Group(data []Customer) []Customer {
	type key struct{ x, tx, t, m float64 }
	idx := make(map[key]int, len(data)/4+1)
	out := make([]Customer, 0, len(data)/4+1)
	for _, c := range data {
		k := key{c.X, c.TX, c.T, c.M}
		if i, ok := idx[k]; ok {
			out[i].W += c.weight()
			continue
		}
		idx[k] = len(out)
		c.W = c.weight()
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.X != b.X:
			return a.X < b.X
		case a.TX != b.TX:
			return a.TX < b.TX
		case a.T != b.T:
			return a.T < b.T
		default:
			return a.M < b.M
		}
	})
	return out
}

// checkWeight validates one customer's weight.
func checkWeight(i int, c Customer) error {
	if math.IsNaN(c.W) || c.W < 0 || math.IsInf(c.W, 1) {
		return fmt.Errorf("clv: customer %d: weight W = %v must be finite and ≥ 0", i, c.W)
	}
	return nil
}

// purchaseData is grouped (X, TX, T) data indexed for fast likelihood
// evaluation: the likelihood's x-only terms are computed once per distinct
// x, and ln(α+T), ln(α+tx) once per distinct T and tx value.
type purchaseData struct {
	xs, ts, txs   []float64 // distinct values
	xi, ti, txi   []int32   // per row: index into xs, ts, txs
	w             []float64 // per row weight
	wx            []float64 // total weight per distinct x
	n             float64   // total weight
	sumX, sumT    float64   // weighted sums, for starting values
	perX          []xTerms  // scratch, per distinct x
	aliveShareByX []float64 // scratch: Σ w·π (alive-branch weight) per distinct x
	// scratch: ln(α+v) and 1/(α+v) per distinct T and tx value
	lT, iT, lTx, iTx []float64
}

// xTerms are the parts of one customer's log-likelihood (and of its
// gradient with respect to r, α, a, b) that depend on x only.
type xTerms struct {
	x, base, alive, dead                                     float64
	dBaseR, dAliveA, dAliveB, dDeadA, dDeadB, dBaseA, dBaseB float64
	hasDead                                                  bool
}

func newPurchaseData(data []Customer) (*purchaseData, error) {
	if len(data) == 0 {
		return nil, errors.New("clv: no customers to fit")
	}
	type key struct{ x, tx, t, w float64 }
	keys := make([]key, 0, len(data))
	for i, c := range data {
		if err := checkWeight(i, c); err != nil {
			return nil, err
		}
		if !validHistory(c.X, c.TX, c.T) {
			return nil, fmt.Errorf("clv: customer %d: need X ≥ 0 and 0 ≤ TX ≤ T < ∞, got X=%v TX=%v T=%v", i, c.X, c.TX, c.T)
		}
		if c.X == 0 && c.TX != 0 {
			return nil, fmt.Errorf("clv: customer %d: TX = %v but X = 0 (recency must be 0 without repeat purchases)", i, c.TX)
		}
		if w := c.weight(); w > 0 {
			keys = append(keys, key{c.X, c.TX, c.T, w})
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("clv: all customer weights are zero")
	}
	// Merge identical rows when there are enough of them to pay for the
	// sort (day- or week-rounded times); with continuous times nearly every
	// row is distinct and the rows are used as they are, which gives the
	// same likelihood. Sorting is cheaper than a map of a million float
	// keys and gives a deterministic order.
	if mostlyDistinct(len(keys), 0.9, func(i int) [3]float64 { return [3]float64{keys[i].x, keys[i].tx, keys[i].t} }) {
		goto indexed
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.x, b.x); c != 0 {
			return c
		}
		if c := cmp.Compare(a.tx, b.tx); c != 0 {
			return c
		}
		return cmp.Compare(a.t, b.t)
	})
	{
		j := 0
		for i := 1; i < len(keys); i++ {
			if k := keys[i]; k.x == keys[j].x && k.tx == keys[j].tx && k.t == keys[j].t {
				keys[j].w += k.w
			} else {
				j++
				keys[j] = k
			}
		}
		keys = keys[:j+1]
	}
indexed:
	d := &purchaseData{
		xi:  make([]int32, len(keys)),
		ti:  make([]int32, len(keys)),
		txi: make([]int32, len(keys)),
		w:   make([]float64, len(keys)),
	}
	// ln(α+T) and ln(α+tx) are computed once per distinct value when the
	// values repeat (days, weeks: a few hundred distinct ages), and once
	// per row when they hardly do (continuous times), which saves the
	// index lookups.
	rowT := make([]float64, len(keys))
	rowTX := make([]float64, len(keys))
	for i, k := range keys {
		rowT[i], rowTX[i] = k.t, k.tx
	}
	// (per row already when 30 % of the values are distinct: sorting a
	// million values costs more than the logarithms the index would save,
	// e.g. tx with continuous times, where only the one-time buyers share
	// tx = 0)
	index := func(vals []float64) ([]float64, func(float64, int) int32) {
		if mostlyDistinct(len(vals), 0.3, func(i int) [3]float64 { return [3]float64{vals[i]} }) {
			return vals, func(_ float64, i int) int32 { return int32(i) }
		}
		u := sortedUnique(append([]float64(nil), vals...))
		return u, func(v float64, _ int) int32 { j, _ := slices.BinarySearch(u, v); return int32(j) }
	}
	var tIdx, txIdx func(float64, int) int32
	d.ts, tIdx = index(rowT)
	d.txs, txIdx = index(rowTX)
	// Distinct x values in increasing order (few: purchase counts).
	xIndex := map[float64]int32{}
	for _, k := range keys {
		if _, ok := xIndex[k.x]; !ok {
			xIndex[k.x] = 0
			d.xs = append(d.xs, k.x)
		}
	}
	slices.Sort(d.xs)
	for i, x := range d.xs {
		xIndex[x] = int32(i)
	}
	d.wx = make([]float64, len(d.xs))
	lastX, lastI := math.NaN(), int32(0)
	for i, k := range keys {
		if k.x != lastX {
			lastX, lastI = k.x, xIndex[k.x]
		}
		d.xi[i] = lastI
		d.wx[lastI] += k.w
		d.ti[i], d.txi[i] = tIdx(k.t, i), txIdx(k.tx, i)
		d.w[i] = k.w
		d.n += k.w
		d.sumX += k.w * k.x
		d.sumT += k.w * k.t
	}
	d.perX = make([]xTerms, len(d.xs))
	d.aliveShareByX = make([]float64, len(d.xs))
	return d, nil
}

// mostlyDistinct estimates from an evenly spaced sample of up to 20,000 of
// the n rows (key(i) of row i) whether more than the share frac of them
// are distinct, in which case grouping identical rows does not pay.
func mostlyDistinct(n int, frac float64, key func(int) [3]float64) bool {
	if n < 20000 {
		return false // small: group, it is cheap
	}
	step := n / 20000
	seen := make(map[[3]float64]struct{}, 20000)
	var m int
	for i := 0; i < n; i += step {
		seen[key(i)] = struct{}{}
		m++
	}
	return float64(len(seen)) > frac*float64(m)
}

// sortedUnique sorts v in place and returns its distinct values.
func sortedUnique(v []float64) []float64 {
	slices.Sort(v)
	return slices.Compact(v)
}

// meanLogLik returns the weighted mean log-likelihood per customer at
// params (r, α, a, b) and, if grad is non-nil, its gradient with respect to
// (ln r, ln α, ln a, ln b).
//
// For one customer, with k the survived dropout opportunities (x or x+1),
//
//	ℓ = base + ln(e^alive + [has dead] e^dead)
//	base  = ln Γ(r+x) − ln Γ(r) + r ln α − ln B(a, b)
//	alive = ln B(a, b+k)     − (r+x) ln(α+T)
//	dead  = ln B(a+1, b+k−1) − (r+x) ln(α+tx)
//
// and the derivatives follow with ψ = digamma; the weight of the alive
// term, π = e^alive / (e^alive + e^dead), mixes the two branches.
func (d *purchaseData) meanLogLik(p Params, modified bool, grad []float64) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	lAlpha := math.Log(alpha)
	lgR, psiR := lgamma(r), digamma(r)
	lbAB := lbeta(a, b)
	psiA, psiB, psiAB := digamma(a), digamma(b), digamma(a+b)
	for i, x := range d.xs {
		k := x
		if modified {
			k = x + 1
		}
		t := &d.perX[i]
		t.x = x
		t.base = lgamma(r+x) - lgR + r*lAlpha - lbAB
		t.alive = lbeta(a, b+k)
		t.hasDead = k > 0
		if t.hasDead {
			t.dead = lbeta(a+1, b+k-1)
		}
		if grad != nil {
			psiABK := digamma(a + b + k)
			t.dBaseR = digamma(r+x) - psiR + lAlpha
			t.dBaseA = -(psiA - psiAB)
			t.dBaseB = -(psiB - psiAB)
			t.dAliveA = psiA - psiABK
			t.dAliveB = digamma(b+k) - psiABK
			if t.hasDead {
				t.dDeadA = digamma(a+1) - psiABK
				t.dDeadB = digamma(b+k-1) - psiABK
			}
		}
		d.aliveShareByX[i] = 0
	}
	if len(d.lT) != len(d.ts) {
		d.lT, d.iT = make([]float64, len(d.ts)), make([]float64, len(d.ts))
		d.lTx, d.iTx = make([]float64, len(d.txs)), make([]float64, len(d.txs))
	}
	lT, iT, lTx, iTx := d.lT, d.iT, d.lTx, d.iTx
	parallel((len(d.ts)+chunkRows-1)/chunkRows, func(c int) {
		for i := c * chunkRows; i < min((c+1)*chunkRows, len(d.ts)); i++ {
			lT[i] = math.Log(alpha + d.ts[i])
			iT[i] = 1 / (alpha + d.ts[i])
		}
	})
	parallel((len(d.txs)+chunkRows-1)/chunkRows, func(c int) {
		for i := c * chunkRows; i < min((c+1)*chunkRows, len(d.txs)); i++ {
			lTx[i] = math.Log(alpha + d.txs[i])
			iTx[i] = 1 / (alpha + d.txs[i])
		}
	})
	// The rows are summed in fixed chunks, on all cores when there are
	// several; the chunks are combined in order, so the result does not
	// depend on GOMAXPROCS or scheduling.
	cols := rowColumns{r: r, lT: lT, iT: iT, lTx: lTx, iTx: iTx, grad: grad != nil}
	nChunks := (len(d.w) + chunkRows - 1) / chunkRows
	parts := make([]rowSums, nChunks)
	parallel(nChunks, func(c int) {
		lo := c * chunkRows
		parts[c] = d.sumRows(lo, min(lo+chunkRows, len(d.w)), &cols)
	})
	var ll, gR, gAlpha float64
	for c := range parts {
		ll += parts[c].ll
		gR += parts[c].gR
		gAlpha += parts[c].gAlpha
		if grad != nil {
			for k, v := range parts[c].alive {
				d.aliveShareByX[k] += v
			}
		}
	}
	if grad != nil {
		var gA, gB float64
		for i := range d.xs {
			t := &d.perX[i]
			wx := d.wx[i]
			wa := d.aliveShareByX[i]
			gR += wx * t.dBaseR
			gA += wx*t.dBaseA + wa*t.dAliveA + (wx-wa)*t.dDeadA
			gB += wx*t.dBaseB + wa*t.dAliveB + (wx-wa)*t.dDeadB
		}
		gAlpha += d.n * r / alpha
		// d/d ln θ = θ · d/dθ, and the mean over customers.
		grad[0] = r * gR / d.n
		grad[1] = alpha * gAlpha / d.n
		grad[2] = a * gA / d.n
		grad[3] = b * gB / d.n
	}
	return ll / d.n
}

// chunkRows is the number of grouped rows summed by one task.
const chunkRows = 16384

// parallel runs fn(0..n-1) on all cores (inline when there is one core or
// one task). Each task writes only its own outputs, so the results do not
// depend on scheduling.
func parallel(n int, fn func(int)) {
	if workers := min(runtime.GOMAXPROCS(0), n); workers <= 1 {
		for c := 0; c < n; c++ {
			fn(c)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := int(next.Add(1) - 1); c < n; c = int(next.Add(1) - 1) {
				fn(c)
			}
		}()
	}
	wg.Wait()
}

// rowColumns are the per-evaluation inputs of sumRows: r, and ln(α+v),
// 1/(α+v) for each distinct T and tx value v.
type rowColumns struct {
	r                float64
	lT, iT, lTx, iTx []float64
	grad             bool
}

// rowSums are one chunk's contributions to the log-likelihood and to the
// gradient parts that vary by row: ∂/∂r, ∂/∂α, and Σ w·π (the weight of the
// alive branch) per distinct x.
type rowSums struct {
	ll, gR, gAlpha float64
	alive          []float64
}

// sumRows sums the rows [lo, hi) of the likelihood; d.perX must hold the
// x-only terms for the current parameters.
func (d *purchaseData) sumRows(lo, hi int, c *rowColumns) rowSums {
	var s rowSums
	if c.grad {
		s.alive = make([]float64, len(d.xs))
	}
	lT, iT, lTx, iTx := c.lT, c.iT, c.lTx, c.iTx
	for i := lo; i < hi; i++ {
		w := d.w[i]
		xi := d.xi[i]
		t := &d.perX[xi]
		rx := c.r + t.x
		ti, txi := d.ti[i], d.txi[i]
		u := t.alive - rx*lT[ti]
		if !t.hasDead {
			s.ll += w * (t.base + u)
			if c.grad {
				s.gR -= w * lT[ti]
				s.gAlpha -= w * rx * iT[ti]
				s.alive[xi] += w
			}
			continue
		}
		v := t.dead - rx*lTx[txi]
		var lse, pi float64 // log-sum-exp and weight of the alive branch
		if u >= v {
			e := math.Exp(v - u)
			lse = u + math.Log1p(e)
			pi = 1 / (1 + e)
		} else {
			e := math.Exp(u - v)
			lse = v + math.Log1p(e)
			pi = e / (1 + e)
		}
		s.ll += w * (t.base + lse)
		if c.grad {
			s.gR -= w * (pi*lT[ti] + (1-pi)*lTx[txi])
			s.gAlpha -= w * rx * (pi*iT[ti] + (1-pi)*iTx[txi])
			s.alive[xi] += w * pi
		}
	}
	return s
}

// paramsFromLog maps log-parameters to Params.
func paramsFromLog(v []float64) Params {
	return Params{R: math.Exp(v[0]), Alpha: math.Exp(v[1]), A: math.Exp(v[2]), B: math.Exp(v[3])}
}

// subsampleRows is the number of distinct rows above which the starting
// points are tried on an evenly spaced subsample (every k-th row of the
// sorted data, a stratified sample) before the best one is refined on all
// rows, starting from the subsample's inverse Hessian. The subsample's
// optimum is within sampling error (~1/√subsampleRows relative) of the full
// one, so the refinement needs only a few full-data evaluations. Smaller
// data are fitted on all rows from every start, as before.
const subsampleRows = 50000

// screenRows is the size of the subsample on which the starting points are
// screened before the best one is refined on subsampleRows rows.
const screenRows = 10000

// Purchase model names.
const (
	NameBGNBD  = "bgnbd"
	NameMBGNBD = "mbgnbd"
)

// PurchaseModelNames lists the purchase models this package fits on
// continuous-time histories (x, tx, T).
var PurchaseModelNames = []string{NameBGNBD, NameMBGNBD, NameParetoNBD}

var _ PurchaseModel = ParetoNBD{}

// NewPurchaseModel returns the named model with params; an unknown name is
// an error that lists the valid ones.
func NewPurchaseModel(name string, p Params) (PurchaseModel, error) {
	switch name {
	case NameBGNBD:
		return NewBGNBD(p), nil
	case NameMBGNBD:
		return NewMBGNBD(p), nil
	case NameParetoNBD:
		return ParetoNBD{P: ParetoNBDParams{R: p.R, Alpha: p.Alpha, S: p.A, Beta: p.B}}, nil
	case NameBGBB:
		return BGBB{P: BGBBParams{Alpha: p.R, Beta: p.Alpha, Gamma: p.A, Delta: p.B}}, nil
	}
	return nil, fmt.Errorf("clv: unknown purchase model %q (valid: %v, and %s for discrete data)", name, PurchaseModelNames, NameBGBB)
}

// FitPurchaseModel fits the named purchase model (NameBGNBD or
// NameMBGNBD) to data, as FitBGNBD does, and stops with ctx's error when
// ctx ends (it checks before every optimiser iteration, so it returns
// within one likelihood evaluation, milliseconds even for a million rows).
func FitPurchaseModel(ctx context.Context, name string, data []Customer, o FitOptions) (PurchaseModel, FitResult, error) {
	var modified bool
	switch name {
	case NameBGNBD:
	case NameMBGNBD:
		modified = true
	case NameParetoNBD:
		m, res, err := FitParetoNBD(ctx, data, o)
		if err != nil {
			return nil, res, err
		}
		return m, res, nil
	case NameBGBB:
		// Discrete time: T opportunities after the first, grouped by pattern.
		if !Discrete(data) {
			return nil, FitResult{}, errors.New("clv: BG/BB needs discrete-time data: whole numbers 0 ≤ x ≤ tx ≤ T ≤ 10000 in the time unit (one opportunity per unit)")
		}
		idx := map[[3]float64]int{}
		var rows []BGBBCustomer
		for _, c := range data {
			k := [3]float64{c.X, c.TX, c.T}
			if i, ok := idx[k]; ok {
				rows[i].W++
				continue
			}
			idx[k] = len(rows)
			rows = append(rows, BGBBCustomer{X: c.X, TX: c.TX, N: c.T, W: 1})
		}
		m, res, err := FitBGBB(ctx, rows, o)
		if err != nil {
			return nil, res, err
		}
		return m, res, nil
	default:
		return nil, FitResult{}, fmt.Errorf("clv: unknown purchase model %q (valid: %v, and %s for discrete data)", name, PurchaseModelNames, NameBGBB)
	}
	p, res, err := fitPurchase(ctx, data, o, modified)
	if err != nil {
		return nil, res, err
	}
	m, _ := NewPurchaseModel(name, p)
	return m, res, nil
}

// FitBGNBD fits the BG/NBD model to data by maximum likelihood and returns
// the fitted model. Identical (X, TX, T) rows are merged first (M is
// ignored); the weighted mean log-likelihood, minus the penalty of
// o.Penalizer, is maximised over the log-parameters with BFGS and analytic
// gradients from o.Starts deterministic starting points, and the best
// optimum is kept. It returns an error for empty data, zero total weight, a
// negative or non-finite weight, or an impossible history (X < 0, TX < 0,
// TX > T, or TX ≠ 0 with X = 0).
func FitBGNBD(data []Customer, o FitOptions) (PurchaseModel, FitResult, error) {
	return FitPurchaseModel(context.Background(), NameBGNBD, data, o)
}

// FitMBGNBD fits the MBG/NBD model to data by maximum likelihood, exactly
// as FitBGNBD does for BG/NBD.
func FitMBGNBD(data []Customer, o FitOptions) (PurchaseModel, FitResult, error) {
	return FitPurchaseModel(context.Background(), NameMBGNBD, data, o)
}

// subsample returns every k-th row of d (k chosen for about subsampleRows
// rows), with the indices rebuilt, or d itself when it is small.
func (d *purchaseData) subsample() *purchaseData { return d.subsampleN(subsampleRows) }

// subsampleN is every k-th row of d, at most rows rows (d itself when it
// is no larger).
func (d *purchaseData) subsampleN(rows int) *purchaseData {
	if len(d.w) <= rows {
		return d
	}
	k := (len(d.w) + rows - 1) / rows
	s := &purchaseData{xs: d.xs}
	s.wx = make([]float64, len(d.xs))
	tMap, txMap := map[int32]int32{}, map[int32]int32{}
	remap := func(m map[int32]int32, vals []float64, out *[]float64, i int32) int32 {
		j, ok := m[i]
		if !ok {
			j = int32(len(*out))
			m[i] = j
			*out = append(*out, vals[i])
		}
		return j
	}
	for i := 0; i < len(d.w); i += k {
		s.xi = append(s.xi, d.xi[i])
		s.ti = append(s.ti, remap(tMap, d.ts, &s.ts, d.ti[i]))
		s.txi = append(s.txi, remap(txMap, d.txs, &s.txs, d.txi[i]))
		s.w = append(s.w, d.w[i])
		s.wx[d.xi[i]] += d.w[i]
		s.n += d.w[i]
		s.sumX += d.w[i] * d.xs[d.xi[i]]
		s.sumT += d.w[i] * d.ts[d.ti[i]]
	}
	s.perX = make([]xTerms, len(d.xs))
	s.aliveShareByX = make([]float64, len(d.xs))
	return s
}

// fitPurchase maximises the weighted mean log-likelihood (minus the
// optional penalty) over the log-parameters with BFGS and analytic
// gradients, from o.Starts deterministic starting points built around the
// observed purchase rate, and keeps the best. The customers' M is ignored;
// identical (X, TX, T) rows are merged first.
func fitPurchase(ctx context.Context, data []Customer, o FitOptions, modified bool) (Params, FitResult, error) {
	o = o.withDefaults()
	d, err := newPurchaseData(data)
	if err != nil {
		return Params{}, FitResult{}, err
	}
	maxT := 0.0
	for _, t := range d.ts {
		maxT = math.Max(maxT, t)
	}
	// lifetimes' time scaling of the penalty: α on an axis where max T = 1.
	penScale := 1.0
	if maxT > 0 {
		penScale = 1 / maxT
	}
	objective := func(d *purchaseData) objective {
		return func(v, grad []float64) float64 {
			p := paramsFromLog(v)
			if !p.valid() {
				return math.Inf(1)
			}
			f := -d.meanLogLik(p, modified, grad)
			for i := range grad {
				grad[i] = -grad[i]
			}
			if o.Penalizer > 0 {
				for i, th := range [...]float64{p.R, p.Alpha * penScale, p.A, p.B} {
					f += o.Penalizer * th * th
					grad[i] += 2 * o.Penalizer * th * th
				}
			}
			return f
		}
	}
	// Starting values: the purchase rate λ has mean r/α, so α = r/rate keeps
	// the implied rate at the observed repeat rate whatever the time unit.
	rate := d.sumX / math.Max(d.sumT, 1e-300)
	if !(rate > 0) {
		rate = 1 / math.Max(d.sumT/d.n, 1)
	}
	shapes := [][4]float64{ // r, a, b (α derived)
		{1, 1, 1}, {0.25, 0.8, 2.5}, {0.5, 2, 5}, {2, 0.5, 1}, {0.1, 0.3, 0.5},
		{4, 3, 10}, {0.75, 1.5, 1.5}, {0.3, 5, 20},
	}
	// The starting points are screened on a small subsample, the best one
	// refined on a larger one and then on all rows, each stage starting
	// from the previous stage's optimum and inverse Hessian.
	screen, sub := d.subsampleN(screenRows), d.subsample()
	subObj := objective(screen)
	best := optResult{f: math.Inf(1)}
	for s := 0; s < o.Starts; s++ {
		sh := shapes[s%len(shapes)]
		scale := math.Pow(2, float64(s/len(shapes))) // further starts spread out
		r := sh[0] * scale
		x0 := []float64{math.Log(r), math.Log(r / rate), math.Log(sh[1] * scale), math.Log(sh[2] * scale)}
		res, err := bfgs(ctx, subObj, x0, nil, o.MaxIter, o.Tol)
		if err != nil {
			return Params{}, FitResult{N: int(math.Round(d.n))}, fmt.Errorf("clv: fit stopped: %w", err)
		}
		if res.f < best.f || (math.IsInf(best.f, 1) && best.x == nil) {
			best = res
		}
	}
	out := FitResult{N: int(math.Round(d.n))}
	if best.x == nil || !isFinite(best.f) {
		return Params{}, out, errors.New("clv: likelihood is not finite at any starting point")
	}
	iters := best.iters
	for _, stage := range []*purchaseData{sub, d} {
		if stage == screen {
			continue
		}
		res, err := bfgs(ctx, objective(stage), best.x, best.h, o.MaxIter, o.Tol)
		if err != nil {
			return Params{}, out, fmt.Errorf("clv: fit stopped: %w", err)
		}
		best = res
		iters += res.iters
		screen = stage
	}
	if !isFinite(best.f) {
		return Params{}, out, errors.New("clv: likelihood is not finite at the subsample's optimum")
	}
	p := paramsFromLog(best.x)
	out.LogLikelihood = d.meanLogLik(p, modified, nil) * d.n
	out.Converged = best.converged
	out.Iterations = iters
	return p, out, nil
}

// MaxSpend is the largest mean spend per purchase (in major currency
// units) the spend model accepts. clvstream keeps money as int64 minor
// units, so no real history exceeds 9.2e16 major units; 1e15 leaves room for
// sums over many purchases and still keeps every CLV finite. A larger value
// is a unit or parsing error upstream and is refused, not modelled.
const MaxSpend = 1e15

// ErrInfiniteMeanSpend is returned (wrapped) by FitGammaGamma when the fit
// has q ≤ 1: the population mean spend p·γ/(q−1) does not exist, so the
// model cannot value customers without repeat purchases.
var ErrInfiniteMeanSpend = errors.New("Gamma-Gamma fit has q ≤ 1, so the population mean spend is infinite")

// ggRow is one distinct (x, m) pair of the spend data, with m divided by
// the data's scale.
type ggRow struct{ x, m, w float64 }

// FitGammaGamma fits the Gamma-Gamma spend model by maximum likelihood on
// the customers with X > 0 (M is their mean repeat-purchase value and must
// be positive). It uses BFGS on the log-parameters with analytic gradients
// and the same options and penalty as FitBGNBD. It is FitGammaGammaContext
// without a context.
func FitGammaGamma(data []Customer, o FitOptions) (GammaGamma, FitResult, error) {
	return FitGammaGammaContext(context.Background(), data, o)
}

// FitGammaGammaContext fits the Gamma-Gamma model; see FitGammaGamma. The
// fit is scale-free: the spends are divided by their mean before fitting
// (p and q do not depend on the currency unit and γ scales with it), so a
// fit in cents and one in dollars take the same steps, and no term
// overflows for spends up to MaxSpend. Identical (X, M) rows are merged and
// the terms that depend on X only (ln Γ(px+q) − ln Γ(px)) are computed once
// per distinct X, so an evaluation costs one logarithm per distinct row.
// A fit with q ≤ 1 is returned with an error wrapping ErrInfiniteMeanSpend.
// It stops with ctx's error when ctx ends.
func FitGammaGammaContext(ctx context.Context, data []Customer, o FitOptions) (GammaGamma, FitResult, error) {
	o = o.withDefaults()
	rows := make([]ggRow, 0, len(data)/2+1)
	var sumM, n float64
	for i, c := range data {
		if err := checkWeight(i, c); err != nil {
			return GammaGamma{}, FitResult{}, err
		}
		if math.IsNaN(c.X) || c.X < 0 || math.IsInf(c.X, 1) {
			return GammaGamma{}, FitResult{}, fmt.Errorf("clv: customer %d: X = %v must be finite and ≥ 0", i, c.X)
		}
		if c.X == 0 || c.weight() == 0 {
			continue
		}
		if !(c.M > 0) || math.IsInf(c.M, 1) {
			return GammaGamma{}, FitResult{}, fmt.Errorf("clv: customer %d: X = %v repeat purchases but mean spend M = %v; Gamma-Gamma needs M > 0", i, c.X, c.M)
		}
		if c.M > MaxSpend {
			return GammaGamma{}, FitResult{}, fmt.Errorf("clv: customer %d: mean spend M = %g is above clv.MaxSpend (%g): check the currency unit of the input", i, c.M, MaxSpend)
		}
		rows = append(rows, ggRow{c.X, c.M, c.weight()})
		sumM += c.weight() * c.M
		n += c.weight()
	}
	if len(rows) == 0 {
		return GammaGamma{}, FitResult{}, errors.New("clv: no repeat buyers (X > 0) to fit the Gamma-Gamma spend model")
	}
	scale := sumM / n
	if !mostlyDistinct(len(rows), 0.9, func(i int) [3]float64 { return [3]float64{rows[i].x, rows[i].m} }) {
		slices.SortFunc(rows, func(a, b ggRow) int {
			if c := cmp.Compare(a.x, b.x); c != 0 {
				return c
			}
			return cmp.Compare(a.m, b.m)
		})
	}
	d := newGGData(rows, scale)
	rows = nil
	objective := func(d *ggData) objective {
		return func(v, grad []float64) float64 {
			g := GammaGamma{P: math.Exp(v[0]), Q: math.Exp(v[1]), V: math.Exp(v[2])}
			if !g.valid() {
				return math.Inf(1)
			}
			f := -d.meanLL(g, grad)
			for i := range grad {
				grad[i] = -grad[i]
			}
			if o.Penalizer > 0 {
				for i, th := range [...]float64{g.P, g.Q, g.V * scale} {
					f += o.Penalizer * th * th
					grad[i] += 2 * o.Penalizer * th * th
				}
			}
			return f
		}
	}
	// Starting values: γ is set so that the population mean p γ/(q−1)
	// equals the observed mean spend (1 after scaling).
	shapes := [][2]float64{{1, 2}, {5, 4}, {0.5, 1.5}, {10, 10}, {2, 3}, {20, 2}}
	// The starting points are screened on a small subsample, the best one
	// refined on a larger one and then on all rows, each stage starting
	// from the previous stage's optimum and inverse Hessian.
	screen, sub := d.subsampleN(screenRows), d.subsample()
	subObj := objective(screen)
	best := optResult{f: math.Inf(1)}
	out := FitResult{N: int(math.Round(n))}
	for s := 0; s < o.Starts; s++ {
		sh := shapes[s%len(shapes)]
		sc := math.Pow(2, float64(s/len(shapes)))
		p, q := sh[0]*sc, sh[1]*sc
		x0 := []float64{math.Log(p), math.Log(q), math.Log((q - 1) / p)}
		res, err := bfgs(ctx, subObj, x0, nil, o.MaxIter, o.Tol)
		if err != nil {
			return GammaGamma{}, out, fmt.Errorf("clv: Gamma-Gamma fit stopped: %w", err)
		}
		if res.f < best.f || (math.IsInf(best.f, 1) && best.x == nil) {
			best = res
		}
	}
	if best.x == nil || !isFinite(best.f) {
		return GammaGamma{}, out, errors.New("clv: Gamma-Gamma likelihood is not finite at any starting point")
	}
	iters := best.iters
	for _, stage := range []*ggData{sub, d} {
		if stage == screen {
			continue
		}
		res, err := bfgs(ctx, objective(stage), best.x, best.h, o.MaxIter, o.Tol)
		if err != nil {
			return GammaGamma{}, out, fmt.Errorf("clv: Gamma-Gamma fit stopped: %w", err)
		}
		best = res
		iters += res.iters
		screen = stage
	}
	gs := GammaGamma{P: math.Exp(best.x[0]), Q: math.Exp(best.x[1]), V: math.Exp(best.x[2])}
	g := GammaGamma{P: gs.P, Q: gs.Q, V: gs.V * scale}
	// ln f(m) = ln f'(m/scale) − ln scale.
	out.LogLikelihood = d.meanLL(gs, nil)*n - n*math.Log(scale)
	out.Converged = best.converged
	out.Iterations = iters
	if !g.valid() {
		return g, out, fmt.Errorf("clv: Gamma-Gamma fit gave invalid parameters p=%g q=%g γ=%g", g.P, g.Q, g.V)
	}
	if g.Q <= 1 {
		return g, out, fmt.Errorf("clv: %w (p=%.4g q=%.4g γ=%.4g)", ErrInfiniteMeanSpend, g.P, g.Q, g.V)
	}
	return g, out, nil
}

// ggData is the grouped, scaled spend data of a Gamma-Gamma fit.
type ggData struct {
	xs, wxs []float64 // distinct x and the total weight of each
	xi      []int32   // per row: index into xs
	mx, w   []float64 // per row: (m/scale)·x and weight
	n       float64   // total weight
	// Σ w ln m', Σ w x ln m' and Σ w x ln x: the parts of the likelihood
	// that are linear in p.
	sWlnM, sWXlnM, sWXlnX float64
}

// newGGData merges identical adjacent rows (all identical rows when rows
// are sorted), with m divided by scale.
func newGGData(rows []ggRow, scale float64) *ggData {
	d := &ggData{}
	xIndex := map[float64]int32{}
	for _, r := range rows {
		if _, ok := xIndex[r.x]; !ok {
			xIndex[r.x] = 0
			d.xs = append(d.xs, r.x)
		}
	}
	slices.Sort(d.xs)
	for i, x := range d.xs {
		xIndex[x] = int32(i)
	}
	d.wxs = make([]float64, len(d.xs))
	for i, r := range rows {
		xi := xIndex[r.x]
		if i > 0 && r.x == rows[i-1].x && r.m == rows[i-1].m {
			d.w[len(d.w)-1] += r.w
		} else {
			d.xi = append(d.xi, xi)
			d.mx = append(d.mx, r.m/scale*r.x)
			d.w = append(d.w, r.w)
		}
		d.wxs[xi] += r.w
		d.n += r.w
		lm := math.Log(r.m / scale)
		d.sWlnM += r.w * lm
		d.sWXlnM += r.w * r.x * lm
		d.sWXlnX += r.w * r.x * math.Log(r.x)
	}
	return d
}

// subsample returns every k-th row (about subsampleRows rows), or d.
func (d *ggData) subsample() *ggData { return d.subsampleN(subsampleRows) }

// subsampleN returns every k-th row, at most rows rows, or d.
func (d *ggData) subsampleN(rows int) *ggData {
	if len(d.w) <= rows {
		return d
	}
	k := (len(d.w) + rows - 1) / rows
	s := &ggData{xs: d.xs, wxs: make([]float64, len(d.xs))}
	for i := 0; i < len(d.w); i += k {
		x := d.xs[d.xi[i]]
		w := d.w[i]
		s.xi = append(s.xi, d.xi[i])
		s.mx = append(s.mx, d.mx[i])
		s.w = append(s.w, w)
		s.wxs[d.xi[i]] += w
		s.n += w
		lm := math.Log(d.mx[i] / x)
		s.sWlnM += w * lm
		s.sWXlnM += w * x * lm
		s.sWXlnX += w * x * math.Log(x)
	}
	return s
}

// meanLL returns the mean log-likelihood of the scaled spends at g (γ in
// the scaled unit) and, if grad is not nil, its gradient with respect to
// (ln p, ln q, ln γ). Per customer,
//
//	ℓ = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + m x),
//
// of which only the last term needs a logarithm per row.
func (d *ggData) meanLL(g GammaGamma, grad []float64) float64 {
	lv := math.Log(g.V)
	lgq, psiq := lgamma(g.Q), digamma(g.Q)
	var ll, gp, gq, gv float64
	for i, x := range d.xs {
		px := g.P * x
		w := d.wxs[i]
		ll += w * (lgamma(px+g.Q) - lgamma(px) - lgq + g.Q*lv)
		if grad != nil {
			psiPQ := digamma(px + g.Q)
			gp += w * x * (psiPQ - digamma(px))
			gq += w * (psiPQ - psiq + lv)
			gv += w * g.Q / g.V
		}
	}
	ll += g.P*(d.sWXlnM+d.sWXlnX) - d.sWlnM
	gp += d.sWXlnM + d.sWXlnX
	for i, m := range d.mx {
		x := d.xs[d.xi[i]]
		w := d.w[i]
		pxq := g.P*x + g.Q
		lvm := math.Log(g.V + m)
		ll -= w * pxq * lvm
		if grad != nil {
			gp -= w * x * lvm
			gq -= w * lvm
			gv -= w * pxq / (g.V + m)
		}
	}
	if grad != nil {
		grad[0] = g.P * gp / d.n
		grad[1] = g.Q * gq / d.n
		grad[2] = g.V * gv / d.n
	}
	return ll / d.n
}
