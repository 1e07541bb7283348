package event

// LegacyDecode runs the reflection-based decoder this package used before
// the hand-written tokenizer (legacy_test.go), for differential tests and
// the before/after benchmark.
func LegacyDecode(d *Decoder, value []byte, headers []Header) (Event, error) {
	ev, err := d.legacyDecode(value, headers)
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}
