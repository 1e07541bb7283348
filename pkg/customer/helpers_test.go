package customer

import "reflect"

// equalState compares two states, treating nil and empty slices alike.
func equalState(a, b State) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(s State) State {
	if len(s.Days) == 0 {
		s.Days = nil
	}
	if len(s.Orders) == 0 {
		s.Orders = nil
	}
	if len(s.Refunds) == 0 {
		s.Refunds = nil
	}
	if len(s.Emails) == 0 {
		s.Emails = nil
	}
	if len(s.Surveys) == 0 {
		s.Surveys = nil
	}
	if len(s.Subscriptions) == 0 {
		s.Subscriptions = nil
	}
	if len(s.Referrals) == 0 {
		s.Referrals = nil
	}
	if len(s.Tickets) == 0 {
		s.Tickets = nil
	} else {
		ts := make([]Ticket, len(s.Tickets))
		copy(ts, s.Tickets)
		s.Tickets = ts
	}
	return s
}
