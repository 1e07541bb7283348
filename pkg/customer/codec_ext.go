package customer

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Extension sections of the binary encoding. The version-1 layout ends
// with the emails; state added since is written after them as tagged
// sections, announced by flagSections in the header:
//
//	uvarint n, then n times: uvarint tag, uvarint length, length bytes
//
// in increasing tag order, each section present only when it has content.
// A state without new content encodes exactly as before, and every state
// encoded before the sections existed still decodes (no flag, no
// sections). A reader refuses a tag it does not know (ErrMalformed, so the
// state is quarantined rather than rewritten without it). Each section is
// self-contained: its own time unit and base.
const flagSections = 1 << 3

// Section tags.
const (
	// sectionSurveys holds State.Surveys.
	sectionSurveys = 1
	// sectionConsent holds State.Consent.
	sectionConsent = 2
	// sectionCampaigns holds the Campaign of the messages in Emails.
	sectionCampaigns = 3
	// sectionSubscriptions holds State.Subscriptions and
	// sectionAcquisition State.Acquisition (subscription_codec.go); they
	// take 16 and 17, apart from the tags above, which count up from 1.
	sectionSubscriptions = 16
	sectionAcquisition   = 17
	// sectionReferrals holds State.Referrals (referral.go): next to the
	// acquisition it is the other side of.
	sectionReferrals = 18
)

// Flags of a survey in its section; bits 4-5 hold the kind.
const (
	surveySent      = 1 << 0 // a send time follows
	surveyResponded = 1 << 1 // response time, event hash and score follow
	surveyComment   = 1 << 2 // a comment length follows
	surveyKindShift = 4
)

// hasSections reports whether s has content for a section.
func (s *State) hasSections() bool {
	return len(s.Surveys) > 0 || s.hasConsent() || s.hasCampaigns() || len(s.Subscriptions) > 0 || s.Acquisition.Set || len(s.Referrals) > 0
}

// hasCampaigns reports whether a message names a campaign.
func (s *State) hasCampaigns() bool {
	for i := range s.Emails {
		if s.Emails[i].Campaign != "" {
			return true
		}
	}
	return false
}

// appendSections appends the section list.
func (s *State) appendSections(b []byte) []byte {
	n := 0
	if len(s.Surveys) > 0 {
		n++
	}
	if s.hasConsent() {
		n++
	}
	campaigns := s.hasCampaigns()
	if campaigns {
		n++
	}
	if len(s.Subscriptions) > 0 {
		n++
	}
	if s.Acquisition.Set {
		n++
	}
	if len(s.Referrals) > 0 {
		n++
	}
	b = binary.AppendUvarint(b, uint64(n))
	if len(s.Surveys) > 0 {
		b = appendSection(b, sectionSurveys, s.appendSurveys)
	}
	if s.hasConsent() {
		b = appendSection(b, sectionConsent, s.appendConsent)
	}
	if campaigns {
		b = appendSection(b, sectionCampaigns, s.appendCampaigns)
	}
	if len(s.Subscriptions) > 0 {
		b = appendSection(b, sectionSubscriptions, s.appendSubscriptions)
	}
	if s.Acquisition.Set {
		b = appendSection(b, sectionAcquisition, s.appendAcquisition)
	}
	if len(s.Referrals) > 0 {
		b = appendSection(b, sectionReferrals, s.appendReferrals)
	}
	return b
}

// appendSection appends tag, length and the body body writes. The length
// is known only afterwards: the body is written after room reserved for
// the longest length varint and moved back when the length is shorter.
func appendSection(b []byte, tag uint64, body func([]byte) []byte) []byte {
	b = binary.AppendUvarint(b, tag)
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0) // binary.MaxVarintLen32 bytes, without allocating
	b = body(b)
	n := len(b) - start - binary.MaxVarintLen32
	var lenBuf [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(lenBuf[:], uint64(n))
	copy(b[start:], lenBuf[:l])
	copy(b[start+l:], b[start+binary.MaxVarintLen32:])
	return b[:start+l+n]
}

// appendSurveys writes the surveys: time unit and base, then per survey
// the delta of its earliest time, id, flags and the times relative to the
// earliest.
func (s *State) appendSurveys(b []byte) []byte {
	var g uint64
	for i := range s.Surveys {
		v := &s.Surveys[i]
		g = gcdTime(g, v.Sent)
		g = gcdTime(g, v.Responded)
	}
	if g == 0 || g > 1<<62 {
		g = 1
	}
	unit := int64(g)
	base := s.Surveys[0].key() / unit
	b = binary.AppendUvarint(b, g)
	b = binary.AppendVarint(b, base)
	b = binary.AppendUvarint(b, uint64(len(s.Surveys)))
	prev := base
	for i := range s.Surveys {
		v := &s.Surveys[i]
		k := v.key() / unit
		b = binary.AppendUvarint(b, uint64(k-prev))
		prev = k
		b = binary.LittleEndian.AppendUint64(b, v.ID)
		f := byte(v.Kind) << surveyKindShift
		if v.Sent != 0 {
			f |= surveySent
		}
		if v.Responded != 0 {
			f |= surveyResponded
		}
		if v.CommentLength != 0 {
			f |= surveyComment
		}
		b = append(b, f)
		if v.Sent != 0 {
			b = binary.AppendUvarint(b, uint64(v.Sent/unit-k))
		}
		if v.Responded != 0 {
			b = binary.AppendUvarint(b, uint64(v.Responded/unit-k))
			b = binary.LittleEndian.AppendUint64(b, v.Event)
			b = append(b, byte(v.Score))
		}
		if v.CommentLength != 0 {
			b = binary.AppendUvarint(b, uint64(v.CommentLength))
		}
	}
	return b
}

// gcdTime folds the absolute value of t (0 ignored) into the gcd g.
func gcdTime(g uint64, t int64) uint64 {
	if t == 0 || g == 1 {
		return g
	}
	u := uint64(t)
	if t < 0 {
		u = -u
	}
	for u != 0 {
		g, u = u, g%u
	}
	return g
}

// readSections reads the section list into s.
func (s *State) readSections(r *reader) {
	n := r.count("sections", 16, 2)
	last := uint64(0)
	for i := 0; i < n && r.err == nil; i++ {
		tag := r.uvarint("section tag")
		size := r.uvarint("section length")
		if r.err != nil {
			return
		}
		if tag <= last {
			r.fail("section tag %d after %d: tags must increase", tag, last)
			return
		}
		last = tag
		if size > uint64(len(r.b)) {
			r.fail("section %d: length %d but %d bytes remain", tag, size, len(r.b))
			return
		}
		sub := reader{b: r.b[:size]}
		r.b = r.b[size:]
		switch tag {
		case sectionSurveys:
			s.readSurveys(&sub)
		case sectionConsent:
			s.readConsent(&sub)
		case sectionCampaigns:
			s.readCampaigns(&sub)
		case sectionSubscriptions:
			s.readSubscriptions(&sub)
		case sectionAcquisition:
			s.readAcquisition(&sub)
		case sectionReferrals:
			s.readReferrals(&sub)
		default:
			r.fail("unknown section %d (written by a newer release?)", tag)
			return
		}
		if sub.err == nil && len(sub.b) != 0 {
			sub.fail("section %d: %d trailing bytes", tag, len(sub.b))
		}
		if sub.err != nil {
			r.err = sub.err
			return
		}
	}
}

func (s *State) readSurveys(r *reader) {
	unit := r.uvarint("survey time unit")
	if r.err == nil && (unit == 0 || unit > 1<<62) {
		r.fail("survey time unit %d ms out of range", unit)
	}
	base := r.varint("survey time base")
	n := r.count("surveys", MaxSurveys, 10)
	if n == 0 && r.err == nil {
		r.fail("empty survey section")
	}
	s.Surveys = slices.Grow(s.Surveys[:0], n)
	prev := base
	for i := 0; i < n && r.err == nil; i++ {
		k := int64(uint64(prev) + r.uvarint("survey time"))
		prev = k
		v := Survey{ID: r.u64("survey id")}
		f := r.byte("survey flags")
		if f&^(surveySent|surveyResponded|surveyComment|3<<surveyKindShift) != 0 || f&(surveySent|surveyResponded) == 0 {
			r.fail("survey %d: flags %#x", i, f)
			return
		}
		v.Kind = SurveyKind(f >> surveyKindShift)
		if f&surveySent != 0 {
			v.Sent = r.scale(int64(uint64(k)+r.uvarint("survey sent")), unit)
		}
		if f&surveyResponded != 0 {
			v.Responded = r.scale(int64(uint64(k)+r.uvarint("survey responded")), unit)
			v.Event = r.u64("survey event")
			v.Score = int8(r.byte("survey score"))
		}
		if f&surveyComment != 0 {
			c := r.uvarint("survey comment length")
			if c == 0 || c > 1<<32-1 {
				r.fail("survey %d: comment length %d", i, c)
			}
			v.CommentLength = uint32(c)
		}
		if r.err == nil && v.key() != r.scale(k, unit) {
			r.fail("survey %d: first time is not the earliest of its times", i)
		}
		s.Surveys = append(s.Surveys, v)
	}
}

// checkSurveys verifies the survey invariants Apply maintains.
func (s *State) checkSurveys() error {
	if len(s.Surveys) > MaxSurveys {
		return fmt.Errorf("%d surveys, more than MaxSurveys (%d)", len(s.Surveys), MaxSurveys)
	}
	for i := range s.Surveys {
		v := &s.Surveys[i]
		lo, hi := 0, 10
		switch v.Kind {
		case KindCSAT:
			lo, hi = 1, 5
		case KindCES:
			lo, hi = 1, 7
		case KindNPS:
		default:
			return fmt.Errorf("survey %d: kind %d", i, v.Kind)
		}
		if v.Sent == 0 && v.Responded == 0 {
			return fmt.Errorf("survey %d has neither a send nor a response", i)
		}
		if v.Responded != 0 && (int(v.Score) < lo || int(v.Score) > hi) {
			return fmt.Errorf("survey %d: %s score %d outside %d..%d", i, v.Kind, v.Score, lo, hi)
		}
		if i > 0 {
			p := &s.Surveys[i-1]
			if pk, k := p.key(), v.key(); pk > k || (pk == k && p.ID >= v.ID) {
				return fmt.Errorf("surveys not sorted by (first time, id) at index %d", i)
			}
		}
	}
	return nil
}

// appendConsent writes, per channel with an opt-out or opt-in, a byte
// (bits 0-1 channel, bit 2 opt-out follows, bit 3 opt-in follows) and the
// times as zigzag varints of Unix ms.
func (s *State) appendConsent(b []byte) []byte {
	for ch, c := range s.Consent {
		if c == (Consent{}) {
			continue
		}
		f := byte(ch)
		if c.OptedOut != 0 {
			f |= 1 << 2
		}
		if c.OptedIn != 0 {
			f |= 1 << 3
		}
		b = append(b, f)
		if c.OptedOut != 0 {
			b = binary.AppendVarint(b, c.OptedOut)
		}
		if c.OptedIn != 0 {
			b = binary.AppendVarint(b, c.OptedIn)
		}
	}
	return b
}

func (s *State) readConsent(r *reader) {
	last := -1
	for len(r.b) > 0 && r.err == nil {
		f := r.byte("consent flags")
		ch := int(f & 3)
		if f&^0xf != 0 || f&0xc == 0 || ch >= int(numChannels) || ch <= last {
			r.fail("consent flags %#x", f)
			return
		}
		last = ch
		c := &s.Consent[ch]
		if f&(1<<2) != 0 {
			c.OptedOut = r.varint("opted out")
		}
		if f&(1<<3) != 0 {
			c.OptedIn = r.varint("opted in")
		}
		if r.err == nil && ((f&(1<<2) != 0 && c.OptedOut == 0) || (f&(1<<3) != 0 && c.OptedIn == 0)) {
			r.fail("consent time 0")
		}
	}
	if last < 0 && r.err == nil {
		r.fail("empty consent section")
	}
}

// appendCampaigns writes the distinct campaign names of the messages (in
// order of first use: uvarint count, strings), then per message with a
// campaign the uvarint gap of its index in Emails (from the previous one
// plus one) and the uvarint index of its name.
func (s *State) appendCampaigns(b []byte) []byte {
	var names []string
	index := map[string]int{}
	for i := range s.Emails {
		if c := s.Emails[i].Campaign; c != "" {
			if _, ok := index[c]; !ok {
				index[c] = len(names)
				names = append(names, c)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = appendString(b, n)
	}
	next := 0
	for i := range s.Emails {
		if c := s.Emails[i].Campaign; c != "" {
			b = binary.AppendUvarint(b, uint64(i-next))
			b = binary.AppendUvarint(b, uint64(index[c]))
			next = i + 1
		}
	}
	return b
}

func (s *State) readCampaigns(r *reader) {
	n := r.count("campaign names", len(s.Emails), 2)
	if n == 0 && r.err == nil {
		r.fail("empty campaign section")
	}
	names := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		c := r.str("campaign", "")
		if r.err == nil && (c == "" || len(c) > maxCampaignBytes) {
			r.fail("campaign name of %d bytes", len(c))
		}
		names = append(names, c)
	}
	next := 0
	for len(r.b) > 0 && r.err == nil {
		i := next + int(min(r.uvarint("campaign message"), uint64(len(s.Emails))))
		k := r.uvarint("campaign index")
		if r.err != nil {
			return
		}
		if i >= len(s.Emails) || k >= uint64(len(names)) || s.Emails[i].Campaign != "" {
			r.fail("campaign of message %d: name %d of %d", i, k, len(names))
			return
		}
		s.Emails[i].Campaign = names[k]
		next = i + 1
	}
}

// maxCampaignBytes bounds a stored campaign name (event.MaxCampaignBytes).
const maxCampaignBytes = 256
