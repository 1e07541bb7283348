package customer

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// Advancing the features of a silent customer equals deriving them again
// at the later instant, for every figure: integers exactly, decayed
// counters and hours to rounding.
func TestAdvanceEqualsDeriveForASilentCustomer(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	o := DeriveOptions{EmailHalfLife: 30 * 24 * time.Hour, SurveyHalfLife: DefaultSurveyHalfLife}
	sts := mixStates(500, 7)
	for range 300 { // every kind of fact: surveys, channels, consent, tickets, refunds
		var st State
		for _, e := range randomEventsOf(rng, 40, false) {
			st.Apply(e, 0.3)
		}
		sts = append(sts, st)
	}
	for i := range sts {
		s := &sts[i]
		now := time.UnixMilli(s.LatestAt()).UTC().Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		base := s.DeriveWith(now, o)
		for _, dt := range []time.Duration{time.Millisecond, time.Hour, 36 * time.Hour, 90 * 24 * time.Hour, time.Duration(rng.Int64N(int64(400 * 24 * time.Hour)))} {
			got := base
			s.Advance(&got, now.Add(dt), o)
			want := s.DeriveWith(now.Add(dt), o)
			if !sameFeatures(got, want) {
				t.Fatalf("customer %d, %s after %s:\nadvanced %+v\nderived  %+v", i, dt, now, got, want)
			}
		}
	}
}

// sameFeatures compares every field of a and b, floats to a relative 1e-9.
func sameFeatures(a, b Features) bool {
	return sameValue(reflect.ValueOf(a), reflect.ValueOf(b))
}

func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
	case reflect.Struct:
		if a.Type() == reflect.TypeOf(time.Time{}) {
			return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
		}
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

// elapsed equals time.Time.Sub, in the nanosecond range and outside it.
func TestElapsedIsSub(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	at := func() time.Time {
		switch rng.IntN(4) {
		case 0:
			return time.Unix(rng.Int64N(1<<34)-(1<<33), rng.Int64N(1e9)).UTC() // 1698 to 2242, either side of 1970
		case 1:
			return time.Date(1+rng.IntN(9999), 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(1 << 55)))
		default:
			return time.UnixMilli(rng.Int64N(9e12)).UTC() // 1970 to 2255
		}
	}
	for i := range 100000 {
		a, b := at(), at()
		if got, want := elapsed(a, b), a.Sub(b); got != want {
			t.Fatalf("case %d: elapsed(%s, %s) = %v, Sub %v", i, a, b, got, want)
		}
	}
}
