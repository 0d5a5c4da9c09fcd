package app

import (
	"fmt"
	"strings"
	"testing"
)

// TestConfigMediaRefused: every media field of the configuration file,
// in defaults, in an account and in a transfer pattern's data, refuses
// path traversal, absolute paths and schemes the account has not
// allowed, naming the key path.
func TestConfigMediaRefused(t *testing.T) {
	attacks := []string{
		"sound:../../../../etc/secret",
		"sound:custom/../../secret",
		"sound:/etc/secret",
		"sound:beep.gsm",
		"recording:other-tenant/call-1",
		"digits:1234",
		"file:///etc/passwd",
		"tone:../ring",
	}
	fields := []struct {
		yaml string // %s is the value
		key  string // the key the error names, account "a"
	}{
		{"accounts: {a: {transfer: {ringback: %q}}}", "accounts.a.transfer.ringback"},
		{"accounts: {a: {transfer: {dial_tone: %q}}}", "accounts.a.transfer.dial_tone"},
		{"accounts: {a: {transfer: {fail_sound: %q}}}", "accounts.a.transfer.fail_sound"},
		{"accounts: {a: {transfer: {complete_sound: %q}}}", "accounts.a.transfer.complete_sound"},
		{"accounts: {a: {transfer: {fallback: {sound: %q}}}}", "accounts.a.transfer.fallback.sound"},
		{"defaults: {transfer: {ringback: %q}}\naccounts: {a: {}}", "accounts.a.transfer.ringback"},
		{"defaults: {transfer: {fallback: {sound: %q}}}\naccounts: {a: {}}", "accounts.a.transfer.fallback.sound"},
		{"accounts: {a: {metaflows: {patterns: {'2(\\d+)': {module: transfer, data: {ringback: %q}}}}}}", `accounts.a.metaflows.patterns.'2(\d+)'.data.ringback`},
		{"accounts: {a: {metaflows: {numbers: {'5': {module: swap, data: {ringback: %q}}}}}}", `accounts.a.metaflows.numbers.5.data.ringback`},
	}
	for _, f := range fields {
		for _, uri := range attacks {
			doc := fmt.Sprintf(f.yaml, uri)
			c, err := ParseConfig([]byte(doc), DefaultConfig())
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), f.key+":") && !strings.Contains(err.Error(), f.key+" (") {
				t.Errorf("%s: error %v, want one naming %s", doc, err, f.key)
			}
		}
	}
	for _, class := range []string{"../etc", "/var/lib/asterisk/moh", "a b"} {
		for doc, key := range map[string]string{
			fmt.Sprintf("accounts: {a: {transfer: {moh: %q}}}", class):                                                     "accounts.a.transfer.moh",
			fmt.Sprintf("accounts: {a: {metaflows: {patterns: {'2(\\d+)': {module: transfer, data: {moh: %q}}}}}}", class): `accounts.a.metaflows.patterns.'2(\d+)'.data.moh`,
		} {
			c, err := ParseConfig([]byte(doc), DefaultConfig())
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s: error %v, want one naming %s", doc, err, key)
			}
		}
	}
}

// TestConfigMediaAllow: media_allow opens a scheme or one exact URI for
// its account only, and its own entries are checked.
func TestConfigMediaAllow(t *testing.T) {
	doc := `
accounts:
  a:
    media_allow: ["recording:", "sound:/srv/sounds/welcome"]
    transfer:
      ringback: recording:ringing/fr
      fail_sound: sound:/srv/sounds/welcome
  b:
    transfer:
      ringback: recording:ringing/fr
`
	c, err := ParseConfig([]byte(doc), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || len(joined(err)) != 1 || !strings.Contains(err.Error(), "accounts.b.transfer.ringback") {
		t.Fatalf("Validate() = %v, want exactly account b's ringback refused", err)
	}
	for _, entry := range []string{"sound:/srv/../etc/secret", "recording", "file:", "sound:a b"} {
		doc := fmt.Sprintf("accounts: {a: {media_allow: [%q]}}", entry)
		c, err := ParseConfig([]byte(doc), DefaultConfig())
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "accounts.a.media_allow[0]") {
			t.Errorf("%s: error %v, want one naming accounts.a.media_allow[0]", doc, err)
		}
	}
	// Even an allowed scheme takes only plain names.
	c, err = ParseConfig([]byte(`accounts: {a: {media_allow: ["recording:"], transfer: {ringback: "recording:../x"}}}`), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "accounts.a.transfer.ringback") {
		t.Errorf("recording:../x with recording: allowed: %v", err)
	}
}
