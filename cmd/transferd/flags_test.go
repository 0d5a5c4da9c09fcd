package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transferd/transferd/app"
)

// The configuration is the defaults, then the file, then the environment,
// then the flags; problems of the file's keys come back with it, and a
// flag's key is no longer blamed on the file's line.
func TestCommandLoadOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("ari:\n  url: http://file:8088/ari\n  app: fromfile\n  username: fileuser\nhttp:\n  listn: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRANSFERD_CONFIG", "")
	t.Setenv("TRANSFERD_ARI_APP", "fromenv")
	t.Setenv("TRANSFERD_ARI_USERNAME", "envuser")
	cmd := newCommand("t", "usage\n", "config")
	cmd.set("ari-url", "ari.url", "", func(c *app.Config) *string { return &c.ARI.URL })
	cmd.set("app", "ari.app", "", func(c *app.Config) *string { return &c.ARI.App })
	cmd.set("log-level", "log.level", "", func(c *app.Config) *string { return &c.Log.Level })
	if code, done := cmd.parse([]string{"--config", path, "--app", "fromflag"}); done {
		t.Fatalf("parse ended the command with %d", code)
	}
	cfg, err := cmd.load()
	var fp *app.FileProblems
	if !errors.As(err, &fp) || !strings.Contains(err.Error(), "http.listn (line 6): unknown key") {
		t.Fatalf("load error = %v, want the file's unknown key with its line", err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"ari.url (file)", cfg.ARI.URL, "http://file:8088/ari"},
		{"ari.username (env over file)", cfg.ARI.Username, "envuser"},
		{"ari.app (flag over env)", cfg.ARI.App, "fromflag"},
		{"log.level (default)", cfg.Log.Level, app.DefaultConfig().Log.Level},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	for args, want := range map[string]int{"--help": 0, "--nope": 2} {
		cmd := newCommand("t", "", "")
		cmd.fs.SetOutput(io.Discard)
		if code, done := cmd.parse([]string{args}); !done || code != want {
			t.Errorf("%s: code %d, done %v; want %d, true", args, code, done, want)
		}
	}
	cmd = newCommand("t", "", "")
	cmd.parse([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")})
	if _, err := cmd.load(); err == nil || errors.As(err, &fp) {
		t.Errorf("a missing file: error %v, want a read error", err)
	}
}
