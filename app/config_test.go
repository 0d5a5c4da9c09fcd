package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/ari"
)

// validConfig is the default configuration with one account, "x", made of
// the defaults: the smallest configuration that validates.
func validConfig() Config {
	c := DefaultConfig()
	c.Accounts = map[string]AccountConfig{"x": cloneAccount(c.Defaults)}
	return c
}

// joined returns the errors Validate joined, one per problem.
func joined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// namesKey reports whether one of the problems in err starts with key.
func namesKey(err error, key string) bool {
	for _, e := range joined(err) {
		if strings.HasPrefix(e.Error(), key+":") {
			return true
		}
	}
	return false
}

func TestDefaultsValidateOnceAnAccountExists(t *testing.T) {
	c := DefaultConfig()
	err := c.Validate()
	if !namesKey(err, "accounts") || len(joined(err)) != 1 {
		t.Errorf("DefaultConfig().Validate() = %v, want exactly one error naming accounts", err)
	}
	if err := validConfig().Validate(); err != nil {
		t.Errorf("defaults with one account: Validate() = %v, want nil", err)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // substrings of the error; nil: no error
		check   func(t *testing.T, c Config)
	}{
		{
			name: "empty document keeps the defaults",
			yaml: "",
			check: func(t *testing.T, c Config) {
				d := DefaultConfig()
				if c.ARI.URL != d.ARI.URL || c.HTTP.Listen != d.HTTP.Listen || c.Log.Format != d.Log.Format {
					t.Errorf("empty file changed the defaults: %+v", c)
				}
				if len(c.Accounts) != 0 {
					t.Errorf("Accounts = %v, want none", c.Accounts)
				}
			},
		},
		{
			name: "top level values override the defaults, the rest stays",
			yaml: "ari:\n  url: http://10.0.0.1:8088/ari\nlog:\n  level: debug\n",
			check: func(t *testing.T, c Config) {
				if c.ARI.URL != "http://10.0.0.1:8088/ari" || c.Log.Level != "debug" {
					t.Errorf("ari.url, log.level = %q, %q", c.ARI.URL, c.Log.Level)
				}
				if c.ARI.Username != "transferd" || c.Log.Format != "json" {
					t.Errorf("unset keys lost their defaults: ari.username %q, log.format %q", c.ARI.Username, c.Log.Format)
				}
			},
		},
		{
			name:    "unknown top level key",
			yaml:    "ari:\n  url: http://127.0.0.1:8088/ari\nlistenn: 1\n",
			wantErr: []string{"listenn"},
		},
		{
			name:    "unknown key in ari",
			yaml:    "ari:\n  usernam: bob\n",
			wantErr: []string{"usernam"},
		},
		{
			name:    "unknown key in defaults",
			yaml:    "defaults:\n  dial_templat: PJSIP/{number}\n",
			wantErr: []string{"defaults", "dial_templat"},
		},
		{
			name:    "unknown key deep in an account",
			yaml:    "accounts:\n  x:\n    metaflows:\n      numbers:\n        \"5\": {module: swap, dat: {}}\n",
			wantErr: []string{"accounts.x", "dat"},
		},
		{
			name:    "unknown key in an account's transfer options",
			yaml:    "accounts:\n  x:\n    transfer:\n      on_transferor_left: keep\n",
			wantErr: []string{"accounts.x", "on_transferor_left"},
		},
		{
			name:    "duration without a unit",
			yaml:    "accounts:\n  x:\n    dial_timeout: 5\n",
			wantErr: []string{"accounts.x", "time.Duration"},
		},
		{
			name: "durations, maps and the metaflow shape",
			yaml: `
defaults:
  dial_timeout: 30s
  variables: {SITE: berlin}
  metaflows:
    digit_timeout: 1500ms
    numbers:
      "5": {module: swap}
    patterns:
      '2(\d+)': {module: transfer, data: {takeback_dtmf: "*1", moh: jazz}}
accounts:
  x: {}
`,
			check: func(t *testing.T, c Config) {
				x := c.Accounts["x"]
				if x.DialTimeout != 30*time.Second || x.Metaflows.DigitTimeout != 1500*time.Millisecond {
					t.Errorf("dial_timeout, digit_timeout = %s, %s, want 30s, 1.5s", x.DialTimeout, x.Metaflows.DigitTimeout)
				}
				if x.Variables["SITE"] != "berlin" {
					t.Errorf("variables = %v, want SITE=berlin", x.Variables)
				}
				// Numbers and patterns merge into the defaults key by key.
				if x.Metaflows.Numbers["5"].Module != "swap" || x.Metaflows.Numbers["0"].Module != "cancel" {
					t.Errorf("numbers = %v, want the defaults plus 5: swap", x.Metaflows.Numbers)
				}
				got := x.Metaflows.Patterns[`2(\d+)`]
				if got.Module != "transfer" || got.Data["moh"] != "jazz" || got.Data["takeback_dtmf"] != "*1" {
					t.Errorf(`patterns["2(\d+)"] = %+v`, got)
				}
				if x.Metaflows.Patterns[`7(\d+)`].Module != "blind_transfer" {
					t.Errorf("default pattern 7(\\d+) lost: %v", x.Metaflows.Patterns)
				}
			},
		},
		{
			name: "accounts inherit defaults written after them",
			yaml: "accounts:\n  x: {}\ndefaults:\n  dial_template: Local/{number}@phones\n",
			check: func(t *testing.T, c Config) {
				if got := c.Accounts["x"].DialTemplate; got != "Local/{number}@phones" {
					t.Errorf("accounts.x.dial_template = %q, want the defaults' Local/{number}@phones", got)
				}
			},
		},
		{
			name: "an empty account is the defaults",
			yaml: "accounts:\n  x: null\n",
			check: func(t *testing.T, c Config) {
				if got := c.Accounts["x"].DialTemplate; got != "PJSIP/{number}" {
					t.Errorf("accounts.x.dial_template = %q, want PJSIP/{number}", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.yaml), DefaultConfig())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseConfig() error = %v, want nil", err)
				}
			} else {
				if err == nil {
					t.Fatalf("ParseConfig() error = nil, want one naming %q", tt.wantErr)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("ParseConfig() error = %q, want it to name %q", err, s)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestAccountsOverrideDefaults(t *testing.T) {
	const file = `
defaults:
  dial_template: PJSIP/{number}
  variables: {SITE: berlin}
  transfer:
    no_answer_timeout: 20s
    moh: default
accounts:
  a:
    dial_template: Local/{number}@a
    transfer:
      moh: jazz
  b:
    variables: {TEAM: support}
    metaflows:
      listen_on: caller
      numbers:
        "5": {module: complete}
`
	c, err := ParseConfig([]byte(file), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	a, b := c.Accounts["a"], c.Accounts["b"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"a.dial_template (own)", a.DialTemplate, "Local/{number}@a"},
		{"b.dial_template (defaults)", b.DialTemplate, "PJSIP/{number}"},
		{"a.transfer.moh (own)", a.Transfer.MOH, "jazz"},
		{"b.transfer.moh (defaults)", b.Transfer.MOH, "default"},
		{"a.transfer.no_answer_timeout (defaults, beside an own key)", a.Transfer.NoAnswerTimeout, 20 * time.Second},
		{"a.transfer.callback_retries (built-in default)", a.Transfer.CallbackRetries, 2},
		{"a.metaflows.listen_on (built-in default)", a.Metaflows.ListenOn, "both"},
		{"b.metaflows.listen_on (own)", b.Metaflows.ListenOn, "caller"},
		{"b.variables.SITE (defaults)", b.Variables["SITE"], "berlin"},
		{"b.variables.TEAM (own)", b.Variables["TEAM"], "support"},
		{"a.variables.TEAM (b's only)", a.Variables["TEAM"], ""},
		{"b.numbers.5 (own)", b.Metaflows.Numbers["5"].Module, "complete"},
		{"a.numbers.5 (b's only)", a.Metaflows.Numbers["5"].Module, ""},
		{"defaults.numbers.5 (b's only)", c.Defaults.Metaflows.Numbers["5"].Module, ""},
		{"defaults.variables.TEAM (b's only)", c.Defaults.Variables["TEAM"], ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	// Accounts never share maps, with each other or with the defaults.
	a.Variables["SITE"] = "paris"
	a.Metaflows.Numbers["0"] = featurecode.Action{Module: "swap"}
	a.Metaflows.Patterns[`2(\d+)`].Data["moh"] = "changed"
	a.Tokens = append(a.Tokens, "t")
	if b.Variables["SITE"] != "berlin" || c.Defaults.Variables["SITE"] != "berlin" {
		t.Errorf("changing a's variables changed b's (%v) or the defaults' (%v)", b.Variables, c.Defaults.Variables)
	}
	if b.Metaflows.Numbers["0"].Module != "cancel" || c.Defaults.Metaflows.Numbers["0"].Module != "cancel" {
		t.Errorf("changing a's numbers changed b's or the defaults'")
	}
	if b.Metaflows.Patterns[`2(\d+)`].Data["moh"] == "changed" || c.Defaults.Metaflows.Patterns[`2(\d+)`].Data["moh"] == "changed" {
		t.Errorf("changing a's pattern data changed b's or the defaults'")
	}
	if len(b.Tokens) != 0 {
		t.Errorf("b.tokens = %v, want none", b.Tokens)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		key    string // the key the error must start with
		mutate func(c *Config)
	}{
		{"ari.url", func(c *Config) { c.ARI.URL = "" }},
		{"ari.url", func(c *Config) { c.ARI.URL = "ftp://127.0.0.1/ari" }},
		{"ari.url", func(c *Config) { c.ARI.URL = "127.0.0.1:8088" }},
		{"ari.url", func(c *Config) { c.ARI.URL = "http:///ari" }},
		{"ari.username", func(c *Config) { c.ARI.Username = "" }},
		{"ari.app", func(c *Config) { c.ARI.App = "" }},
		{"ari.app", func(c *Config) { c.ARI.App = "a,b" }},
		{"ari.app", func(c *Config) { c.ARI.App = "a b" }},
		{"http.listen", func(c *Config) { c.HTTP.Listen = "8090" }},
		{"log.level", func(c *Config) { c.Log.Level = "verbose" }},
		{"log.format", func(c *Config) { c.Log.Format = "text" }},
		{"accounts", func(c *Config) { c.Accounts = nil }},
		{"accounts.x.dial_template", func(c *Config) { acct(c).DialTemplate = "PJSIP/2600" }},
		{"accounts.x.dial_template", func(c *Config) { acct(c).DialTemplate = "{number}" }},
		{"accounts.x.dial_template", func(c *Config) { acct(c).DialTemplate = "" }},
		{"accounts.x.dial_timeout", func(c *Config) { acct(c).DialTimeout = 0 }},
		{"accounts.x.availability_device", func(c *Config) { acct(c).AvailabilityDevice = "PJSIP/alice" }},
		{"accounts.x.metaflows.digit_timeout", func(c *Config) { acct(c).Metaflows.DigitTimeout = 0 }},
		{"accounts.x.metaflows.listen_on", func(c *Config) { acct(c).Metaflows.ListenOn = "everyone" }},
		{"accounts.x.metaflows.listen_on", func(c *Config) { acct(c).Metaflows.ListenOn = "" }},
		{"accounts.x.metaflows", func(c *Config) { acct(c).Metaflows.BindingKey = "**" }},
		{"accounts.x.metaflows", func(c *Config) {
			acct(c).Metaflows.Numbers["5"] = featurecode.Action{Module: "park"}
		}},
		{"accounts.x.metaflows", func(c *Config) {
			acct(c).Metaflows.Patterns[`8(\d+`] = featurecode.Action{Module: "transfer"}
		}},
		{"accounts.x.metaflows", func(c *Config) {
			// 21 is also matched by 2(\d+): ambiguous.
			acct(c).Metaflows.Numbers["21"] = featurecode.Action{Module: "swap"}
		}},
		{"accounts.x.metaflows", func(c *Config) {
			acct(c).Metaflows.Patterns[`2(\d+)`] = featurecode.Action{Module: "transfer", Data: map[string]string{"takeback_dtmf": "#1"}}
		}},
		{"accounts.x.transfer.no_answer_timeout", func(c *Config) { acct(c).Transfer.NoAnswerTimeout = 0 }},
		{"accounts.x.transfer.loop_delay", func(c *Config) { acct(c).Transfer.LoopDelay = -time.Second }},
		{"accounts.x.transfer.callback_retries", func(c *Config) { acct(c).Transfer.CallbackRetries = -1 }},
		{"accounts.x.transfer.moh", func(c *Config) { acct(c).Transfer.MOH = "" }},
		{"accounts.x.transfer.ringback", func(c *Config) { acct(c).Transfer.Ringback = "" }},
		{"accounts.x.transfer.on_transferee_left", func(c *Config) { acct(c).Transfer.OnTransfereeLeft = "drop" }},
		{"accounts.x.transfer.on_transferee_left", func(c *Config) { acct(c).Transfer.OnTransfereeLeft = "" }},
		{"accounts.x.transfer.fallback.kind", func(c *Config) { acct(c).Transfer.Fallback.Kind = "voicemail" }},
		{"accounts.x.transfer.fallback.number", func(c *Config) {
			acct(c).Transfer.Fallback = FallbackConfig{Kind: "dial"}
		}},
		{"accounts.x.transfer.fallback.number", func(c *Config) {
			acct(c).Transfer.Fallback = FallbackConfig{Kind: "dial", Number: "0/1"}
		}},
	}
	for _, tt := range tests {
		c := validConfig()
		tt.mutate(&c)
		err := c.Validate()
		if !namesKey(err, tt.key) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", tt.key, err, tt.key)
			continue
		}
		if n := len(joined(err)); n != 1 {
			t.Errorf("%s: Validate() reported %d problems, want 1: %v", tt.key, n, err)
		}
	}
}

// acct returns account x of c for changing in place.
func acct(c *Config) *AccountConfig {
	a := c.Accounts["x"]
	c.Accounts["x"] = a // keep the map entry: a's maps are shared with it
	return &accountRef{c: c}.ptr()
}

// accountRef lets the table above change the account stored in the map: a
// map value is not addressable, so ptr copies it out and writes it back
// after the mutation through a finalizer-free trick: the mutations above
// only run through the pointer, then Validate reads the map again.
type accountRef struct{ c *Config }

func (r accountRef) ptr() *AccountConfig {
	a := r.c.Accounts["x"]
	p := &a
	r.c.pending = p
	return p
}
