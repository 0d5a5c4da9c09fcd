package service

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/transferd/transferd/"

// TestLayering holds the picture at the top of the README's development
// section: imports go one way, from the binary down to the pure core. For
// each package, the module's packages it may reach (directly or through
// others), and whether it may import anything beyond the standard library.
func TestLayering(t *testing.T) {
	core := []string{"transfer", "app/featurecode", "app/media", "ari"}
	for _, r := range []struct {
		pkg     string
		may     []string // the module's packages it may depend on
		stdOnly bool     // only the standard library besides those
	}{
		{pkg: "transfer", stdOnly: true},
		{pkg: "app/media", stdOnly: true},
		{pkg: "app/featurecode", may: []string{"transfer"}, stdOnly: true},
		{pkg: "ari"},
		{pkg: "ari/natstransport/wire", stdOnly: true},
		{pkg: "ari/natstransport", may: []string{"ari", "ari/natstransport/wire"}},
		{pkg: "ari/natsproxy", may: []string{"ari", "ari/natstransport/wire"}},
		{pkg: "cluster"},
		{pkg: "natsbus"},
		{pkg: "app/ui", stdOnly: true},
		// app knows no HTTP API, no NATS, no wiring.
		{pkg: "app", may: core},
		// httpapi imports app, never the reverse.
		{pkg: "app/httpapi", may: append([]string{"app"}, core...)},
	} {
		deps, outside := dependencies(t, r.pkg)
		for _, d := range deps {
			if !slices.Contains(r.may, d) {
				t.Errorf("%s depends on %s (it may reach only %v)", r.pkg, d, r.may)
			}
		}
		if r.stdOnly && len(outside) > 0 {
			t.Errorf("%s imports %v beyond the standard library", r.pkg, outside)
		}
	}
}

// dependencies walks pkg's imports (not its tests'): the module's packages
// it reaches, and what it or they import from outside the module and the
// standard library.
func dependencies(t *testing.T, pkg string) (deps, outside []string) {
	t.Helper()
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		bp, err := build.ImportDir(filepath.Join("..", filepath.FromSlash(p)), 0)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, imp := range bp.Imports {
			switch {
			case strings.HasPrefix(imp, module):
				d := strings.TrimPrefix(imp, module)
				if !seen[d] {
					seen[d] = true
					deps = append(deps, d)
					walk(d)
				}
			case strings.Contains(strings.Split(imp, "/")[0], "."):
				if !slices.Contains(outside, imp) {
					outside = append(outside, imp)
				}
			}
		}
	}
	walk(pkg)
	return deps, outside
}
