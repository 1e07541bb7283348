package event

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// AppendJSON writes exactly what json.Marshal writes, for random segment
// changes, tier changes and milestones
// with every kind of string (control characters, quotes, HTML-sensitive
// characters, U+2028, invalid UTF-8, multi-byte runes) and float (tiny,
// huge, negative, integral, zero), nil and empty factors and values.
func TestAppendJSONEqualsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	alphabet := []string{"a", "Z", "0", "-", "/", " ", "\"", "\\", "<", ">", "&", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "é", "€", "𝄞", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x82"}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	floats := []float64{0, 1, -1, 0.5, 0.1234, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.5e21, 123456789, -0.0001, math.Copysign(0, -1), 0.30000000000000004}
	num := func() float64 {
		if rng.IntN(3) == 0 {
			return floats[rng.IntN(len(floats))]
		}
		return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
	}
	for i := range 5000 {
		c := SegmentChange{EventID: str(), Type: str(), CustomerID: str(), Version: rng.Uint64() >> rng.IntN(64), Segment: str(),
			Cause: Cause(str()), OccurredAt: time.UnixMilli(rng.Int64N(4e12)).UTC().Add(time.Duration(rng.IntN(3)) * time.Nanosecond * 7),
			CLV:       CLVFigures{Historic: str(), HistoricMargin: str(), Predicted: str(), Currency: str()},
			ChurnRisk: ChurnRisk{Probability: num(), Level: str()}, LoyaltyTier: str(), ModelVersion: str(),
			Reason: SegmentReason{Rule: str()}}
		if rng.IntN(2) == 0 {
			p := str()
			c.PreviousSegment = &p
		}
		if n := rng.IntN(4); n > 0 {
			c.ChurnRisk.Factors = make([]ChurnFactor, n-1)
			for j := range c.ChurnRisk.Factors {
				c.ChurnRisk.Factors[j] = ChurnFactor{Name: str(), Contribution: num(), Value: num()}
			}
		}
		if n := rng.IntN(5); n > 0 {
			c.Reason.Values = map[string]float64{}
			for range n - 1 {
				c.Reason.Values[str()] = num()
			}
		}
		same := func(kind string, got []byte, v any) {
			t.Helper()
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s %d:\nAppendJSON %s\nMarshal    %s", kind, i, got, want)
			}
		}
		same("segment change", c.AppendJSON(nil), c)
		tc := TierChange{EventID: str(), Type: str(), CustomerID: str(), Version: c.Version, PreviousTier: str(), Tier: str(),
			Cause: Cause(str()), OccurredAt: c.OccurredAt, TrailingYearSpend: str(), Currency: str()}
		same("tier change", tc.AppendJSON(nil), tc)
		m := Milestone{EventID: str(), Type: str(), CustomerID: str(), Version: c.Version, Threshold: str(), CumulativeSpend: str(),
			Currency: str(), OccurredAt: c.OccurredAt}
		same("milestone", m.AppendJSON(nil), m)
	}
}

func BenchmarkSegmentChangeJSON(b *testing.B) {
	prev := "active"
	c := SegmentChange{EventID: "cust-1/v8", Type: SegmentChangeType, CustomerID: "cust-1", Version: 8, PreviousSegment: &prev,
		Segment: "at-risk", Cause: CauseScheduled, OccurredAt: time.Date(2024, 8, 22, 2, 53, 0, 0, time.UTC),
		CLV:         CLVFigures{Historic: "128.88", HistoricMargin: "38.67", Predicted: "691.64", Currency: "USD"},
		ChurnRisk:   ChurnRisk{Probability: 0.5002, Level: "medium", Factors: []ChurnFactor{{Name: "purchase_inactivity", Contribution: 0.0006, Value: 0.5002}}},
		LoyaltyTier: "bronze", ModelVersion: "baseline",
		Reason: SegmentReason{Rule: "at-risk", Values: map[string]float64{"churn_probability": 0.5002, "churn_probability>=": 0.5}}}
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = json.Marshal(c)
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_ = c.AppendJSON(make([]byte, 0, 1024))
		}
	})
}
