package customer

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// goldenV1 holds states of the benchmark mix encoded by the release before
// the tagged sections (subscriptions, acquisition) existed, one hex line
// each, written with WRITE_V1_GOLDEN=1 on that release.
var goldenV1 = filepath.Join("testdata", "state_v1_pre_sections.hex")

// TestWriteV1Golden regenerates goldenV1 when WRITE_V1_GOLDEN is set.
func TestWriteV1Golden(t *testing.T) {
	if os.Getenv("WRITE_V1_GOLDEN") == "" {
		t.Skip("set WRITE_V1_GOLDEN=1 to regenerate " + goldenV1)
	}
	var buf bytes.Buffer
	for _, s := range mixStates(300, 7) {
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString(hex.EncodeToString(b) + "\n")
	}
	if err := os.WriteFile(goldenV1, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPreSectionStatesStillDecode: the states written before the sections
// existed decode to the same states, and a state without subscriptions or
// acquisition is still encoded byte for byte as then (old and new releases
// can share a Redis during a rolling upgrade until the first subscription
// event).
func TestPreSectionStatesStillDecode(t *testing.T) {
	f, err := os.Open(goldenV1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := mixStates(300, 7)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	i := 0
	for ; sc.Scan(); i++ {
		old, err := hex.DecodeString(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		var s State
		if err := s.UnmarshalBinary(old); err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		if !equalState(s, want[i]) {
			t.Fatalf("state %d decodes differently", i)
		}
		now, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(now, old) {
			t.Fatalf("state %d re-encodes differently (%v)", i, err)
		}
	}
	if i != len(want) {
		t.Fatalf("%d golden states, want %d", i, len(want))
	}
}
