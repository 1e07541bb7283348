package state

import "testing"

// Redis before 6.2 has no ZMSCORE: the service refuses it at start.
func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"6.0.16": false, "5.0.7": false, "6.2.0": true, "6.2.14": true, "7.0.15": true, "10.0.1": true,
		"": true, "unknown": true, "7": true,
	} {
		if got := versionAtLeast(v, 6, 2); got != want {
			t.Errorf("versionAtLeast(%q, 6, 2) = %v, want %v", v, got, want)
		}
	}
}
