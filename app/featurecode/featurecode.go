package featurecode

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/transferd/transferd/transfer"
)

// MaxSequenceLen is the largest number of digits a sequence can collect
// after the binding key. Longer codes can never match.
const MaxSequenceLen = 32

// DefaultBindingKey is used when Config.BindingKey is empty.
const DefaultBindingKey = "*"

// Terminator ends a sequence early ("resolve what was collected"), unless it
// is itself the binding key.
const Terminator = "#"

// Data keys of an Action (Kazoo's metaflow data): the per-transfer options
// a transfer pattern carries, and an HTTP API transfer request too.
const (
	// TakebackData names the takeback (cancel) sequence, e.g. "*1".
	TakebackData        = "takeback_dtmf"
	MOHData             = "moh"               // music on hold class for the transferee
	RingbackData        = "ringback"          // media played while a leg rings
	NoAnswerTimeoutData = "no_answer_timeout" // seconds ("20") or a duration ("20s")
)

// DataKeys lists the data keys. Callers must not modify it.
var DataKeys = []string{TakebackData, MOHData, RingbackData, NoAnswerTimeoutData}

// ErrInvalidDigit is wrapped by Result.Err when Feed gets something that is
// not one DTMF digit.
var ErrInvalidDigit = errors.New("featurecode: invalid DTMF digit")

// Config is a feature code configuration in the shape of a Kazoo metaflow.
type Config struct {
	// BindingKey opens a sequence: one of 0-9 * # A-D; "" means "*".
	BindingKey string
	// Numbers maps exact codes (the digits after the binding key) to actions.
	Numbers map[string]Action
	// Patterns maps Go regular expressions, matched against the whole code
	// after the binding key, to actions. Submatches become Result.Args.
	Patterns map[string]Action
}

// Action is what a code does.
type Action struct {
	Module string // a word of transfer.Actions
	Data   map[string]string
}

// Default returns transferd's default metaflow:
//
//	*0 cancel, *1 cancel (takeback), *3 threeway, *4 complete, *9 swap,
//	*2<number> attended transfer, *7<number> blind transfer.
func Default() Config {
	return Config{
		BindingKey: DefaultBindingKey,
		Numbers: map[string]Action{
			"0": {Module: transfer.ActionCancel},
			"1": {Module: transfer.ActionCancel}, // takeback
			"3": {Module: transfer.ActionThreeWay},
			"4": {Module: transfer.ActionComplete},
			"9": {Module: transfer.ActionSwap},
		},
		Patterns: map[string]Action{
			`2(\d+)`: {Module: transfer.ActionTransfer, Data: map[string]string{TakebackData: "*1"}},
			`7(\d+)`: {Module: transfer.ActionBlindTransfer},
		},
	}
}

// Matcher is a validated, immutable Config. It is safe for concurrent use;
// the per-call-leg state lives in a Collector.
type Matcher struct {
	cfg        Config // as given to New, for WithTakeback
	key        byte
	terminator bool            // '#' terminates a sequence
	numbers    map[string]rule // exact codes
	prefixes   map[string]bool // proper prefixes of numbers (including "")
	patterns   []*pattern      // in precedence order
}

type rule struct {
	action Action
	source string
}

type pattern struct {
	rule
	re  *regexp.Regexp // anchored: ^(?:src)$
	nfa *nfa
}

// maxPatternInsts bounds the size of a pattern's program; codes are at most
// MaxSequenceLen digits, so anything bigger is a mistake.
const maxPatternInsts = 1000

func numberRef(k string) string  { return "numbers[" + quote(k) + "]" }
func patternRef(k string) string { return "patterns[" + quote(k) + "]" }

// quote wraps s in double quotes, escaping only when it has to, so that
// regexps read as written: patterns["2(\d+)"].
func quote(s string) string {
	for _, r := range s {
		if r == '"' || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return `"` + s + `"`
}

func isDTMF(c byte) bool {
	return c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D'
}

// checkCode validates a code (the digits after the binding key).
func checkCode(code string, key byte) error {
	switch {
	case code == "":
		return errors.New("empty code")
	case len(code) > MaxSequenceLen:
		return fmt.Errorf("code longer than %d digits", MaxSequenceLen)
	case key != 0 && code[0] == key:
		return fmt.Errorf("code begins with the binding key %q (pressing it twice sends a literal %q)", string(key), string(key))
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(codeAlphabet, rune(code[i])) {
			return fmt.Errorf("%q is not a code digit (want 0-9, *, A-D; # ends a sequence)", code[i:i+1])
		}
	}
	return nil
}

func checkModule(m string) error {
	if !slices.Contains(transfer.Actions, m) {
		return fmt.Errorf("unknown module %q (want one of %s)", m, strings.Join(transfer.Actions, ", "))
	}
	return nil
}

// New validates c and builds a Matcher. All problems are reported together
// (errors.Join), each naming the offending entry, e.g.
//
//	patterns["2(\d+"]: error parsing regexp: missing closing ): `2(\d+`
//
// It also registers takeback codes: for every pattern whose module is
// "transfer" and whose Data has a non-empty "takeback_dtmf" (e.g. "*1"), the
// code after the binding key ("1") becomes a number with module "cancel",
// unless Numbers already defines that code.
func New(c Config) (*Matcher, error) {
	var errs []error
	fail := func(ref string, err error) { errs = append(errs, fmt.Errorf("%s: %w", ref, err)) }

	m := &Matcher{
		cfg:      Config{BindingKey: c.BindingKey, Numbers: maps.Clone(c.Numbers), Patterns: maps.Clone(c.Patterns)},
		numbers:  make(map[string]rule),
		prefixes: make(map[string]bool),
	}
	keyStr := cmp.Or(c.BindingKey, DefaultBindingKey)
	if len(keyStr) == 1 && isDTMF(keyStr[0]) {
		m.key = keyStr[0]
		m.terminator = m.key != '#'
	} else {
		fail("binding_key "+quote(c.BindingKey), errors.New("must be a single DTMF digit (0-9, *, #, A-D)"))
	}

	for _, k := range slices.Sorted(maps.Keys(c.Numbers)) {
		a := c.Numbers[k]
		ok := true
		if err := checkCode(k, m.key); err != nil {
			fail(numberRef(k), err)
			ok = false
		}
		if err := checkModule(a.Module); err != nil {
			fail(numberRef(k), err)
			ok = false
		}
		if ok {
			m.numbers[k] = rule{action: cloneAction(a), source: numberRef(k)}
		}
	}

	for _, src := range slices.Sorted(maps.Keys(c.Patterns)) {
		a := c.Patterns[src]
		ref := patternRef(src)
		p, err := compilePattern(src, m.key)
		if err != nil {
			fail(ref, err)
		}
		if err := checkModule(a.Module); err != nil {
			fail(ref, err)
			p = nil
		}
		if p == nil {
			continue
		}
		p.rule = rule{action: cloneAction(a), source: ref}
		m.patterns = append(m.patterns, p)
	}
	// Precedence: longest pattern source first, then lexical order.
	slices.SortStableFunc(m.patterns, func(a, b *pattern) int {
		return cmp.Or(cmp.Compare(len(b.source), len(a.source)), strings.Compare(a.source, b.source))
	})

	// Takeback codes of transfer patterns (sorted, so the first pattern
	// naming a code is its source).
	for _, src := range slices.Sorted(maps.Keys(c.Patterns)) {
		a := c.Patterns[src]
		tb := a.Data[TakebackData]
		if a.Module != transfer.ActionTransfer || tb == "" || m.key == 0 {
			continue
		}
		ref := patternRef(src) + ".data." + TakebackData
		code, found := strings.CutPrefix(tb, string(m.key))
		var err error
		if !found {
			err = fmt.Errorf("%q must begin with the binding key %q", tb, string(m.key))
		} else if err = checkCode(code, m.key); err != nil {
			err = fmt.Errorf("%q: %w", tb, err)
		}
		if err != nil {
			fail(ref, err)
			continue
		}
		if _, defined := c.Numbers[code]; defined {
			continue
		}
		if _, registered := m.numbers[code]; !registered {
			m.numbers[code] = rule{action: Action{Module: transfer.ActionCancel}, source: ref}
		}
	}

	// A number that a pattern also matches would make the code ambiguous.
	for _, k := range slices.Sorted(maps.Keys(m.numbers)) {
		for _, p := range m.patterns {
			if p.re.MatchString(k) {
				errs = append(errs, fmt.Errorf("%s conflicts with %s: both match code %q", m.numbers[k].source, p.source, k))
			}
		}
		for i := range len(k) {
			m.prefixes[k[:i]] = true
		}
	}

	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func compilePattern(src string, key byte) (*pattern, error) {
	if _, err := regexp.Compile(src); err != nil {
		return nil, err // "error parsing regexp: ...", naming src as written
	}
	anchored, err := regexp.Compile(`^(?:` + src + `)$`)
	if err != nil {
		return nil, err
	}
	a, err := newNFA(src)
	if err != nil {
		return nil, err
	}
	if n := len(a.prog.Inst); n > maxPatternInsts {
		return nil, fmt.Errorf("pattern too large (%d instructions, max %d)", n, maxPatternInsts)
	}
	if a.matchesHere(a.start()) {
		return nil, errors.New("pattern matches the empty code")
	}
	first := codeAlphabet
	if key != 0 {
		first = strings.ReplaceAll(first, string(key), "")
	}
	if !a.canExtend(a.start(), MaxSequenceLen, first) {
		return nil, fmt.Errorf("pattern never matches a code (codes are 1-%d of 0-9, *, A-D and do not begin with the binding key)", MaxSequenceLen)
	}
	return &pattern{re: anchored, nfa: a}, nil
}

func cloneAction(a Action) Action {
	return Action{Module: a.Module, Data: maps.Clone(a.Data)}
}

// BindingKey returns the digit that opens a sequence.
func (m *Matcher) BindingKey() string { return string(m.key) }

// lookup resolves a complete code: the exact number first, then the first
// matching pattern in precedence order.
func (m *Matcher) lookup(code string) (Result, bool) {
	if r, ok := m.numbers[code]; ok {
		return Result{Kind: Matched, Code: code, Action: cloneAction(r.action), Source: r.source}, true
	}
	if strings.Contains(code, Terminator) {
		return Result{}, false
	}
	for _, p := range m.patterns {
		sub := p.re.FindStringSubmatch(code)
		if sub == nil {
			continue
		}
		var args []string
		if len(sub) > 1 {
			args = sub[1:]
		}
		return Result{Kind: Matched, Code: code, Action: cloneAction(p.action), Args: args, Source: p.source}, true
	}
	return Result{}, false
}

// feasible reports whether code matches some code as a whole (full) and
// whether some code longer than it, starting with it, can still match (ext).
func (m *Matcher) feasible(code string) (full, ext bool) {
	if strings.Contains(code, Terminator) {
		return false, false
	}
	_, full = m.numbers[code]
	ext = m.prefixes[code]
	budget := MaxSequenceLen - len(code)
	for _, p := range m.patterns {
		if full && ext {
			break
		}
		s := p.nfa.run(code)
		if !s.alive() {
			continue
		}
		if !full && p.nfa.matchesHere(s) {
			full = true
		}
		if !ext && p.nfa.canExtend(s, budget, codeAlphabet) {
			ext = true
		}
	}
	return full, ext
}

// only returns the rule of the one code that code is, or can still grow
// into, when there is exactly one.
func (m *Matcher) only(code string) (rule, bool) {
	if strings.Contains(code, Terminator) {
		return rule{}, false
	}
	var found []rule
	for k, r := range m.numbers {
		if strings.HasPrefix(k, code) {
			found = append(found, r)
		}
	}
	budget := MaxSequenceLen - len(code)
	for _, p := range m.patterns {
		if len(found) > 1 {
			break
		}
		s := p.nfa.run(code)
		if s.alive() && (p.nfa.matchesHere(s) || p.nfa.canExtend(s, budget, codeAlphabet)) {
			found = append(found, p.rule)
		}
	}
	if len(found) != 1 {
		return rule{}, false
	}
	return found[0], true
}
