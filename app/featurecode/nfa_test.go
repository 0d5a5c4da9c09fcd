package featurecode

import (
	"regexp"
	"testing"
)

// strs returns every string over alphabet of length lo..hi.
func strs(alphabet string, lo, hi int) []string {
	out := []string{}
	level := []string{""}
	for n := 0; n <= hi; n++ {
		if n >= lo {
			out = append(out, level...)
		}
		var next []string
		for _, s := range level {
			for _, r := range alphabet {
				next = append(next, s+string(r))
			}
		}
		level = next
	}
	return out
}

var nfaPatterns = []string{
	`2(\d+)`, `2(\d{4})`, `2\d{3}`, `(\d)1`, `\*1`, `[0-9*]+`, `(?i)a\d`,
	`1|12|123`, `(12)*3`, `\b1\b`, `1\b\*`, `\B1`, `^1$`, `1$2`, `.2`, `(A|B)+C?`,
	`[^0-9]`, `x|2`, `2\*?\d`,
}

// TestNFAMatchesRegexp checks the NFA simulation against package regexp:
// whole matches, and extensions found by brute force within the budget.
func TestNFAMatchesRegexp(t *testing.T) {
	const budget = 2
	prefixes := strs(codeAlphabet+"#", 0, 2)
	exts := strs(codeAlphabet, 1, budget)
	for _, src := range nfaPatterns {
		re := regexp.MustCompile(`^(?:` + src + `)$`)
		a, err := newNFA(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range prefixes {
			s := a.run(p)
			if got, want := a.matchesHere(s), re.MatchString(p); got != want {
				t.Errorf("%s: matchesHere(%q) = %v, want %v", src, p, got, want)
			}
			want := false
			for _, e := range exts {
				if re.MatchString(p + e) {
					want = true
					break
				}
			}
			if got := a.canExtend(s, budget, codeAlphabet); got != want {
				t.Errorf("%s: canExtend(%q, %d) = %v, want %v", src, p, budget, got, want)
			}
		}
	}
}

func TestCanExtendBudget(t *testing.T) {
	a, err := newNFA(`2\d{3}`)
	if err != nil {
		t.Fatal(err)
	}
	s := a.run("2")
	for budget, want := range []bool{false, false, false, true, true} {
		if got := a.canExtend(s, budget, codeAlphabet); got != want {
			t.Errorf("canExtend(2, %d) = %v, want %v", budget, got, want)
		}
	}
}

// FuzzNFA compares the NFA with package regexp on arbitrary patterns.
func FuzzNFA(f *testing.F) {
	for _, p := range nfaPatterns {
		f.Add(p, "21")
	}
	f.Fuzz(func(t *testing.T, src, input string) {
		re, err := regexp.Compile(`^(?:` + src + `)$`)
		if err != nil {
			return
		}
		if _, err := regexp.Compile(src); err != nil {
			return
		}
		a, err := newNFA(src)
		if err != nil {
			t.Fatalf("regexp compiles %q but newNFA fails: %v", src, err)
		}
		if len(a.prog.Inst) > 200 {
			return
		}
		var p []rune
		for _, r := range input {
			if len(p) == 6 {
				break
			}
			p = append(p, r)
		}
		in := string(p)
		s := a.run(in)
		if got, want := a.matchesHere(s), re.MatchString(in); got != want {
			t.Fatalf("%q: matchesHere(%q) = %v, want %v", src, in, got, want)
		}
		want := false
		for _, e := range strs(codeAlphabet, 1, 2) {
			if re.MatchString(in + e) {
				want = true
				break
			}
		}
		if got := a.canExtend(s, 2, codeAlphabet); got != want {
			t.Fatalf("%q: canExtend(%q, 2) = %v, want %v", src, in, got, want)
		}
	})
}
