package featurecode_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/transferd/transferd/app/featurecode"
)

var fuzzConfigs = []featurecode.Config{
	featurecode.Default(),
	{
		Numbers:  acts{"0": {Module: "cancel"}, "9": {Module: "swap"}, "A1": {Module: "threeway"}},
		Patterns: acts{`2(\d{4})`: {Module: "transfer"}, `7(\d{2,5})`: {Module: "blind_transfer"}},
	},
	{
		Patterns: acts{
			`2([0-9*]+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "*1"}},
			`2(\d)(\d+)`: {Module: "blind_transfer"},
			`[3-5]+\*?`:  {Module: "swap"},
		},
	},
	{
		BindingKey: "#",
		Numbers:    acts{"0": {Module: "cancel"}, "*9": {Module: "swap"}},
		Patterns:   acts{`2(\d+)`: {Module: "transfer"}},
	},
	{
		BindingKey: "5",
		Numbers:    acts{"0": {Module: "cancel"}},
		Patterns:   acts{`2(\d+)`: {Module: "transfer"}, `B\d*C`: {Module: "complete"}},
	},
}

// FuzzCollector feeds arbitrary input to a Collector. The first byte picks a
// configuration; then each byte is a digit to Feed, except 't' (Timeout) and
// 'r' (Reset); any other byte is fed and must be rejected as Invalid.
//
// Accounting: every valid digit fed is, in order, either forwarded, part of
// a matched code (binding key + Code, + "#" when it terminated the code),
// dropped by Reset, or still pending.
func FuzzCollector(f *testing.F) {
	f.Fuzz(func(t *testing.T, input string) {
		if input == "" {
			return
		}
		cfg := fuzzConfigs[int(input[0])%len(fuzzConfigs)]
		m := must(t, cfg)
		key := m.BindingKey()
		c := m.NewCollector()
		var in, out strings.Builder
		for i := 1; i < len(input); i++ {
			b := input[i]
			d := string(b)
			wasOpen := c.Collecting()
			var r featurecode.Result
			switch {
			case b == 't':
				r = c.Timeout()
				if !wasOpen && (r.Kind != featurecode.None || r.Forward != "") {
					t.Fatalf("Timeout with nothing open: %+v", r)
				}
				if wasOpen && r.Kind != featurecode.Matched && r.Kind != featurecode.NoMatch {
					t.Fatalf("Timeout: Kind %v", r.Kind)
				}
			case b == 'r':
				out.WriteString(c.Pending())
				c.Reset()
			case strings.Contains("0123456789*#ABCD", d):
				in.WriteString(d)
				r = c.Feed(d)
				if r.Kind == featurecode.Invalid {
					t.Fatalf("Feed(%q): Invalid: %v", d, r.Err)
				}
			default:
				before := c.Pending()
				r = c.Feed(d)
				if r.Kind != featurecode.Invalid || !errors.Is(r.Err, featurecode.ErrInvalidDigit) || c.Pending() != before {
					t.Fatalf("Feed(%q) = %+v; pending %q -> %q", d, r, before, c.Pending())
				}
				continue
			}

			switch r.Kind {
			case featurecode.Matched:
				if r.Forward != "" {
					t.Fatalf("Matched with Forward %q", r.Forward)
				}
				checkMatch(t, cfg, r)
				out.WriteString(key + r.Code)
				if b == '#' && key != "#" {
					out.WriteString("#")
				} else if b != 't' && !strings.HasSuffix(r.Code, d) {
					t.Fatalf("Feed(%q) matched code %q not ending with it", d, r.Code)
				}
			case featurecode.NoMatch:
				if r.Forward != key+r.Code && r.Forward != key+r.Code+"#" {
					t.Fatalf("NoMatch Forward %q, Code %q", r.Forward, r.Code)
				}
				out.WriteString(r.Forward)
			default:
				out.WriteString(r.Forward)
			}
			if r.Err != nil {
				t.Fatalf("unexpected Err: %v", r.Err)
			}
			switch r.Kind {
			case featurecode.Pending:
				if !c.Collecting() {
					t.Fatalf("Pending but not collecting")
				}
			case featurecode.None, featurecode.Matched, featurecode.NoMatch:
				if c.Collecting() && b != 'r' {
					t.Fatalf("%v but still collecting", r.Kind)
				}
			}
			p := c.Pending()
			if c.Collecting() != (p != "") || len(p) > 1+featurecode.MaxSequenceLen {
				t.Fatalf("Collecting() = %v, Pending() = %q", c.Collecting(), p)
			}
			if got := out.String() + p; got != in.String() {
				t.Fatalf("accounting: fed %q, forwarded/matched/pending %q", in.String(), got)
			}
		}
	})
}

// checkMatch verifies a Matched result against the configuration.
func checkMatch(t *testing.T, cfg featurecode.Config, r featurecode.Result) {
	t.Helper()
	if r.Action.Module == "" {
		t.Fatalf("Matched without module: %+v", r)
	}
	if src, ok := strings.CutPrefix(r.Source, "patterns["); ok && !strings.Contains(src, "].data.") {
		src = strings.TrimSuffix(strings.TrimPrefix(src, `"`), `"]`)
		sub := regexp.MustCompile(`^(?:` + src + `)$`).FindStringSubmatch(r.Code)
		if sub == nil {
			t.Fatalf("%s does not match %q", r.Source, r.Code)
		}
		if r.Action.Module != cfg.Patterns[src].Module || !slices.Equal(sub[1:], r.Args) {
			t.Fatalf("%s on %q: got %+v", r.Source, r.Code, r)
		}
		return
	}
	if a, ok := cfg.Numbers[r.Code]; ok {
		if r.Source != `numbers["`+r.Code+`"]` || a.Module != r.Action.Module {
			t.Fatalf("number %q: got %+v", r.Code, r)
		}
		return
	}
	if !strings.HasSuffix(r.Source, ".data.takeback_dtmf") || r.Action.Module != "cancel" {
		t.Fatalf("unexpected match %+v", r)
	}
}
