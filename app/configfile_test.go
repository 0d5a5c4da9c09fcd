package app

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// keysOf lists the keys a section takes, as the messages do.
func keysOf(v any) string { return strings.Join(structKeys(reflect.TypeOf(v)), ", ") }

// problems parses file and validates it, as transferd does at start, and
// returns every message.
func problems(t *testing.T, file string) []string {
	t.Helper()
	c, err := ParseConfig([]byte(file), DefaultConfig())
	var fp *FileProblems
	if err != nil && !errors.As(err, &fp) {
		t.Fatalf("ParseConfig: %v (not file problems)", err)
	}
	var out []string
	for _, e := range joined(err) {
		out = append(out, e.Error())
	}
	for _, e := range joined(c.Validate()) {
		out = append(out, e.Error())
	}
	return out
}

// TestConfigProblemsNameKeyAndLine: every problem of a file, wherever it
// is (top level, defaults, an account, a map inside them), names the key
// path as written and the line in the file, in words without Go type
// names; one problem does not hide the others.
func TestConfigProblemsNameKeyAndLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []string // each one message, exactly; all of them and nothing else
	}{
		{
			name: "unknown key at the top level and in a section",
			file: "ari:\n  url: http://127.0.0.1:8088/ari\nhttp:\n  listn: 127.0.0.1:1\nloggin: {}\naccounts: {a: {}}\n",
			want: []string{
				"http.listn (line 4): unknown key; http takes: " + keysOf(HTTPConfig{}),
				"loggin (line 5): unknown key; the top level takes: " + keysOf(Config{}),
			},
		},
		{
			name: "a bare number duration does not stop the other checks",
			file: `log: {level: info}
defaults:
  transfer:
    loop_delay: 3
accounts:
  demo:
    dial_template: Local/{number}@phones
    transfer:
      no_answer_timeout: 20
      on_transferee_left: drop
  sales:
    dial_tmplate: PJSIP/{number}
`,
			want: []string{
				"defaults.transfer.loop_delay (line 4): must be a duration with a unit, such as 3s or 3ms; got the bare number 3",
				"accounts.demo.transfer.no_answer_timeout (line 9): must be a duration with a unit, such as 20s or 20ms; got the bare number 20",
				"accounts.sales.dial_tmplate (line 12): unknown key; accounts.sales takes: " + keysOf(AccountConfig{}),
				`accounts.demo.transfer.on_transferee_left (line 10): must be keep or cancel, got "drop"`,
			},
		},
		{
			name: "lines are the file's, far down in an account",
			file: strings.Repeat("# comment\n", 60) + `accounts:
  demo:
    metaflows:
      listen_on: everybody
      numbers:
        "5": {module: swap, dat: {}}
      patterns:
        '2(\d+)': {module: transfer, data: {ringback: "sound:../x"}}
    transfer:
      callback_retries: many
      check_availability: maybe
`,
			want: []string{
				`accounts.demo.metaflows.numbers.5.dat (line 66): unknown key; accounts.demo.metaflows.numbers.5 takes: data, module`,
				`accounts.demo.transfer.callback_retries (line 70): must be a whole number, got "many"`,
				`accounts.demo.transfer.check_availability (line 71): must be true or false, got "maybe"`,
				`accounts.demo.metaflows.listen_on (line 64): must be both, caller or callee, got "everybody"`,
				`accounts.demo.metaflows.patterns.'2(\d+)'.data.ringback (line 68): "sound:../x" is not allowed: want ` + "tone:<indication> or sound:<name>, a name being letters, digits, _ and - in segments joined by / (no \"..\", not absolute); anything else only when listed in the account's media_allow",
			},
		},
		{
			name: "a value inherited from defaults points at the defaults' line",
			file: "defaults:\n  dial_template: PJSIP/nothing\naccounts:\n  a: {}\n",
			want: []string{
				`accounts.a.dial_template (from defaults.dial_template, line 2): must be a dial string containing {number}, such as PJSIP/{number}, got "PJSIP/nothing"`,
			},
		},
		{
			name: "wrong shapes",
			file: "ari: http://127.0.0.1:8088/ari\nhttp:\n  max_connections: [1]\naccounts:\n  a:\n    tokens: abc\n    variables: [x]\n",
			want: []string{
				`ari (line 1): must be a mapping of keys (` + keysOf(ARIConfig{}) + `), got "http://127.0.0.1:8088/ari"`,
				`http.max_connections (line 3): must be a whole number, got a list`,
				`accounts.a.tokens (line 6): must be a list, got "abc"`,
				`accounts.a.variables (line 7): must be a mapping, got a list`,
			},
		},
		{
			name: "top level values validated with their lines",
			file: "ari:\n  url: 127.0.0.1:8088\nhttp:\n  read_timeout: 1s\nnats:\n  lease_ttl: 10ms\naccounts: {a: {}}\n",
			want: []string{
				`ari.url (line 2): must be an http(s) URL such as http://127.0.0.1:8088/ari, got "127.0.0.1:8088"`,
				`http.read_timeout (line 4): must be at least http.read_header_timeout (5s): it bounds the whole request, got 1s`,
				`nats.lease_ttl (line 6): must be at least 1s, got 10ms`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.file)
			missing := map[string]bool{}
			for _, w := range tc.want {
				missing[w] = true
			}
			for _, g := range got {
				if !missing[g] {
					t.Errorf("unexpected problem:\n  %s", g)
				}
				delete(missing, g)
				if strings.Contains(g, "app.") || strings.Contains(g, "time.Duration") || strings.Contains(g, "!!") {
					t.Errorf("Go or YAML type names in %q", g)
				}
			}
			for m := range missing {
				t.Errorf("missing problem:\n  %s", m)
			}
		})
	}
}

// TestConfigLinesForgottenForEnvironment: a value the environment set
// carries no line of the file.
func TestConfigLinesForgottenForEnvironment(t *testing.T) {
	c, err := ParseConfig([]byte("ari:\n  url: http://127.0.0.1:8088/ari\naccounts: {a: {}}\n"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyEnv(func(k string) string {
		if k == "TRANSFERD_ARI_URL" {
			return "nonsense"
		}
		return ""
	})
	err = c.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "ari.url: ") {
		t.Fatalf("Validate() = %v, want ari.url without a line", err)
	}
}

func TestConfigNotYAML(t *testing.T) {
	_, err := ParseConfig([]byte("ari:\n  url: [\n"), DefaultConfig())
	var fp *FileProblems
	if err == nil || errors.As(err, &fp) || !strings.Contains(err.Error(), "line") {
		t.Fatalf("ParseConfig of broken YAML: %v", err)
	}
}

// TestConfigEverySectionDecoded: a section of Config is read from the file
// without ParseConfig naming it (a key added to Config is never silently
// dropped).
func TestConfigEverySectionDecoded(t *testing.T) {
	c, err := ParseConfig([]byte("drain_timeout: 7s\nhttp: {max_connections: 9}\nnats: {lease_ttl: 4s}\naccounts: {a: {}}\n"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.DrainTimeout != 7*time.Second || c.HTTP.MaxConnections != 9 || c.NATS.LeaseTTL != 4*time.Second || c.HTTP.Listen != "127.0.0.1:8090" {
		t.Fatalf("sections not decoded over the defaults: drain %s, http %+v, nats %+v", c.DrainTimeout, c.HTTP, c.NATS)
	}
	if len(c.Accounts) != 1 || c.Accounts["a"].DialTemplate != "PJSIP/{number}" {
		t.Fatalf("accounts: %+v", c.Accounts)
	}
}
