package segment

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuintileCutPoints(t *testing.T) {
	cases := []struct {
		name string
		xs   []float64
		want [4]float64
	}{
		{"empty", nil, [4]float64{}},
		{"one", []float64{7}, [4]float64{7, 7, 7, 7}},
		{"three", []float64{30, 10, 20}, [4]float64{10, 20, 20, 30}}, // ranks 1, 2, 2, 3
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, [4]float64{2, 4, 6, 8}},
		{"eleven", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, [4]float64{3, 5, 7, 9}}, // ranks 3, 5, 7, 9
		{"NaN and Inf ignored", []float64{math.NaN(), 1, 2, math.Inf(1), 3, 4, 5, math.Inf(-1)}, [4]float64{1, 2, 3, 4}},
		{"ties", append(append(slices.Repeat([]float64{0}, 60), slices.Repeat([]float64{1}, 20)...), slices.Repeat([]float64{2}, 20)...), [4]float64{0, 0, 0, 1}},
	}
	for _, c := range cases {
		in := slices.Clone(c.xs)
		cp := QuintileCutPoints(in, in, in)
		if cp.Recency != c.want || cp.Frequency != c.want || cp.Monetary != c.want {
			t.Errorf("%s: %+v, want %v", c.name, cp, c.want)
		}
		if !slices.EqualFunc(in, c.xs, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
			t.Errorf("%s: input modified", c.name)
		}
	}
	// The three axes are independent.
	cp := QuintileCutPoints([]float64{1, 2, 3, 4, 5}, []float64{0}, []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100})
	if cp.Recency != [4]float64{1, 2, 3, 4} || cp.Frequency != [4]float64{} || cp.Monetary != [4]float64{20, 40, 60, 80} {
		t.Errorf("independent axes: %+v", cp)
	}
}

func TestScore(t *testing.T) {
	one := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cp := QuintileCutPoints(one, one, one) // [2 4 6 8] on every axis
	for _, c := range []struct {
		x       float64
		r, f, m int
	}{
		{0, 5, 1, 1},
		{1, 5, 1, 1},
		{2, 5, 1, 1}, // on a cut point: the lower quintile in value
		{3, 4, 2, 2},
		{4, 4, 2, 2},
		{5, 3, 3, 3},
		{6, 3, 3, 3},
		{7, 2, 4, 4},
		{8, 2, 4, 4},
		{9, 1, 5, 5},
		{1e9, 1, 5, 5},
	} {
		r, f, m := cp.Score(c.x, int(c.x), c.x)
		if r != c.r || f != c.f || m != c.m {
			t.Errorf("Score(%v) = %d %d %d, want %d %d %d", c.x, r, f, m, c.r, c.f, c.m)
		}
	}
	if r, _, m := cp.Score(2.5, 0, 2.5); r != 4 || m != 2 {
		t.Errorf("Score(2.5): r=%d m=%d, want 4 2", r, m)
	}
	// Distinct values fill the quintiles evenly, R reversed.
	counts := map[[3]int]int{}
	for _, x := range one {
		r, f, m := cp.Score(x, int(x), x)
		counts[[3]int{r, f, m}]++
	}
	for s := 1; s <= 5; s++ {
		if counts[[3]int{6 - s, s, s}] != 2 {
			t.Errorf("score %d: %d customers, want 2 (%v)", s, counts[[3]int{6 - s, s, s}], counts)
		}
	}
	if r, f, m := cp.Score(math.NaN(), 0, math.NaN()); r != 1 || f != 1 || m != 1 {
		t.Errorf("NaN: %d %d %d", r, f, m)
	}
}

func TestScoreTies(t *testing.T) {
	// 60% of customers never bought again, 20% once, 20% twice.
	freq := append(append(slices.Repeat([]float64{0}, 60), slices.Repeat([]float64{1}, 20)...), slices.Repeat([]float64{2}, 20)...)
	cp := QuintileCutPoints(freq, freq, freq)
	for _, c := range []struct{ x, r, f int }{{0, 5, 1}, {1, 2, 4}, {2, 1, 5}} {
		r, f, m := cp.Score(float64(c.x), c.x, float64(c.x))
		if r != c.r || f != c.f || m != c.f {
			t.Errorf("x=%d: %d %d %d, want r=%d f=m=%d", c.x, r, f, m, c.r, c.f)
		}
	}
	// Everyone equal: one score for all.
	same := slices.Repeat([]float64{3}, 50)
	cp = QuintileCutPoints(same, same, same)
	if r, f, m := cp.Score(3, 3, 3); r != 5 || f != 1 || m != 1 {
		t.Errorf("all equal: %d %d %d", r, f, m)
	}
	// Property: equal values score equally, scores are 1..5 and monotone.
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 500)
	for i := range xs {
		xs[i] = float64(rng.IntN(8)) // heavy ties
	}
	cp = QuintileCutPoints(xs, xs, xs)
	prevR, prevF := 6, 0
	for x := 0; x < 8; x++ {
		r, f, m := cp.Score(float64(x), x, float64(x))
		if r < 1 || r > 5 || f < 1 || f > 5 || f != m || r > prevR || f < prevF {
			t.Errorf("x=%d: r=%d f=%d m=%d after r=%d f=%d", x, r, f, m, prevR, prevF)
		}
		prevR, prevF = r, f
	}
}
