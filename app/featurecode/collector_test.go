package featurecode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/transferd/transferd/app/featurecode"
)

// op is one input: a digit to Feed, or "T" for Timeout, "R" for Reset.
type op struct {
	in   string
	want featurecode.Result
	open bool // Collecting() afterwards
}

func must(t testing.TB, c featurecode.Config) *featurecode.Matcher {
	t.Helper()
	m, err := featurecode.New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

var (
	pending  = featurecode.Result{Kind: featurecode.Pending}
	takeback = map[string]string{featurecode.TakebackData: "*1"}
)

func fwd(k featurecode.Kind, f string) featurecode.Result {
	return featurecode.Result{Kind: k, Forward: f}
}

func noMatch(code, f string) featurecode.Result {
	return featurecode.Result{Kind: featurecode.NoMatch, Code: code, Forward: f}
}

func matched(code, module, source string, data map[string]string, args ...string) featurecode.Result {
	return featurecode.Result{
		Kind: featurecode.Matched, Code: code, Source: source,
		Action: featurecode.Action{Module: module, Data: data}, Args: args,
	}
}

// pend returns n Pending ops, one per digit of s.
func pend(s string) []op {
	var ops []op
	for _, d := range s {
		ops = append(ops, op{string(d), pending, true})
	}
	return ops
}

func seq(parts ...any) []op {
	var ops []op
	for _, p := range parts {
		switch p := p.(type) {
		case op:
			ops = append(ops, p)
		case []op:
			ops = append(ops, p...)
		default:
			panic(p)
		}
	}
	return ops
}

func TestCollector(t *testing.T) {
	def := featurecode.Default()
	fixed := featurecode.Config{
		Numbers:  map[string]featurecode.Action{"0": {Module: "cancel"}, "9": {Module: "swap"}},
		Patterns: map[string]featurecode.Action{`2(\d{4})`: {Module: "transfer"}},
	}
	long := featurecode.Config{Patterns: map[string]featurecode.Action{
		`2(\d+)`:  {Module: "transfer"},
		`3(\d+)9`: {Module: "blind_transfer"},
	}}
	prec := featurecode.Config{Patterns: map[string]featurecode.Action{
		`2(\d+)`:      {Module: "transfer"},
		`2(\d)(\d+)`:  {Module: "blind_transfer"},
		`3(\d*)`:      {Module: "transfer"},
		`3(\d+)`:      {Module: "blind_transfer"},
		`4(\d\d)`:     {Module: "transfer"},
		`4(\d{2})`:    {Module: "blind_transfer"},
		`4([0-9]{2})`: {Module: "threeway"},
	}}
	starInCode := featurecode.Config{Patterns: map[string]featurecode.Action{
		`2([0-9*]+)`: {Module: "transfer"},
	}}
	onlyTakeback := featurecode.Config{Patterns: map[string]featurecode.Action{
		`2(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "*1"}},
	}}
	takebackDefined := featurecode.Config{
		Numbers: map[string]featurecode.Action{"1": {Module: "swap"}},
		Patterns: map[string]featurecode.Action{
			`2(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "*1"}},
		},
	}
	hashKey := featurecode.Config{
		BindingKey: "#",
		Numbers:    map[string]featurecode.Action{"0": {Module: "cancel"}},
		Patterns:   map[string]featurecode.Action{`2(\d+)`: {Module: "transfer"}},
	}
	digitKey := featurecode.Config{
		BindingKey: "5",
		Patterns:   map[string]featurecode.Action{`2(\d+)`: {Module: "transfer"}},
	}

	tr := func(code, arg string) featurecode.Result {
		return matched(code, "transfer", `patterns["2(\d+)"]`, takeback, arg)
	}
	invalid := featurecode.Result{Kind: featurecode.Invalid, Err: featurecode.ErrInvalidDigit}
	zeros31 := strings.Repeat("0", 31)

	tests := []struct {
		name string
		cfg  featurecode.Config
		ops  []op
	}{
		{"plain digits are forwarded", def, seq(
			op{"5", fwd(featurecode.None, "5"), false},
			op{"#", fwd(featurecode.None, "#"), false},
			op{"A", fwd(featurecode.None, "A"), false},
		)},
		{"number fires immediately", def, seq(
			op{"*", pending, true},
			op{"0", matched("0", "cancel", `numbers["0"]`, nil), false},
			op{"*", pending, true},
			op{"9", matched("9", "swap", `numbers["9"]`, nil), false},
			op{"1", fwd(featurecode.None, "1"), false},
		)},
		{"unambiguous pattern fires immediately", fixed, seq(
			pend("*2260"),
			op{"0", matched("22600", "transfer", `patterns["2(\d{4})"]`, nil, "2600"), false},
		)},
		{"open pattern waits for #", def, seq(
			pend("*22600"),
			op{"#", tr("22600", "2600"), false},
		)},
		{"open pattern resolves on timeout", def, seq(
			pend("*22600"),
			op{"T", tr("22600", "2600"), false},
			op{"T", featurecode.Result{Kind: featurecode.None}, false},
		)},
		{"blind transfer", def, seq(
			pend("*7123"),
			op{"#", matched("7123", "blind_transfer", `patterns["7(\d+)"]`, nil, "123"), false},
		)},
		{"# with no match", def, seq(
			pend("*2"),
			op{"#", noMatch("2", "*2#"), false},
			pend("*"),
			op{"#", noMatch("", "*#"), false},
		)},
		{"timeout with no match", def, seq(
			pend("*2"),
			op{"T", noMatch("2", "*2"), false},
			pend("*"),
			op{"T", noMatch("", "*"), false},
		)},
		{"dead prefix fails immediately", def, seq(
			pend("*"),
			op{"5", noMatch("5", "*5"), false},
			pend("*22"),
			op{"A", noMatch("22A", "*22A"), false},
			pend("*"),
			op{"D", noMatch("D", "*D"), false},
		)},
		{"dead prefix of fixed-length pattern", fixed, seq(
			pend("*226"),
			op{"*", fwd(featurecode.Pending, "*226"), true}, // restart
			pend("22"),
			op{"A", noMatch("22A", "*22A"), false},
		)},
		{"** forwards one * and opens a new sequence", def, seq(
			pend("*"),
			op{"*", fwd(featurecode.Pending, "*"), true},
			op{"*", fwd(featurecode.Pending, "*"), true},
			op{"0", matched("0", "cancel", `numbers["0"]`, nil), false},
		)},
		{"** then timeout forwards both", def, seq(
			pend("*"),
			op{"*", fwd(featurecode.Pending, "*"), true},
			op{"T", noMatch("", "*"), false},
		)},
		{"binding key mid-sequence restarts", def, seq(
			pend("*22"),
			op{"*", fwd(featurecode.Pending, "*22"), true},
			op{"4", matched("4", "complete", `numbers["4"]`, nil), false},
		)},
		{"binding key that can continue a code is a digit", starInCode, seq(
			pend("*2*5"),
			op{"#", matched("2*5", "transfer", `patterns["2([0-9*]+)"]`, nil, "*5"), false},
			pend("*"),
			op{"*", fwd(featurecode.Pending, "*"), true}, // ** still escapes
		)},
		{"invalid digits change nothing", def, seq(
			pend("*2"),
			op{"x", invalid, true},
			op{"a", invalid, true},
			op{"", invalid, true},
			op{"12", invalid, true},
			op{"E", invalid, true},
			pend("2600"),
			op{"#", tr("22600", "2600"), false},
			op{"?", invalid, false},
		)},
		{"max length match fires", long, seq(
			pend("*2"+zeros31[:30]),
			op{"0", matched("2"+zeros31, "transfer", `patterns["2(\d+)"]`, nil, zeros31), false},
		)},
		{"max length without match", long, seq(
			pend("*3"+zeros31[:30]),
			op{"0", noMatch("3"+zeros31, "*3"+zeros31), false},
		)},
		{"below max length still open", long, seq(
			pend("*3"+zeros31[:29]),
			op{"9", pending, true},
			op{"T", matched("3"+zeros31[:29]+"9", "blind_transfer", `patterns["3(\d+)9"]`, nil, zeros31[:29]), false},
		)},
		{"timeout with nothing collected", def, seq(
			op{"T", featurecode.Result{Kind: featurecode.None}, false},
			op{"5", fwd(featurecode.None, "5"), false},
			op{"T", featurecode.Result{Kind: featurecode.None}, false},
		)},
		{"reset drops the sequence", def, seq(
			pend("*22"),
			op{"R", featurecode.Result{}, false},
			op{"0", fwd(featurecode.None, "0"), false},
		)},
		{"precedence: longer source first", prec, seq(
			pend("*2123"),
			op{"#", matched("2123", "blind_transfer", `patterns["2(\d)(\d+)"]`, nil, "1", "23"), false},
		)},
		{"precedence: shorter source when the longer does not match", prec, seq(
			pend("*21"),
			op{"#", matched("21", "transfer", `patterns["2(\d+)"]`, nil, "1"), false},
		)},
		{"precedence: lexical among equal lengths", prec, seq(
			pend("*35"),
			op{"T", matched("35", "transfer", `patterns["3(\d*)"]`, nil, "5"), false},
		)},
		{"precedence decides an immediate match", prec, seq(
			pend("*4"),
			op{"2", pending, true},
			op{"3", matched("423", "threeway", `patterns["4([0-9]{2})"]`, nil, "23"), false},
		)},
		{"takeback registered from transfer data", onlyTakeback, seq(
			pend("*"),
			op{"1", matched("1", "cancel", `patterns["2(\d+)"].data.takeback_dtmf`, nil), false},
		)},
		{"takeback does not override numbers", takebackDefined, seq(
			pend("*"),
			op{"1", matched("1", "swap", `numbers["1"]`, nil), false},
		)},
		{"default takeback", def, seq(
			pend("*"),
			op{"1", matched("1", "cancel", `numbers["1"]`, nil), false},
		)},
		{"# as binding key has no terminator", hashKey, seq(
			pend("#"),
			op{"0", matched("0", "cancel", `numbers["0"]`, nil), false},
			pend("#"),
			op{"#", fwd(featurecode.Pending, "#"), true},
			pend("226"),
			op{"#", fwd(featurecode.Pending, "#226"), true},
			op{"*", noMatch("*", "#*"), false},
			pend("#22"),
			op{"T", matched("22", "transfer", `patterns["2(\d+)"]`, nil, "2"), false},
			op{"*", fwd(featurecode.None, "*"), false},
		)},
		{"digit binding key", digitKey, seq(
			pend("52"),
			op{"5", pending, true}, // 25 can continue 2(\d+)
			op{"#", matched("25", "transfer", `patterns["2(\d+)"]`, nil, "5"), false},
			pend("5"),
			op{"5", fwd(featurecode.Pending, "5"), true},
			op{"1", noMatch("1", "51"), false},
		)},
	}
	opts := cmp.Options{cmpopts.EquateErrors(), cmpopts.EquateEmpty()}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := must(t, tc.cfg).NewCollector()
			for i, o := range tc.ops {
				var got featurecode.Result
				switch o.in {
				case "T":
					got = c.Timeout()
				case "R":
					c.Reset()
				default:
					got = c.Feed(o.in)
				}
				if diff := cmp.Diff(o.want, got, opts); diff != "" {
					t.Fatalf("op %d (%q): result mismatch (-want +got):\n%s", i, o.in, diff)
				}
				if c.Collecting() != o.open {
					t.Fatalf("op %d (%q): Collecting() = %v, want %v", i, o.in, c.Collecting(), o.open)
				}
			}
		})
	}
}

func TestInvalidDigitError(t *testing.T) {
	c := must(t, featurecode.Default()).NewCollector()
	r := c.Feed("x")
	if r.Err == nil || r.Err.Error() != `featurecode: invalid DTMF digit "x"` {
		t.Fatalf("Err = %v", r.Err)
	}
}

func TestResultDataIsACopy(t *testing.T) {
	m := must(t, featurecode.Default())
	c := m.NewCollector()
	for _, d := range "*22600" {
		c.Feed(string(d))
	}
	r := c.Feed("#")
	r.Action.Data["takeback_dtmf"] = "changed"
	for _, d := range "*22600" {
		c.Feed(string(d))
	}
	if got := c.Feed("#").Action.Data["takeback_dtmf"]; got != "*1" {
		t.Fatalf("Data was shared: %q", got)
	}
}

func TestCollectorCopy(t *testing.T) {
	m := must(t, featurecode.Default())
	a := m.NewCollector()
	a.Feed("*")
	a.Feed("2")
	b := *a
	a.Feed("#")
	if !b.Collecting() || b.Pending() != "*2" {
		t.Fatalf("copy shares state: Collecting=%v Pending=%q", b.Collecting(), b.Pending())
	}
	if a.Pending() != "" {
		t.Fatalf("Pending() = %q after close", a.Pending())
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[featurecode.Kind]string{
		featurecode.None: "None", featurecode.Pending: "Pending", featurecode.Matched: "Matched",
		featurecode.NoMatch: "NoMatch", featurecode.Invalid: "Invalid", featurecode.Kind(9): "Kind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestBound(t *testing.T) {
	custom := featurecode.Config{
		Numbers: map[string]featurecode.Action{
			"5":  {Module: "cancel"},
			"61": {Module: "swap"},
		},
		Patterns: map[string]featurecode.Action{
			`6(\d\d\d)`: {Module: "transfer"},
			`8(\d+)`:    {Module: "transfer", Data: map[string]string{"moh": "jazz"}},
			`8\d+9`:     {Module: "blind_transfer"},
		},
	}
	for _, tc := range []struct {
		name   string
		cfg    featurecode.Config
		typed  string
		module string // "" when not bound
	}{
		{"nothing open", featurecode.Default(), "", ""},
		{"binding key only: every code possible", featurecode.Default(), "*", ""},
		{"transfer prefix", featurecode.Default(), "*2", "transfer"},
		{"transfer with digits", featurecode.Default(), "*2260", "transfer"},
		{"blind prefix", featurecode.Default(), "*7", "blind_transfer"},
		{"a number, complete", featurecode.Default(), "*0", ""}, // resolved at once: closed
		{"number and pattern share a prefix", custom, "*6", ""},
		{"past the number", custom, "*62", "transfer"},
		{"two patterns", custom, "*8", ""},
		{"a pattern that cannot match any more", custom, "*6123", ""}, // closed: full match resolves it
		{"exact number pending a longer one", featurecode.Config{Numbers: map[string]featurecode.Action{"12": {Module: "swap"}}}, "*1", "swap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := must(t, tc.cfg).NewCollector()
			for _, d := range tc.typed {
				c.Feed(string(d))
			}
			a, ok := c.Bound()
			if got := map[bool]string{true: a.Module}[ok]; got != tc.module {
				t.Fatalf("after %q: Bound() = %q, %v; want %q", tc.typed, a.Module, ok, tc.module)
			}
		})
	}
	c := must(t, featurecode.Default()).NewCollector()
	c.Feed("*")
	c.Feed("2")
	a, _ := c.Bound()
	a.Data[featurecode.TakebackData] = "changed"
	if b, _ := c.Bound(); b.Data[featurecode.TakebackData] != "*1" {
		t.Fatalf("Bound's Data is shared: %v", b.Data)
	}
}
