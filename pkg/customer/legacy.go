package customer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/clvstream/clvstream/pkg/event"
)

// The JSON format of earlier releases (encoding version 0): json.Marshal of
// the State of that time, with ids as strings. UnmarshalBinary reads it so
// that stored states migrate to the binary encoding on their next write.
type (
	v0Day struct {
		D int64 `json:"d"`
		N int   `json:"n"`
		A int64 `json:"a"`
		M int64 `json:"m"`
	}
	v0Seen struct {
		ID string `json:"id"`
		At int64  `json:"at"`
		E  string `json:"e,omitempty"`
		A  int64  `json:"a,omitempty"`
		M  int64  `json:"m,omitempty"`
	}
	v0Transition struct {
		T    event.Type `json:"t"`
		At   int64      `json:"at"`
		CSAT int        `json:"csat,omitempty"`
		P    string     `json:"p,omitempty"`
	}
	v0Ticket struct {
		ID string         `json:"id"`
		Tr []v0Transition `json:"tr"`
	}
	v0Email struct {
		ID string `json:"id"`
		S  int64  `json:"s,omitempty"`
		O  int64  `json:"o,omitempty"`
		C  int64  `json:"c,omitempty"`
	}
	v0State struct {
		ID           string     `json:"id"`
		V            uint64     `json:"v"`
		Erased       bool       `json:"erased,omitempty"`
		ErasedAt     int64      `json:"erased_at,omitempty"`
		Days         []v0Day    `json:"days,omitempty"`
		Orders       []v0Seen   `json:"orders,omitempty"`
		Refunds      []v0Seen   `json:"refunds,omitempty"`
		Refunded     int64      `json:"refunded,omitempty"`
		RefundMg     int64      `json:"refund_margin,omitempty"`
		Tickets      []v0Ticket `json:"tickets,omitempty"`
		Emails       []v0Email  `json:"emails,omitempty"`
		Seg          string     `json:"seg,omitempty"`
		SegSince     int64      `json:"seg_since,omitempty"`
		Tier         string     `json:"tier,omitempty"`
		ScoredNet    int64      `json:"scored_net,omitempty"`
		ModelVersion int64      `json:"mv,omitempty"`
	}
)

// unmarshalJSONv0 migrates a state of the JSON format: ids become their
// hashes, sets are re-sorted by (time, hash), refunds (which recorded no
// order id) become Migrated with their totals carried in Refunded and
// RefundMg. Negative money (a sum that wrapped under the old arithmetic) is
// refused: such a state is corrupt and must be quarantined, not guessed at.
func (s *State) unmarshalJSONv0(data []byte) error {
	var v v0State
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("%w: JSON state (version 0): %w", ErrMalformed, err)
	}
	neg := func(what string, x int64) error {
		if x < 0 {
			return fmt.Errorf("%w: JSON state (version 0): %s is %d; negative money is a wrapped sum, the state cannot be migrated", ErrMalformed, what, x)
		}
		return nil
	}
	s.Reset()
	s.ID, s.Version, s.Erased, s.ErasedAt = v.ID, v.V, v.Erased, v.ErasedAt
	s.Segment, s.SegmentSince, s.Tier, s.ScoredNet, s.ModelVersion = v.Seg, v.SegSince, v.Tier, v.ScoredNet, v.ModelVersion
	if err := neg("refunded", v.Refunded); err != nil {
		return err
	}
	if err := neg("refund_margin", v.RefundMg); err != nil {
		return err
	}
	s.Refunded, s.RefundMg = TotalOf(v.Refunded), TotalOf(v.RefundMg)
	for _, d := range v.Days {
		if err := neg(fmt.Sprintf("day %d amount", d.D), d.A); err != nil {
			return err
		}
		if err := neg(fmt.Sprintf("day %d margin", d.D), d.M); err != nil {
			return err
		}
		s.Days = append(s.Days, Day{D: d.D, N: d.N, Amount: TotalOf(d.A), Margin: TotalOf(d.M)})
	}
	slices.SortFunc(s.Days, func(a, b Day) int { return cmpInt(a.D, b.D) })
	for _, o := range v.Orders {
		if o.A < 0 || o.M < 0 || o.M > o.A {
			return fmt.Errorf("%w: JSON state (version 0): order amount %d, margin %d: want 0 <= margin <= amount", ErrMalformed, o.A, o.M)
		}
		s.Orders = append(s.Orders, Order{ID: HashID(o.ID), At: o.At, Amount: o.A, Margin: o.M})
	}
	slices.SortFunc(s.Orders, func(a, b Order) int { return boolCmp(lessOrder(&a, &b), lessOrder(&b, &a)) })
	for _, r := range v.Refunds {
		if r.A < 0 || r.M < 0 || r.M > r.A {
			return fmt.Errorf("%w: JSON state (version 0): refund amount %d, margin %d: want 0 <= margin <= amount", ErrMalformed, r.A, r.M)
		}
		s.Refunds = append(s.Refunds, Refund{ID: HashID(r.ID), At: r.At, Amount: r.A, Margin: r.M, Migrated: true})
	}
	slices.SortFunc(s.Refunds, func(a, b Refund) int { return boolCmp(lessRefund(&a, &b), lessRefund(&b, &a)) })
	for _, t := range v.Tickets {
		if len(t.Tr) == 0 {
			return fmt.Errorf("%w: JSON state (version 0): a ticket has no transition", ErrMalformed)
		}
		tk := Ticket{ID: HashID(t.ID)}
		for _, tr := range t.Tr {
			tk.Transitions = append(tk.Transitions, Transition{Type: tr.T, At: tr.At, CSAT: tr.CSAT, Priority: tr.P})
		}
		slices.SortFunc(tk.Transitions, func(a, b Transition) int { return boolCmp(lessTransition(a, b), lessTransition(b, a)) })
		tk.Transitions = slices.Compact(tk.Transitions)
		s.Tickets = append(s.Tickets, tk)
	}
	for _, m := range v.Emails {
		s.Emails = append(s.Emails, Email{ID: HashID(m.ID), Sent: m.S, Opened: m.O, Clicked: m.C})
	}
	s.sortTickets()
	s.sortEmails()
	trim(&s.Orders, MaxOrders)
	trim(&s.Refunds, MaxRefunds)
	trim(&s.Tickets, MaxTickets)
	trim(&s.Emails, MaxEmails)
	if err := s.check(); err != nil {
		return fmt.Errorf("%w: JSON state (version 0): %w", ErrMalformed, err)
	}
	return nil
}

// trim keeps the max last (most recent) elements of a sorted set.
func trim[T any](set *[]T, max int) {
	if n := len(*set); n > max {
		*set = append((*set)[:0], (*set)[n-max:]...)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolCmp(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// MarshalJSON encodes s as a JSON string holding its binary encoding in
// base64, so code that still stores states through encoding/json writes the
// current format; use MarshalBinary to store states.
func (s State) MarshalJSON() ([]byte, error) {
	b, err := s.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}

// UnmarshalJSON reads what MarshalJSON writes, or a JSON object of the
// JSON format of earlier releases (which it migrates).
func (s *State) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		return s.UnmarshalBinary(data)
	}
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return fmt.Errorf("%w: JSON value is neither a state object nor a base64 string: %w", ErrMalformed, err)
	}
	b, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		return fmt.Errorf("%w: base64: %w", ErrMalformed, err)
	}
	return s.UnmarshalBinary(b)
}
