package churn

import (
	"math"
	"testing"
)

func TestCombinedWithoutSignalsIsThePurchaseModel(t *testing.T) {
	var m Combined
	for _, p := range []float64{0.01, 0.3, 0.5, 0.9} {
		got, f := m.Risk(Signals{PDead: p})
		if math.Abs(got-p) > 1e-12 || len(f) != 1 || f[0].Name != "purchase_inactivity" {
			t.Fatalf("PDead %v: risk %v factors %v", p, got, f)
		}
	}
}

func TestCombinedFrictionAndEngagement(t *testing.T) {
	var m Combined
	base, _ := m.Risk(Signals{PDead: 0.3})
	friction, f := m.Risk(Signals{PDead: 0.3, OpenTickets: 2, Reopened: 1, MeanResolveHours: 96, CSAT: 1})
	if friction <= base {
		t.Fatalf("friction %v <= base %v", friction, base)
	}
	// log-odds added: 0.6 + 0.3 + 0.3 + 0.8 = 2.0
	want := 1 / (1 + math.Exp(-(math.Log(0.3/0.7) + 2.0)))
	if math.Abs(friction-want) > 1e-12 {
		t.Fatalf("friction risk %v, want %v", friction, want)
	}
	if f[0].Name != "csat" || f[1].Name != "open_tickets" {
		t.Fatalf("top factors %v: want csat then open_tickets", f[:2])
	}
	engaged, _ := m.Risk(Signals{PDead: 0.3, EmailSends: 4, EmailOpens: 3, EmailClicks: 1})
	ignoring, _ := m.Risk(Signals{PDead: 0.3, EmailSends: 4})
	if !(engaged < base && ignoring > base) {
		t.Fatalf("engaged %v, ignoring %v, base %v", engaged, ignoring, base)
	}
	happy, _ := m.Risk(Signals{PDead: 0.3, CSAT: 5})
	if happy >= base {
		t.Fatalf("CSAT 5 should lower risk: %v >= %v", happy, base)
	}
	// Caps: 10 open tickets count as 3.
	ten, _ := m.Risk(Signals{PDead: 0.3, OpenTickets: 10})
	three, _ := m.Risk(Signals{PDead: 0.3, OpenTickets: 3})
	if ten != three {
		t.Fatalf("open-ticket cap: %v != %v", ten, three)
	}
}
