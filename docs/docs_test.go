// Package docs holds the repository's documents; its tests keep them true
// to the code.
package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const repo = ".."

// TestReadmeListsEveryFuzzTarget: `make fuzz` finds every fuzz target by
// itself; the README must name each of them too.
func TestReadmeListsEveryFuzzTarget(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	fuzz := regexp.MustCompile(`(?m)^func (Fuzz\w*)\(`)
	found := 0
	err = filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range fuzz.FindAllSubmatch(b, -1) {
			found++
			dir, _ := filepath.Rel(repo, filepath.Dir(path))
			if !strings.Contains(string(readme), "`"+string(m[1])+"` ("+dir+")") {
				t.Errorf("README does not list the fuzz target %s of %s as `%s` (%s)", m[1], dir, m[1], dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 6 {
		t.Fatalf("found only %d fuzz targets", found)
	}
}

// TestAPIDocStaysInRepo: docs/api.md points at nothing outside the
// repository: each relative link and each repository path it names
// exists in it.
func TestAPIDocStaysInRepo(t *testing.T) {
	b, err := os.ReadFile("api.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, bad := range []string{"shared/", "/work/", "reference/seeds"} {
		if strings.Contains(doc, bad) {
			t.Errorf("docs/api.md names %q, outside the repository", bad)
		}
	}
	links := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, m := range links.FindAllStringSubmatch(doc, -1) {
		target := m[1]
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "#") {
			continue
		}
		target, _, _ = strings.Cut(target, "#")
		abs, _ := filepath.Abs(target)
		root, _ := filepath.Abs(repo)
		if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
			t.Errorf("link %s leaves the repository", m[1])
			continue
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("link %s: %v", m[1], err)
		}
	}
	// Repository paths in code spans (`app/httpapi/openapi.yaml`) exist.
	paths := regexp.MustCompile("`((?:app|ari|cmd|docs|integration|transfer|cluster|asterisk-conf|dialplan)/[A-Za-z0-9_./-]+\\.[a-z]+)`")
	for _, m := range paths.FindAllStringSubmatch(doc, -1) {
		if _, err := os.Stat(filepath.Join(repo, m[1])); err != nil {
			t.Errorf("docs/api.md names %s, which is not in the repository", m[1])
		}
	}
}
