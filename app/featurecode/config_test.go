package featurecode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/transferd/transferd/app/featurecode"
)

func TestDefaultIsValid(t *testing.T) {
	m := must(t, featurecode.Default())
	if m.BindingKey() != "*" {
		t.Fatalf("BindingKey() = %q", m.BindingKey())
	}
	if m := must(t, featurecode.Config{}); m.BindingKey() != "*" {
		t.Fatalf("empty config BindingKey() = %q", m.BindingKey())
	}
}

type acts = map[string]featurecode.Action

func TestNewErrors(t *testing.T) {
	tr := featurecode.Action{Module: "transfer"}
	tests := []struct {
		name string
		cfg  featurecode.Config
		want []string // every error, in order
	}{
		{"bad regexp", featurecode.Config{Patterns: acts{`2(\d+`: tr}}, []string{
			"patterns[\"2(\\d+\"]: error parsing regexp: missing closing ): `2(\\d+`",
		}},
		{"binding key too long", featurecode.Config{BindingKey: "**"}, []string{
			`binding_key "**": must be a single DTMF digit (0-9, *, #, A-D)`,
		}},
		{"binding key not DTMF", featurecode.Config{BindingKey: "x"}, []string{
			`binding_key "x": must be a single DTMF digit (0-9, *, #, A-D)`,
		}},
		{"unknown modules", featurecode.Config{
			Numbers:  acts{"5": {Module: "park"}},
			Patterns: acts{`6(\d+)`: {}},
		}, []string{
			`numbers["5"]: unknown module "park" (want one of transfer, blind_transfer, cancel, complete, swap, threeway)`,
			`patterns["6(\d+)"]: unknown module "" (want one of transfer, blind_transfer, cancel, complete, swap, threeway)`,
		}},
		{"bad numbers", featurecode.Config{Numbers: acts{
			"":                      {Module: "cancel"},
			"5#":                    {Module: "cancel"},
			"*5":                    {Module: "cancel"},
			"a":                     {Module: "cancel"},
			strings.Repeat("1", 33): {Module: "cancel"},
			"A*B":                   {Module: "cancel"}, // valid
		}}, []string{
			`numbers[""]: empty code`,
			`numbers["*5"]: code begins with the binding key "*" (pressing it twice sends a literal "*")`,
			`numbers["111111111111111111111111111111111"]: code longer than 32 digits`,
			`numbers["5#"]: "#" is not a code digit (want 0-9, *, A-D; # ends a sequence)`,
			`numbers["a"]: "a" is not a code digit (want 0-9, *, A-D; # ends a sequence)`,
		}},
		{"patterns that cannot work", featurecode.Config{Patterns: acts{
			`\d*`:       tr,
			`x+`:        tr,
			`\*\d`:      tr,
			`2\d{40}`:   tr,
			`2#\d`:      tr,
			`\d{1000}`:  tr,
			`[*2](\d+)`: tr, // fine: *... unreachable, 2... works
		}}, []string{
			`patterns["2#\d"]: pattern never matches a code (codes are 1-32 of 0-9, *, A-D and do not begin with the binding key)`,
			`patterns["2\d{40}"]: pattern never matches a code (codes are 1-32 of 0-9, *, A-D and do not begin with the binding key)`,
			`patterns["\*\d"]: pattern never matches a code (codes are 1-32 of 0-9, *, A-D and do not begin with the binding key)`,
			`patterns["\d*"]: pattern matches the empty code`,
			`patterns["\d{1000}"]: pattern too large (1002 instructions, max 1000)`,
			`patterns["x+"]: pattern never matches a code (codes are 1-32 of 0-9, *, A-D and do not begin with the binding key)`,
		}},
		{"number conflicts with pattern", featurecode.Config{
			Numbers:  acts{"21": {Module: "cancel"}, "2": {Module: "swap"}},
			Patterns: acts{`2(\d+)`: tr, `(\d)1`: tr},
		}, []string{
			`numbers["21"] conflicts with patterns["2(\d+)"]: both match code "21"`,
			`numbers["21"] conflicts with patterns["(\d)1"]: both match code "21"`,
		}},
		{"takeback conflicts with pattern", featurecode.Config{Patterns: acts{
			`2(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "*21"}},
		}}, []string{
			`patterns["2(\d+)"].data.takeback_dtmf conflicts with patterns["2(\d+)"]: both match code "21"`,
		}},
		{"bad takeback", featurecode.Config{Patterns: acts{
			`2(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "1"}},
			`3(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "*"}},
			`4(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": "*1#"}},
			`5(\d+)`: {Module: "blind_transfer", Data: map[string]string{"takeback_dtmf": "ignored"}},
			`6(\d+)`: {Module: "transfer", Data: map[string]string{"takeback_dtmf": ""}},
		}}, []string{
			`patterns["2(\d+)"].data.takeback_dtmf: "1" must begin with the binding key "*"`,
			`patterns["3(\d+)"].data.takeback_dtmf: "*": empty code`,
			`patterns["4(\d+)"].data.takeback_dtmf: "*1#": "#" is not a code digit (want 0-9, *, A-D; # ends a sequence)`,
		}},
		{"errors are joined", featurecode.Config{
			BindingKey: "xy",
			Numbers:    acts{"0": {Module: "nope"}},
			Patterns:   acts{`(`: tr},
		}, []string{
			`binding_key "xy": must be a single DTMF digit (0-9, *, #, A-D)`,
			`numbers["0"]: unknown module "nope" (want one of transfer, blind_transfer, cancel, complete, swap, threeway)`,
			"patterns[\"(\"]: error parsing regexp: missing closing ): `(`",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := featurecode.New(tc.cfg)
			if err == nil {
				t.Fatalf("New succeeded: %v", m)
			}
			var got []string
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					got = append(got, e.Error())
				}
			} else {
				got = []string{err.Error()}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("errors mismatch (-want +got):\n%s", diff)
			}
			if err.Error() != strings.Join(tc.want, "\n") {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
}

func TestNewCopiesConfig(t *testing.T) {
	c := featurecode.Default()
	m := must(t, c)
	c.Numbers["0"] = featurecode.Action{Module: "swap"}
	c.Patterns[`2(\d+)`].Data["takeback_dtmf"] = "*9"
	col := m.NewCollector()
	col.Feed("*")
	if r := col.Feed("0"); r.Action.Module != "cancel" {
		t.Fatalf("config change leaked into Matcher: %+v", r)
	}
	for _, d := range "*22600" {
		col.Feed(string(d))
	}
	if r := col.Feed("#"); r.Action.Data["takeback_dtmf"] != "*1" {
		t.Fatalf("config Data change leaked into Matcher: %+v", r)
	}
}

func TestErrorsIs(t *testing.T) {
	r := must(t, featurecode.Default()).NewCollector().Feed("Z")
	if !errors.Is(r.Err, featurecode.ErrInvalidDigit) {
		t.Fatalf("Err = %v", r.Err)
	}
}
