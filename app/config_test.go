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
		if strings.HasPrefix(e.Error(), key+":") || strings.HasPrefix(e.Error(), key+" (") {
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
			wantErr: []string{"accounts.x.dial_timeout (line 3)", "bare number 5"},
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
	// Each row breaks one thing in a valid configuration: c is the
	// configuration, x its account "x".
	tests := []struct {
		key    string // the key the error must start with
		mutate func(c *Config, x *AccountConfig)
	}{
		{"ari.url", func(c *Config, x *AccountConfig) { c.ARI.URL = "" }},
		{"ari.url", func(c *Config, x *AccountConfig) { c.ARI.URL = "ftp://127.0.0.1/ari" }},
		{"ari.url", func(c *Config, x *AccountConfig) { c.ARI.URL = "127.0.0.1:8088" }},
		{"ari.url", func(c *Config, x *AccountConfig) { c.ARI.URL = "http:///ari" }},
		{"ari.username", func(c *Config, x *AccountConfig) { c.ARI.Username = "" }},
		{"ari.app", func(c *Config, x *AccountConfig) { c.ARI.App = "" }},
		{"ari.app", func(c *Config, x *AccountConfig) { c.ARI.App = "a,b" }},
		{"ari.app", func(c *Config, x *AccountConfig) { c.ARI.App = "a b" }},
		{"http.listen", func(c *Config, x *AccountConfig) { c.HTTP.Listen = "8090" }},
		{"http.read_header_timeout", func(c *Config, x *AccountConfig) { c.HTTP.ReadHeaderTimeout = 0 }},
		{"http.read_timeout", func(c *Config, x *AccountConfig) { c.HTTP.ReadTimeout = 2 * time.Hour }},
		{"http.read_timeout", func(c *Config, x *AccountConfig) { c.HTTP.ReadTimeout = time.Second }},
		{"http.write_timeout", func(c *Config, x *AccountConfig) { c.HTTP.WriteTimeout = time.Millisecond }},
		{"http.idle_timeout", func(c *Config, x *AccountConfig) { c.HTTP.IdleTimeout = -time.Second }},
		{"http.max_header_bytes", func(c *Config, x *AccountConfig) { c.HTTP.MaxHeaderBytes = 100 }},
		{"http.max_connections", func(c *Config, x *AccountConfig) { c.HTTP.MaxConnections = 0 }},
		{"log.level", func(c *Config, x *AccountConfig) { c.Log.Level = "verbose" }},
		{"log.format", func(c *Config, x *AccountConfig) { c.Log.Format = "text" }},
		{"nats.replicas", func(c *Config, x *AccountConfig) { c.NATS.Replicas = 0 }},
		{"nats.replicas", func(c *Config, x *AccountConfig) { c.NATS.Replicas = 6 }},
		{"nats.replicas", func(c *Config, x *AccountConfig) { c.NATS.Embedded, c.NATS.Replicas = true, 3 }},
		{"nats.url", func(c *Config, x *AccountConfig) { c.NATS.URL = "nats://a:4222,b:4222" }},
		{"accounts", func(c *Config, x *AccountConfig) { c.Accounts = nil }},
		{"accounts.x.dial_template", func(c *Config, x *AccountConfig) { x.DialTemplate = "PJSIP/2600" }},
		{"accounts.x.dial_template", func(c *Config, x *AccountConfig) { x.DialTemplate = "{number}" }},
		{"accounts.x.dial_template", func(c *Config, x *AccountConfig) { x.DialTemplate = "" }},
		{"accounts.x.dial_timeout", func(c *Config, x *AccountConfig) { x.DialTimeout = 0 }},
		{"accounts.x.availability_device", func(c *Config, x *AccountConfig) { x.AvailabilityDevice = "PJSIP/alice" }},
		{"accounts.x.metaflows.digit_timeout", func(c *Config, x *AccountConfig) { x.Metaflows.DigitTimeout = 0 }},
		{"accounts.x.metaflows.listen_on", func(c *Config, x *AccountConfig) { x.Metaflows.ListenOn = "everyone" }},
		{"accounts.x.metaflows.listen_on", func(c *Config, x *AccountConfig) { x.Metaflows.ListenOn = "" }},
		{"accounts.x.metaflows", func(c *Config, x *AccountConfig) { x.Metaflows.BindingKey = "**" }},
		{"accounts.x.metaflows", func(c *Config, x *AccountConfig) {
			x.Metaflows.Numbers["5"] = featurecode.Action{Module: "park"}
		}},
		{"accounts.x.metaflows", func(c *Config, x *AccountConfig) {
			x.Metaflows.Patterns[`8(\d+`] = featurecode.Action{Module: "transfer"}
		}},
		{"accounts.x.metaflows", func(c *Config, x *AccountConfig) {
			// 21 is also matched by 2(\d+): the code would be ambiguous.
			x.Metaflows.Numbers["21"] = featurecode.Action{Module: "swap"}
		}},
		{"accounts.x.metaflows", func(c *Config, x *AccountConfig) {
			x.Metaflows.Patterns[`2(\d+)`] = featurecode.Action{Module: "transfer", Data: map[string]string{"takeback_dtmf": "#1"}}
		}},
		// A data key transferd does not read would be ignored, a timeout it
		// cannot read would fail every transfer the code starts.
		{"accounts.x.metaflows.patterns.'7(\\d+)'.data.mho", func(c *Config, x *AccountConfig) {
			x.Metaflows.Patterns[`7(\d+)`] = featurecode.Action{Module: "blind_transfer", Data: map[string]string{"mho": "default"}}
		}},
		{"accounts.x.metaflows.patterns.'7(\\d+)'.data.no_answer_timeout", func(c *Config, x *AccountConfig) {
			x.Metaflows.Patterns[`7(\d+)`] = featurecode.Action{Module: "blind_transfer", Data: map[string]string{"no_answer_timeout": "abc"}}
		}},
		{"accounts.x.transfer.no_answer_timeout", func(c *Config, x *AccountConfig) { x.Transfer.NoAnswerTimeout = 0 }},
		{"accounts.x.transfer.loop_delay", func(c *Config, x *AccountConfig) { x.Transfer.LoopDelay = -time.Second }},
		{"accounts.x.transfer.callback_retries", func(c *Config, x *AccountConfig) { x.Transfer.CallbackRetries = -1 }},
		{"accounts.x.transfer.moh", func(c *Config, x *AccountConfig) { x.Transfer.MOH = "" }},
		{"accounts.x.transfer.ringback", func(c *Config, x *AccountConfig) { x.Transfer.Ringback = "" }},
		{"accounts.x.transfer.on_transferee_left", func(c *Config, x *AccountConfig) { x.Transfer.OnTransfereeLeft = "drop" }},
		{"accounts.x.transfer.on_transferee_left", func(c *Config, x *AccountConfig) { x.Transfer.OnTransfereeLeft = "" }},
		{"accounts.x.transfer.fallback.kind", func(c *Config, x *AccountConfig) { x.Transfer.Fallback.Kind = "voicemail" }},
		{"accounts.x.transfer.fallback.number", func(c *Config, x *AccountConfig) {
			x.Transfer.Fallback = FallbackConfig{Kind: "dial"}
		}},
		{"accounts.x.transfer.fallback.number", func(c *Config, x *AccountConfig) {
			x.Transfer.Fallback = FallbackConfig{Kind: "dial", Number: "0/1"}
		}},
	}
	for _, tt := range tests {
		c := validConfig()
		x := c.Accounts["x"]
		tt.mutate(&c, &x)
		if c.Accounts != nil {
			c.Accounts["x"] = x
		}
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

func TestValidateAcceptsValidVariants(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config, x *AccountConfig)
	}{
		{"https ARI", func(c *Config, x *AccountConfig) { c.ARI.URL = "https://pbx.example.com/ari" }},
		{"HTTP server disabled", func(c *Config, x *AccountConfig) { c.HTTP.Listen = "" }},
		{"console logs", func(c *Config, x *AccountConfig) { c.Log.Format = "console" }},
		{"a NATS cluster with replicated buckets", func(c *Config, x *AccountConfig) {
			c.NATS.URL, c.NATS.Replicas = "nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222", 3
		}},
		{"Local dial template", func(c *Config, x *AccountConfig) { x.DialTemplate = "Local/{number}@transferd-demo/n" }},
		{"availability device", func(c *Config, x *AccountConfig) { x.AvailabilityDevice = "PJSIP/{number}" }},
		{"listen on the caller", func(c *Config, x *AccountConfig) { x.Metaflows.ListenOn = "caller" }},
		{"no loop delay, no retries", func(c *Config, x *AccountConfig) {
			x.Transfer.LoopDelay, x.Transfer.CallbackRetries = 0, 0
		}},
		{"cancel the target when the transferee leaves", func(c *Config, x *AccountConfig) { x.Transfer.OnTransfereeLeft = "cancel" }},
		{"fallback to an operator", func(c *Config, x *AccountConfig) {
			x.Transfer.Fallback = FallbackConfig{Kind: "dial", Number: "100"}
		}},
		{"binding key # with its takeback", func(c *Config, x *AccountConfig) {
			x.Metaflows.BindingKey = "#"
			x.Metaflows.Patterns[`2(\d+)`] = featurecode.Action{Module: "transfer", Data: map[string]string{"takeback_dtmf": "#1"}}
		}},
	}
	for _, tt := range tests {
		c := validConfig()
		x := c.Accounts["x"]
		tt.mutate(&c, &x)
		c.Accounts["x"] = x
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.ARI.URL = "nope"
	c.Log.Level = "loud"
	x := c.Accounts["x"]
	x.DialTemplate = "PJSIP/"
	x.Transfer.OnTransfereeLeft = "drop"
	c.Accounts["x"] = x
	y := cloneAccount(c.Defaults)
	y.Transfer.Fallback = FallbackConfig{Kind: "dial"}
	c.Accounts["y"] = y

	err := c.Validate()
	want := []string{
		"ari.url", "log.level", "accounts.x.dial_template",
		"accounts.x.transfer.on_transferee_left", "accounts.y.transfer.fallback.number",
	}
	for _, key := range want {
		if !namesKey(err, key) {
			t.Errorf("Validate() = %v, want a problem naming %s", err, key)
		}
	}
	if n := len(joined(err)); n != len(want) {
		t.Errorf("Validate() reported %d problems, want %d: %v", n, len(want), err)
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"TRANSFERD_ARI_URL":      "http://10.0.0.2:8088/ari",
		"TRANSFERD_ARI_USERNAME": "ops",
		"TRANSFERD_ARI_PASSWORD": "s3cret",
		"TRANSFERD_ARI_APP":      "xfer",
		"TRANSFERD_HTTP_LISTEN":  "0.0.0.0:9000",
		"TRANSFERD_LOG_LEVEL":    "debug",
		"TRANSFERD_LOG_FORMAT":   "console",
	}
	c := DefaultConfig()
	c.ApplyEnv(func(k string) string { return env[k] })
	got := []string{c.ARI.URL, c.ARI.Username, string(c.ARI.Password), c.ARI.App, c.HTTP.Listen, c.Log.Level, c.Log.Format}
	want := []string{"http://10.0.0.2:8088/ari", "ops", "s3cret", "xfer", "0.0.0.0:9000", "debug", "console"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after ApplyEnv: field %d = %q, want %q", i, got[i], want[i])
		}
	}

	// Unset (empty) variables change nothing.
	c = DefaultConfig()
	c.ARI.Password = ari.Secret("from-file")
	c.ApplyEnv(func(string) string { return "" })
	d := DefaultConfig()
	if c.ARI.URL != d.ARI.URL || c.ARI.Username != d.ARI.Username || c.ARI.App != d.ARI.App ||
		c.HTTP.Listen != d.HTTP.Listen || c.Log.Level != d.Log.Level || c.Log.Format != d.Log.Format {
		t.Errorf("ApplyEnv with no variables changed the configuration: %+v", c)
	}
	if c.ARI.Password != "from-file" {
		t.Errorf("ApplyEnv with no variables changed ari.password")
	}
}

func TestDialString(t *testing.T) {
	a := AccountConfig{DialTemplate: "Local/{number}@phones/n"}
	good := map[string]string{
		"2600":       "Local/2600@phones/n",
		"+493012345": "Local/+493012345@phones/n",
		"*97":        "Local/*97@phones/n",
		"#1":         "Local/#1@phones/n",
		"alice":      "Local/alice@phones/n",
		"1-2_3.4":    "Local/1-2_3.4@phones/n",
	}
	for number, want := range good {
		got, err := a.DialString(number)
		if err != nil || got != want {
			t.Errorf("DialString(%q) = %q, %v, want %q, nil", number, got, err, want)
		}
	}
	bad := []string{
		"", "26/00", "2600&PJSIP/evil", "2600,30", "2600@other", "2600(x)", "26)00",
		"2600 ", "26;00", "26|00", "26$00", "26{number}", "26\n00", "26\x0000",
		strings.Repeat("1", 65),
	}
	for _, number := range bad {
		if got, err := a.DialString(number); err == nil {
			t.Errorf("DialString(%q) = %q, nil, want an error", number, got)
		}
	}
	// The longest accepted number.
	if _, err := a.DialString(strings.Repeat("1", 64)); err != nil {
		t.Errorf("DialString(64 digits) = %v, want nil", err)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "transferd.yaml")
	if err := os.WriteFile(path, []byte("accounts:\n  x:\n    dial_template: SIP/{number}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	if got := c.Accounts["x"].DialTemplate; got != "SIP/{number}" {
		t.Errorf("accounts.x.dial_template = %q, want SIP/{number}", got)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadConfig(missing) error = %v, want one wrapping os.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("ari:\n  urll: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "urll") {
		t.Errorf("LoadConfig(unknown key) error = %v, want one naming urll", err)
	}
}

// The sample configuration that `make run` uses must stay valid and keep the
// demo account the README describes.
func TestSampleConfig(t *testing.T) {
	c, err := LoadConfig(filepath.Join("..", "asterisk-conf", "transferd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("asterisk-conf/transferd.yaml: %v", err)
	}
	demo, ok := c.Accounts["demo"]
	if !ok {
		t.Fatalf("asterisk-conf/transferd.yaml has no demo account: %v", c.Accounts)
	}
	if got, _ := demo.DialString("2600"); got != "Local/2600@transferd-demo/n" {
		t.Errorf("demo dial string for 2600 = %q, want Local/2600@transferd-demo/n", got)
	}
	if _, ok := c.Accounts["default"]; !ok {
		t.Errorf("asterisk-conf/transferd.yaml has no default account")
	}
	m, err := featurecode.New(demo.matcherConfig())
	if err != nil {
		t.Fatal(err)
	}
	// *22600# is what the demo's Alice presses.
	col := m.NewCollector()
	var r featurecode.Result
	for _, d := range "*22600#" {
		r = col.Feed(string(d))
	}
	if r.Kind != featurecode.Matched || r.Action.Module != "transfer" || len(r.Args) != 1 || r.Args[0] != "2600" {
		t.Errorf("demo metaflow on *22600# = %+v, want transfer to 2600", r)
	}
}

func TestModuleNoneDisablesADefaultCode(t *testing.T) {
	cfg, err := ParseConfig([]byte("accounts:\n  a:\n    metaflows:\n      numbers:\n        \"9\": {module: none}\n"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	m, err := featurecode.New(cfg.Accounts["a"].matcherConfig())
	if err != nil {
		t.Fatal(err)
	}
	col := m.NewCollector()
	col.Feed("*")
	if r := col.Feed("9"); r.Kind == featurecode.Matched {
		t.Fatalf("*9 still matches %q after module: none", r.Action.Module)
	}
}
