package customer

import (
	"encoding/binary"
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
// self-contained.
const flagSections = 1 << 3

// Section tags. Subscriptions and acquisition take 16 and 17, apart from
// the tags of the other retention-toolkit sections (surveys, messages, …),
// which count up from 1.
const (
	// sectionSubscriptions holds State.Subscriptions.
	sectionSubscriptions = 16
	// sectionAcquisition holds State.Acquisition.
	sectionAcquisition = 17
)

// hasSections reports whether s has content for a section.
func (s *State) hasSections() bool { return len(s.Subscriptions) > 0 || s.Acquisition.Set }

// appendSections appends the section list.
func (s *State) appendSections(b []byte) []byte {
	n := 0
	if len(s.Subscriptions) > 0 {
		n++
	}
	if s.Acquisition.Set {
		n++
	}
	b = binary.AppendUvarint(b, uint64(n))
	if len(s.Subscriptions) > 0 {
		b = appendSection(b, sectionSubscriptions, s.appendSubscriptions)
	}
	if s.Acquisition.Set {
		b = appendSection(b, sectionAcquisition, s.appendAcquisition)
	}
	return b
}

// appendSection appends tag, length and the body body writes. The length
// is known only afterwards: the body is written after a maximal-length
// placeholder and moved back when the length is shorter.
func appendSection(b []byte, tag uint64, body func([]byte) []byte) []byte {
	b = binary.AppendUvarint(b, tag)
	start := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen32)...)
	b = body(b)
	n := len(b) - start - binary.MaxVarintLen32
	var lenBuf [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(lenBuf[:], uint64(n))
	copy(b[start:], lenBuf[:l])
	copy(b[start+l:], b[start+binary.MaxVarintLen32:])
	return b[:start+l+n]
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
		case sectionSubscriptions:
			s.readSubscriptions(&sub)
		case sectionAcquisition:
			s.readAcquisition(&sub)
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
