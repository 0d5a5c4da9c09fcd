package app

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/app/media"
	"github.com/transferd/transferd/ari"
)

// Config is transferd's whole configuration. Precedence: the defaults below,
// then the file (decoded strictly: an unknown key is an error naming it),
// then environment variables (TRANSFERD_*), then command-line flags.
type Config struct {
	ARI  ARIConfig  `yaml:"ari"`
	HTTP HTTPConfig `yaml:"http"`
	Log  LogConfig  `yaml:"log"`
	NATS NATSConfig `yaml:"nats"`
	// DrainTimeout bounds a SIGTERM drain: live calls may finish for this
	// long, then transferd exits (behind NATS, handing them to the other
	// instances; alone, leaving them bridged in Asterisk for the next
	// start). Default 30s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Defaults apply to every account; an account's own keys override them.
	Defaults AccountConfig `yaml:"defaults"`
	// Accounts by name: the <account> argument of the Stasis() line.
	Accounts map[string]AccountConfig `yaml:"accounts"`

	// lines: where the file set each key path (ParseConfig), for
	// Validate's messages.
	lines sourceLines
}

// ARIConfig says how to reach Asterisk.
type ARIConfig struct {
	URL      string     `yaml:"url"`      // ARI base URL, default http://127.0.0.1:8088/ari
	Username string     `yaml:"username"` // ari.conf user, default transferd
	Password ari.Secret `yaml:"password"` // never logged
	App      string     `yaml:"app"`      // Stasis application name, default transferd
}

// HTTPConfig is transferd's own HTTP server (API, metrics, health) and
// its limits: what any client, authenticated or not, may hold of it.
type HTTPConfig struct {
	Listen string `yaml:"listen"` // host:port, default 127.0.0.1:8090; "" disables it
	// ReadHeaderTimeout: time to send the request line and headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout: time to send the whole request, body included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout: time to take an answer; on the event stream, each write.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout: a kept-alive connection is closed after this long idle.
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	MaxHeaderBytes int           `yaml:"max_header_bytes"`
	// MaxConnections caps open connections; more wait in the backlog.
	MaxConnections int `yaml:"max_connections"`
}

// NATSConfig puts ARI on NATS (the ari-proxy protocol) and shares calls
// among transferd instances. With no URL and no embedded server, transferd
// talks straight to Asterisk over HTTP and owns every call itself.
type NATSConfig struct {
	URL      string        `yaml:"url"`       // e.g. nats://127.0.0.1:4222
	Embedded bool          `yaml:"embedded"`  // start an embedded nats-server with JetStream (and use it)
	Listen   string        `yaml:"listen"`    // embedded server address, default 127.0.0.1:4222
	StoreDir string        `yaml:"store_dir"` // embedded JetStream storage, default a temporary directory
	LeaseTTL time.Duration `yaml:"lease_ttl"` // call ownership lease, default 6s
	Instance string        `yaml:"instance"`  // this instance's id in leases, default host-pid
	// StockServer: the proxies are CyCoreSystems' stock ari-proxy rather
	// than `transferd proxy` (create-time channel variables are then set
	// one by one after the create, which the stock server ignores).
	StockServer bool `yaml:"stock_server"`
	// Replicas is how many NATS servers keep a copy of the call snapshot
	// and lease buckets: 1 on a single server; 3 (or 5) on a cluster, so
	// calls survive the loss of a server. Default 1.
	Replicas int `yaml:"replicas"`
}

// Enabled says whether ARI goes through NATS.
func (n NATSConfig) Enabled() bool { return n.URL != "" || n.Embedded }

// LogConfig sets logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error; default info
	Format string `yaml:"format"` // json or console; default json
}

// AccountConfig is everything that may differ between accounts.
type AccountConfig struct {
	// DialTemplate turns a number into a dial string; {number} is replaced,
	// e.g. PJSIP/{number} or Local/{number}@from-internal.
	DialTemplate string `yaml:"dial_template"`
	// DialTimeout bounds how long the destination of a new call may ring.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// AvailabilityDevice is the device whose state tells whether a target can
	// be reached, e.g. PJSIP/{number}; empty: no device check.
	AvailabilityDevice string `yaml:"availability_device"`
	// Variables are set on every leg transferd dials for this account.
	Variables map[string]string `yaml:"variables"`
	// ReferHandling says who handles a SIP phone's own Transfer key (REFER):
	// "ari-only" (default): transferd, which sets PJSIP_TRANSFER_HANDLING
	// on every PJSIP leg of the account's calls; "core": Asterisk, as the
	// dialplan or endpoint left it (transferd follows the replacement
	// channels). See app/refer.go.
	ReferHandling string `yaml:"refer_handling"`
	// Tokens are API tokens for this account, each "sha256:<hex>" (preferred)
	// or plain text.
	Tokens []ari.Secret `yaml:"tokens"`
	// MediaAllow lists the media this account may play beyond
	// tone:<indication> and sound:<plain name> (package media): a scheme
	// such as "recording:" (its plain names), or one exact media URI such
	// as "sound:/srv/sounds/welcome". It applies to the transfer sounds,
	// the metaflow data and the API's ringback alike.
	MediaAllow []string       `yaml:"media_allow"`
	Metaflows  MetaflowConfig `yaml:"metaflows"`
	Transfer   TransferConfig `yaml:"transfer"`
	Billing    BillingConfig  `yaml:"billing"`
}

// MetaflowConfig is Kazoo's metaflow shape: how feature codes are typed.
type MetaflowConfig struct {
	BindingKey   string                        `yaml:"binding_key"`
	DigitTimeout time.Duration                 `yaml:"digit_timeout"` // inter-digit timeout
	ListenOn     string                        `yaml:"listen_on"`     // both, caller or callee
	Numbers      map[string]featurecode.Action `yaml:"numbers"`
	Patterns     map[string]featurecode.Action `yaml:"patterns"`
}

// TransferConfig holds the transfer options; a transfer pattern's data
// (moh, ringback, no_answer_timeout, ...) overrides them per code.
type TransferConfig struct {
	NoAnswerTimeout   time.Duration  `yaml:"no_answer_timeout"`  // Asterisk atxfernoanswertimeout
	LoopDelay         time.Duration  `yaml:"loop_delay"`         // atxferloopdelay
	CallbackRetries   int            `yaml:"callback_retries"`   // atxfercallbackretries
	MOH               string         `yaml:"moh"`                // class for the transferee on hold
	Ringback          string         `yaml:"ringback"`           // media played while a leg rings
	DialTone          string         `yaml:"dial_tone"`          // to the transferor while she types the number; "" none
	FailSound         string         `yaml:"fail_sound"`         // to the transferor on failure; "" none
	CompleteSound     string         `yaml:"complete_sound"`     // reserved: confirmation tone
	OnTransfereeLeft  string         `yaml:"on_transferee_left"` // keep or cancel the ringing target
	CheckAvailability bool           `yaml:"check_availability"` // device check before ringing
	Fallback          FallbackConfig `yaml:"fallback"`
}

// FallbackConfig is what happens to the transferee when a partial transfer
// failed and the transferor could not be called back.
type FallbackConfig struct {
	Kind   string `yaml:"kind"`   // hangup (after Sound) or dial (Number)
	Number string `yaml:"number"` // for dial
	Sound  string `yaml:"sound"`  // played before hanging up
}

// DefaultConfig is the configuration before any file is read.
func DefaultConfig() Config {
	fc := featurecode.Default()
	return Config{
		ARI: ARIConfig{URL: "http://127.0.0.1:8088/ari", Username: "transferd", App: "transferd"},
		HTTP: HTTPConfig{Listen: "127.0.0.1:8090",
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10, MaxConnections: 256},
		Log:          LogConfig{Level: "info", Format: "json"},
		NATS:         NATSConfig{Listen: "127.0.0.1:4222", LeaseTTL: 6 * time.Second, Replicas: 1},
		DrainTimeout: 30 * time.Second,
		Defaults: AccountConfig{
			DialTemplate:  "PJSIP/{number}",
			DialTimeout:   60 * time.Second,
			ReferHandling: ReferARIOnly,
			Metaflows: MetaflowConfig{
				BindingKey:   fc.BindingKey,
				DigitTimeout: 3 * time.Second,
				ListenOn:     "both",
				Numbers:      fc.Numbers,
				Patterns:     fc.Patterns,
			},
			Transfer: TransferConfig{
				NoAnswerTimeout:  15 * time.Second,
				LoopDelay:        10 * time.Second,
				CallbackRetries:  2,
				MOH:              "default",
				Ringback:         "tone:ring",
				DialTone:         "tone:dial",
				FailSound:        "sound:beeperr",
				OnTransfereeLeft: "keep",
				Fallback:         FallbackConfig{Kind: "hangup", Sound: "sound:vm-goodbye"},
			},
			Billing: BillingConfig{CELContext: DefaultCELContext},
		},
	}
}

// LoadConfig reads a YAML file over the defaults. Accounts start from the
// defaults section and override what they set.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(b, cfg)
}

// ParseConfig decodes YAML over base. A file that is not YAML is an
// error on its own; otherwise every unknown key and every value of the
// wrong type is reported, as *FileProblems naming the key path and line,
// and the configuration returned holds everything else the file sets (so
// Validate can report its problems too).
func ParseConfig(b []byte, base Config) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return base, fmt.Errorf("config: %w", err)
	}
	if len(doc.Content) == 0 {
		return base, nil // an empty file: everything stays at its default
	}
	root := doc.Content[0]
	lines := sourceLines{}
	var probs []error
	checkNode(root, reflect.TypeOf(Config{}), "", lines, &probs)
	if len(probs) > 0 && root.Kind != yaml.MappingNode {
		return base, asFileProblems(probs)
	}

	// Every section is decoded over base (defaults included, merged into
	// the built-in defaults); then each account is decoded again over a
	// copy of the defaults as the file (anywhere in it) sets them. Values
	// of the wrong type were reported above; yaml.v3 leaves them at what
	// they were and decodes the rest.
	decodeErr := root.Decode(&base)
	var raw struct {
		Accounts map[string]yaml.Node `yaml:"accounts"`
	}
	if err := root.Decode(&raw); err != nil && decodeErr == nil {
		decodeErr = err
	}
	base.Accounts = map[string]AccountConfig{}
	for name, node := range raw.Accounts {
		acct := cloneAccount(base.Defaults)
		if err := node.Decode(&acct); err != nil && decodeErr == nil {
			decodeErr = err
		}
		base.Accounts[name] = acct
	}
	if decodeErr != nil && len(probs) == 0 {
		// The check above missed something yaml.v3 refused: report it as
		// yaml.v3 says it rather than lose it.
		probs = append(probs, fmt.Errorf("config: %w", decodeErr))
	}
	base.lines = lines
	return base, asFileProblems(probs)
}

// cloneAccount copies maps so accounts never share (and mutate) the
// defaults' maps.
func cloneAccount(a AccountConfig) AccountConfig {
	c := a
	c.Variables = cloneMap(a.Variables)
	c.Tokens = append([]ari.Secret(nil), a.Tokens...)
	c.MediaAllow = append([]string(nil), a.MediaAllow...)
	c.Metaflows.Numbers = cloneActions(a.Metaflows.Numbers)
	c.Metaflows.Patterns = cloneActions(a.Metaflows.Patterns)
	return c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneActions(m map[string]featurecode.Action) map[string]featurecode.Action {
	if m == nil {
		return nil
	}
	out := make(map[string]featurecode.Action, len(m))
	for k, v := range m {
		v.Data = cloneMap(v.Data)
		out[k] = v
	}
	return out
}

// ApplyEnv overrides the configuration from TRANSFERD_* variables.
func (c *Config) ApplyEnv(getenv func(string) string) {
	set := func(dst *string, env, key string) {
		if v := getenv(env); v != "" {
			*dst = v
			c.ForgetLine(key)
		}
	}
	set(&c.ARI.URL, "TRANSFERD_ARI_URL", "ari.url")
	set(&c.ARI.Username, "TRANSFERD_ARI_USERNAME", "ari.username")
	if v := getenv("TRANSFERD_ARI_PASSWORD"); v != "" {
		c.ARI.Password = ari.Secret(v)
	}
	set(&c.ARI.App, "TRANSFERD_ARI_APP", "ari.app")
	set(&c.HTTP.Listen, "TRANSFERD_HTTP_LISTEN", "http.listen")
	set(&c.Log.Level, "TRANSFERD_LOG_LEVEL", "log.level")
	set(&c.Log.Format, "TRANSFERD_LOG_FORMAT", "log.format")
	set(&c.NATS.URL, "TRANSFERD_NATS_URL", "nats.url")
	set(&c.NATS.Instance, "TRANSFERD_INSTANCE", "nats.instance")
}

// Validate reports every problem at once, each naming its key (and the
// line of the file that set it, when one did).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", key, c.lines.lineNote(key), fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.ARI.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("ari.url", "must be an http(s) URL such as http://127.0.0.1:8088/ari, got %q", c.ARI.URL)
	}
	if c.ARI.Username == "" {
		bad("ari.username", "must not be empty")
	}
	if c.ARI.App == "" || strings.ContainsAny(c.ARI.App, ",/ ") {
		bad("ari.app", "must be a non-empty name without commas, slashes or spaces, got %q", c.ARI.App)
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			bad("http.listen", "must be host:port, got %q", c.HTTP.Listen)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"http.read_header_timeout", c.HTTP.ReadHeaderTimeout}, {"http.read_timeout", c.HTTP.ReadTimeout},
		{"http.write_timeout", c.HTTP.WriteTimeout}, {"http.idle_timeout", c.HTTP.IdleTimeout},
	} {
		if d.v < 100*time.Millisecond || d.v > time.Hour {
			bad(d.key, "must be between 100ms and 1h, got %s", d.v)
		}
	}
	if c.HTTP.ReadTimeout < c.HTTP.ReadHeaderTimeout {
		bad("http.read_timeout", "must be at least http.read_header_timeout (%s): it bounds the whole request, got %s", c.HTTP.ReadHeaderTimeout, c.HTTP.ReadTimeout)
	}
	if c.HTTP.MaxHeaderBytes < 4<<10 || c.HTTP.MaxHeaderBytes > 1<<20 {
		bad("http.max_header_bytes", "must be between 4096 and 1048576, got %d", c.HTTP.MaxHeaderBytes)
	}
	if c.HTTP.MaxConnections < 1 || c.HTTP.MaxConnections > 100000 {
		bad("http.max_connections", "must be between 1 and 100000, got %d", c.HTTP.MaxConnections)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		bad("log.format", "must be json or console, got %q", c.Log.Format)
	}
	if c.NATS.URL != "" {
		// A cluster is given as a comma-separated list of its servers.
		for _, one := range strings.Split(c.NATS.URL, ",") {
			if u, err := url.Parse(strings.TrimSpace(one)); err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
				bad("nats.url", "must be a NATS URL such as nats://127.0.0.1:4222, or a comma-separated list of them, got %q", c.NATS.URL)
				break
			}
		}
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		bad("nats.replicas", "must be 1 to 5 (JetStream keeps at most 5 copies), got %d", c.NATS.Replicas)
	} else if c.NATS.Embedded && c.NATS.Replicas > 1 {
		bad("nats.replicas", "the embedded nats-server is a single server and keeps 1 copy, got %d; run a NATS cluster for more", c.NATS.Replicas)
	}
	if c.NATS.Embedded {
		if _, _, err := net.SplitHostPort(c.NATS.Listen); err != nil {
			bad("nats.listen", "must be host:port, got %q", c.NATS.Listen)
		}
	}
	if c.DrainTimeout < 0 || c.DrainTimeout > 24*time.Hour {
		bad("drain_timeout", "must be between 0s and 24h, got %s", c.DrainTimeout)
	}
	if c.NATS.LeaseTTL < time.Second {
		bad("nats.lease_ttl", "must be at least 1s, got %s", c.NATS.LeaseTTL)
	}
	if len(c.Accounts) == 0 {
		bad("accounts", "at least one account is needed: the <account> argument of Stasis()")
	}
	names := make([]string, 0, len(c.Accounts))
	for name := range c.Accounts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		errs = append(errs, c.Accounts[name].validate("accounts."+yamlKey(name), c.lines)...)
	}
	return errors.Join(errs...)
}

func (a AccountConfig) validate(prefix string, lines sourceLines) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		key = prefix + "." + key
		errs = append(errs, fmt.Errorf("%s%s: %s", key, lines.lineNote(key), fmt.Sprintf(format, args...)))
	}
	if !strings.Contains(a.DialTemplate, "{number}") || !strings.Contains(a.DialTemplate, "/") {
		bad("dial_template", "must be a dial string containing {number}, such as PJSIP/{number}, got %q", a.DialTemplate)
	}
	if a.DialTimeout <= 0 {
		bad("dial_timeout", "must be > 0, got %s", a.DialTimeout)
	}
	if a.ReferHandling != ReferARIOnly && a.ReferHandling != ReferCore {
		bad("refer_handling", "must be %s or %s, got %q", ReferARIOnly, ReferCore, a.ReferHandling)
	}
	if a.AvailabilityDevice != "" && !strings.Contains(a.AvailabilityDevice, "{number}") {
		bad("availability_device", "must contain {number}, got %q", a.AvailabilityDevice)
	}
	m := a.Metaflows
	if m.DigitTimeout <= 0 {
		bad("metaflows.digit_timeout", "must be > 0, got %s", m.DigitTimeout)
	}
	switch m.ListenOn {
	case "both", "caller", "callee":
	default:
		bad("metaflows.listen_on", "must be both, caller or callee, got %q", m.ListenOn)
	}
	if _, err := featurecode.New(a.matcherConfig()); err != nil {
		bad("metaflows", "%v", err)
	}
	errs = append(errs, a.Billing.validate(prefix)...)
	t := a.Transfer
	if t.NoAnswerTimeout <= 0 {
		bad("transfer.no_answer_timeout", "must be > 0, got %s", t.NoAnswerTimeout)
	}
	if t.LoopDelay < 0 {
		bad("transfer.loop_delay", "must be >= 0, got %s", t.LoopDelay)
	}
	if t.CallbackRetries < 0 {
		bad("transfer.callback_retries", "must be >= 0, got %d", t.CallbackRetries)
	}
	for i, entry := range a.MediaAllow {
		if err := media.CheckAllow(entry); err != nil {
			bad(fmt.Sprintf("media_allow[%d]", i), "%v", err)
		}
	}
	if !media.ValidClass(t.MOH) {
		bad("transfer.moh", "must be %s, e.g. default; got %q", media.ClassRule, t.MOH)
	}
	if t.Ringback == "" {
		bad("transfer.ringback", "must be a media URI such as tone:ring")
	}
	// Every media value goes through the one rule of package media.
	for _, f := range []struct{ key, v string }{
		{"transfer.ringback", t.Ringback}, {"transfer.dial_tone", t.DialTone}, {"transfer.fail_sound", t.FailSound},
		{"transfer.complete_sound", t.CompleteSound}, {"transfer.fallback.sound", t.Fallback.Sound},
	} {
		if f.v != "" {
			if err := media.Check(f.v, a.MediaAllow); err != nil {
				bad(f.key, "%v", err)
			}
		}
	}
	for _, kind := range []string{"numbers", "patterns"} {
		codes := m.Numbers
		if kind == "patterns" {
			codes = m.Patterns
		}
		for _, code := range slices.Sorted(maps.Keys(codes)) {
			data := codes[code].Data
			where := fmt.Sprintf("metaflows.%s.%s.data", kind, yamlKey(code))
			// A key transferd does not read, or a timeout it cannot, would
			// otherwise surface only when a transfer is started by the code
			// (ignored, or failing every time).
			for _, k := range slices.Sorted(maps.Keys(data)) {
				if !slices.Contains(featurecode.DataKeys, k) {
					bad(where+"."+yamlKey(k), "unknown key (want one of %s)", strings.Join(featurecode.DataKeys, ", "))
				}
			}
			if v, ok := data[featurecode.NoAnswerTimeoutData]; ok {
				if _, err := parseSeconds(v); err != nil {
					bad(where+"."+featurecode.NoAnswerTimeoutData, "%v", err)
				}
			}
			if v, ok := data[featurecode.RingbackData]; ok && v != "" {
				if err := media.Check(v, a.MediaAllow); err != nil {
					bad(where+"."+featurecode.RingbackData, "%v", err)
				}
			}
			if v, ok := data[featurecode.MOHData]; ok && v != "" && !media.ValidClass(v) {
				bad(where+"."+featurecode.MOHData, "must be %s, got %q", media.ClassRule, v)
			}
		}
	}
	switch t.OnTransfereeLeft {
	case "keep", "cancel":
	default:
		bad("transfer.on_transferee_left", "must be keep or cancel, got %q", t.OnTransfereeLeft)
	}
	switch t.Fallback.Kind {
	case "hangup":
	case "dial":
		if !ValidNumber(t.Fallback.Number) {
			bad("transfer.fallback.number", "must be a number to dial when kind is dial, got %q", t.Fallback.Number)
		}
	default:
		bad("transfer.fallback.kind", "must be hangup or dial, got %q", t.Fallback.Kind)
	}
	return errs
}

// yamlKey shows a map key in a key path: as written when it is a plain
// word, else quoted as YAML would ("'2(\d+)'").
func yamlKey(k string) string {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return "'" + strings.ReplaceAll(k, "'", "''") + "'"
		}
	}
	if k == "" {
		return "''"
	}
	return k
}

// ModuleNone disables a code inherited from the defaults: an account sets
// e.g. numbers: {"9": {module: none}} (YAML cannot delete a map key).
const ModuleNone = "none"

func (a AccountConfig) matcherConfig() featurecode.Config {
	keep := func(m map[string]featurecode.Action) map[string]featurecode.Action {
		out := make(map[string]featurecode.Action, len(m))
		for k, v := range m {
			if v.Module != ModuleNone {
				out[k] = v
			}
		}
		return out
	}
	return featurecode.Config{BindingKey: a.Metaflows.BindingKey, Numbers: keep(a.Metaflows.Numbers), Patterns: keep(a.Metaflows.Patterns)}
}

// ValidNumber is transferd's one rule for what may be put into a dial
// string (destinations, transfer targets from codes and the HTTP API,
// fallback numbers): 1 to 64 digits, letters and + * # - _ . Anything else
// (a slash, '&', ',', '@' or '(') could change what the dial string means.
func ValidNumber(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r == '+' || r == '*' || r == '#' || r == '-' || r == '_' || r == '.':
		default:
			return false
		}
	}
	return true
}

// DialString applies the account's dial template to a number.
func (a AccountConfig) DialString(number string) (string, error) {
	if !ValidNumber(number) {
		return "", fmt.Errorf("invalid number %q: only digits, letters and + * # - _ . are allowed", number)
	}
	return strings.ReplaceAll(a.DialTemplate, "{number}", number), nil
}
