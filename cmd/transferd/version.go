package main

import (
	"runtime/debug"
	"strings"
)

// version says which build this is, from the build info the Go toolchain
// embeds: the module version ("(devel)" for a build inside the
// repository) and the VCS commit, its time and whether the tree had
// uncommitted changes.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "transferd (no build info)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	var parts []string
	if rev != "" {
		parts = append(parts, "commit "+rev)
	} else {
		parts = append(parts, "commit unknown (built without VCS information)")
	}
	if at != "" {
		parts = append(parts, at)
	}
	if modified == "true" {
		parts = append(parts, "with uncommitted changes")
	}
	return "transferd " + v + " (" + strings.Join(parts, ", ") + ", " + bi.GoVersion + ")"
}
