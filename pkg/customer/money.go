package customer

import (
	"math"
	"math/bits"
)

// Total is an exact non-negative sum of money amounts in minor units, held in
// 128 bits. Every amount added is an int64 >= 0, so 2^64 additions cannot
// overflow it, and Sub undoes an Add exactly: sums are associative,
// commutative and invertible, which keeps the state order independent even
// for amounts near the int64 limit. Int64 reads it saturated at
// math.MaxInt64, so no figure ever wraps negative. The zero value is 0.
type Total struct {
	hi, lo uint64
}

// TotalOf returns the total of one amount; negative amounts count as 0.
func TotalOf(v int64) Total {
	if v <= 0 {
		return Total{}
	}
	return Total{lo: uint64(v)}
}

// Add returns t + v; a negative v counts as 0.
func (t Total) Add(v int64) Total { return t.Plus(TotalOf(v)) }

// Plus returns t + u.
func (t Total) Plus(u Total) Total {
	lo, c := bits.Add64(t.lo, u.lo, 0)
	hi, _ := bits.Add64(t.hi, u.hi, c)
	return Total{hi: hi, lo: lo}
}

// Minus returns t - u, or 0 when u > t (a total is never negative).
func (t Total) Minus(u Total) Total {
	if t.Less(u) {
		return Total{}
	}
	lo, b := bits.Sub64(t.lo, u.lo, 0)
	hi, _ := bits.Sub64(t.hi, u.hi, b)
	return Total{hi: hi, lo: lo}
}

// Sub returns t - v, or 0 when v > t; a negative v counts as 0.
func (t Total) Sub(v int64) Total { return t.Minus(TotalOf(v)) }

// Less reports whether t < u.
func (t Total) Less(u Total) bool {
	return t.hi < u.hi || (t.hi == u.hi && t.lo < u.lo)
}

// Min returns the smaller of t and u.
func (t Total) Min(u Total) Total {
	if u.Less(t) {
		return u
	}
	return t
}

// IsZero reports whether t is 0.
func (t Total) IsZero() bool { return t.hi == 0 && t.lo == 0 }

// Int64 returns t, saturated at math.MaxInt64.
func (t Total) Int64() int64 {
	if t.hi != 0 || t.lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(t.lo)
}
