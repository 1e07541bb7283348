package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildCommit is the commit when the build has no VCS stamp (a git
// worktree, -buildvcs=false, a Docker build without .git):
// go build -ldflags "-X main.buildCommit=$(git rev-parse HEAD)".
var buildCommit = ""

// versionString describes the binary: the module version the go command
// stamped (a tag, a pseudo-version from the commit, or "(devel)"), the
// VCS commit and its time, whether the tree had uncommitted changes, and
// the Go version and platform.
func versionString() string {
	version, commit, when, dirty := "unknown", "unknown", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if commit == "unknown" && buildCommit != "" {
		commit = buildCommit
	}
	if commit == "unknown" {
		commit = "unknown (no VCS stamp: built outside a git clone, in a git worktree or with -buildvcs=false)"
	}
	s := fmt.Sprintf("clvstream %s, commit %s", version, commit)
	if when != "" {
		s += " (" + when + ")"
	}
	if dirty {
		s += ", with uncommitted changes"
	}
	return s + fmt.Sprintf(", %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
