package segment

// How a field moves while a customer is silent (no event) and no known
// instant of the scorer passes (a dwell hold ending, a tier age-out, a
// subscription period ending, a replenishment window edge): the due-time
// search of the scorer probes only between those instants.
type drift uint8

const (
	driftUnknown drift = iota // may move either way (churn, engagement decays, RFM recency score)
	driftConst                // does not move
	driftGrows                // only grows (recency, tenure)
)

// drifts are the fields whose movement is known; every other field is
// driftUnknown. The predicted value figures count as constant: the scorer
// holds them between scorings, like its probes do.
var drifts = map[string]drift{
	"clv": driftConst, "clv_percentile": driftConst, "historic_clv": driftConst, "net_revenue": driftConst,
	"tier": driftConst, "f": driftConst, "m": driftConst, "last_gap_days": driftConst, "frequency": driftConst,
	"purchase_days": driftConst, "open_tickets": driftConst, "replenishment_due": driftConst,
	"subscription": driftConst, "channel": driftConst, "referrals": driftConst,
	"nps_score": driftConst, "csat_score": driftConst, "ces_score": driftConst, "nps_class": driftConst,
	"detractor": driftConst, "high_effort": driftConst, "survey_response_rate": driftConst,
	"opted_out": driftConst, "email_opted_out": driftConst, "sms_opted_out": driftConst, "push_opted_out": driftConst,
	"recency_days": driftGrows, "tenure_days": driftGrows,
}

// Settled reports whether the segment current of c can only stay as it
// is while c is silent: current's own rule holds (with its hysteresis)
// and cannot stop holding, and every rule before it fails and cannot
// start holding, given which fields are constant and which only grow
// (recency and tenure). A customer lapsed by `recency_days >= 365` is
// settled; one at risk by a churn threshold is not. The scorer then needs
// no due-time probes for it.
//
// With churnRises the caller knows that c's churn probability can only
// grow while c is silent (churn.Model.RisesWhenSilent): churn_probability
// then counts as a field that only grows, and a customer lapsed by a churn
// threshold is settled too.
func (e *Engine) Settled(c *Customer, current string, churnRises bool) bool {
	for _, r := range e.rules {
		if r.name == current {
			return settle(r.expr, c, true, churnRises) == stayTrue
		}
		if settle(r.expr, c, false, churnRises) != stayFalse {
			return false
		}
	}
	return false
}

type settling uint8

const (
	mayChange settling = iota
	stayTrue
	stayFalse
)

func stays(v bool) settling {
	if v {
		return stayTrue
	}
	return stayFalse
}

// settle is the three-valued evaluation of n for a silent customer.
func settle(n node, c *Customer, relax, churnRises bool) settling {
	switch x := n.(type) {
	case constNode:
		return stays(bool(x))
	case *andNode:
		l, r := settle(x.l, c, relax, churnRises), settle(x.r, c, relax, churnRises)
		switch {
		case l == stayFalse || r == stayFalse:
			return stayFalse
		case l == stayTrue && r == stayTrue:
			return stayTrue
		}
		return mayChange
	case *orNode:
		l, r := settle(x.l, c, relax, churnRises), settle(x.r, c, relax, churnRises)
		switch {
		case l == stayTrue || r == stayTrue:
			return stayTrue
		case l == stayFalse && r == stayFalse:
			return stayFalse
		}
		return mayChange
	case *notNode:
		switch settle(x.x, c, relax, churnRises) {
		case stayTrue:
			return stayFalse
		case stayFalse:
			return stayTrue
		}
		return mayChange
	case *numCmp:
		v := x.eval(c, relax)
		d := drifts[x.f.name]
		if churnRises && x.f.name == "churn_probability" {
			d = driftGrows
		}
		switch d {
		case driftConst:
			return stays(v)
		case driftGrows:
			// x ≥ t and x > t stay true once true; x ≤ t and x < t stay
			// false once false.
			if (x.op == ">=" || x.op == ">") && v {
				return stayTrue
			}
			if (x.op == "<=" || x.op == "<") && !v {
				return stayFalse
			}
		}
		return mayChange
	case *numIn:
		if drifts[x.f.name] == driftConst {
			return stays(x.eval(c, relax))
		}
	case *strIn:
		if drifts[x.f.name] == driftConst {
			return stays(x.eval(c, relax))
		}
	case *boolIs:
		if drifts[x.f.name] == driftConst {
			return stays(x.eval(c, relax))
		}
	}
	return mayChange
}

// Monotone reports whether every field the rules read is constant while a
// customer is silent, only grows (recency, tenure), or is the churn
// probability: for a customer whose churn can only rise, the decision then
// changes only where a comparison with a recency, tenure or churn
// threshold flips, and each flips at most once.
func (e *Engine) Monotone() bool {
	ok := true
	for _, r := range e.rules {
		walk(r.expr, func(x node) {
			switch x := x.(type) {
			case *numCmp: // a threshold: flips once on a field that only grows
				if x.f.name != "churn_probability" && drifts[x.f.name] == driftUnknown {
					ok = false
				}
			case *numIn: // equalities: only on a constant field
				ok = ok && drifts[x.f.name] == driftConst
			case *strIn:
				ok = ok && drifts[x.f.name] == driftConst
			case *boolIs:
				ok = ok && drifts[x.f.name] == driftConst
			}
		})
	}
	return ok
}
