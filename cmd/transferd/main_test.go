package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/transferd/transferd", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-30T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(bi), "transferd v1.2.3 (commit 0123abcd, 2026-11-30T12:00:00Z, with uncommitted changes, go1.26.8)"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.8"}
	if got, want := versionOf(bi), "transferd (devel) (commit unknown (built without VCS information), go1.26.8)"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
}

// TestBinary runs the built binary: --version names the commit it was
// built from, --help mentions the proxy subcommand, and a configuration
// with problems in several places reports all of them with key paths and
// file lines.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "transferd")
	// As make build does: -buildvcs=auto stamps the commit wherever git
	// can tell it (a machine may set GOFLAGS=-buildvcs=false).
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "transferd ") || !strings.Contains(string(out), "commit ") {
		t.Fatalf("--version: %v %q", err, out)
	}
	// The commit it names is the one the toolchain stamped.
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := "commit unknown"
	for _, line := range strings.Split(string(meta), "\n") {
		if _, r, ok := strings.Cut(line, "vcs.revision="); ok {
			rev = "commit " + strings.TrimSpace(r)
		}
	}
	if !strings.Contains(string(out), rev) {
		t.Errorf("--version %q does not say %q (go version -m:\n%s)", out, rev, meta)
	}
	t.Logf("--version: %s", out)
	out, _ = exec.Command(bin, "--help").CombinedOutput()
	if !strings.Contains(string(out), "transferd proxy") {
		t.Errorf("--help does not mention the proxy subcommand:\n%s", out)
	}
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("http:\n  listn: x\naccounts:\n  demo:\n    transfer:\n      no_answer_timeout: 20\n      ringback: sound:../../etc/secret\n"), 0o600)
	cmd := exec.Command(bin, "--config", cfg, "--check-config")
	cmd.Env = append(os.Environ(), "TRANSFERD_CONFIG=")
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("--check-config of a bad file: %v\n%s", err, out)
	}
	for _, want := range []string{"http.listn (line 2): unknown key",
		"accounts.demo.transfer.no_answer_timeout (line 6): must be a duration with a unit",
		"accounts.demo.transfer.ringback (line 7):"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--check-config output lacks %q:\n%s", want, out)
		}
	}
}
