package segment

import (
	"math"
	"slices"
)

// CutPoints are the quintile boundaries of a population for RFM scoring:
// for each of recency (days since the last purchase), frequency (repeat
// purchases) and monetary value, the 20th, 40th, 60th and 80th percentiles,
// ascending. They are refitted periodically from all customer states.
type CutPoints struct {
	Recency   [4]float64 `json:"recency"`
	Frequency [4]float64 `json:"frequency"`
	Monetary  [4]float64 `json:"monetary"`
}

// QuintileCutPoints computes the cut points of a population from the
// recency, frequency and monetary values of its customers (the three
// slices are independent and may differ in length; NaN and infinite values
// are ignored).
//
// Cut point k (k = 1..4) is the nearest-rank percentile 20k: the value at
// rank ceil(k n / 5) of the n sorted values, so every cut point is a value
// that occurs in the population. With no values the cut points are zero.
func QuintileCutPoints(recency, frequency, monetary []float64) CutPoints {
	return CutPoints{
		Recency:   quintiles(recency),
		Frequency: quintiles(frequency),
		Monetary:  quintiles(monetary),
	}
}

func quintiles(xs []float64) [4]float64 {
	var q [4]float64
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s = append(s, x)
		}
	}
	n := len(s)
	if n == 0 {
		return q
	}
	slices.Sort(s)
	for k := 1; k <= 4; k++ {
		rank := (k*n + 4) / 5 // ceil(k n / 5), 1-based
		q[k-1] = s[rank-1]
	}
	return q
}

// Score returns the R, F and M quintile scores (1..5) of a customer: R is 5
// for the most recent customers (smallest recencyDays), F and M are 5 for
// the largest frequency and monetary value. F and M are 1 plus the number
// of cut points the value lies strictly above; R is 1 plus the number of
// cut points at or above recencyDays.
//
// Ties: a value equal to a cut point belongs to the quintile below the cut
// point in value, which for R is the more recent side (higher R) and for F
// and M the lower score. Equal values always get equal scores, so when
// many customers share a value (typically frequency 0) the whole group gets
// one score and some scores go unused: with 60% of customers at frequency
// 0, all of them score F = 1 and the next score used is 4. Quintiles are
// then uneven by design; splitting a tied group arbitrarily would make the
// score depend on something other than the customer's figures.
// NaN scores 1 on every axis.
func (c CutPoints) Score(recencyDays float64, frequency int, monetary float64) (r, f, m int) {
	r = 1 // 1 + the number of cut points at or above recencyDays (1 for NaN)
	for _, cp := range c.Recency {
		if recencyDays <= cp {
			r++
		}
	}
	return r, above(c.Frequency, float64(frequency)), above(c.Monetary, monetary)
}

// above returns 1 + the number of cut points strictly below x (1 for NaN).
func above(cuts [4]float64, x float64) int {
	n := 1
	for _, cp := range cuts {
		if x > cp {
			n++
		}
	}
	return n
}
