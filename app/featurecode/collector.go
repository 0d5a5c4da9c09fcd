package featurecode

import "fmt"

// Kind classifies a Result.
type Kind int

const (
	// None: the digit is not part of a code (no sequence open); pass Forward on.
	None Kind = iota
	// Pending: a sequence is open and waiting for more digits. Forward is
	// usually empty, but not after "**" or a restart (see the package doc).
	Pending
	// Matched: a code was recognised; run Action.
	Matched
	// NoMatch: the sequence closed without a code; pass Forward on.
	NoMatch
	// Invalid: the input was not one DTMF digit; Err says why, nothing changed.
	Invalid
)

func (k Kind) String() string {
	switch k {
	case None:
		return "None"
	case Pending:
		return "Pending"
	case Matched:
		return "Matched"
	case NoMatch:
		return "NoMatch"
	case Invalid:
		return "Invalid"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Result is the outcome of one Feed or Timeout.
type Result struct {
	Kind Kind
	// Code is the sequence after the binding key, e.g. "22600" (Matched and
	// NoMatch).
	Code string
	// Action is the matched code's action (Matched). Data is a copy.
	Action Action
	// Args are the pattern's submatches, e.g. ["2600"] (Matched by a
	// pattern with groups; nil otherwise).
	Args []string
	// Forward holds digits the application should pass on to the other
	// party, in order. It may be non-empty for None, Pending and NoMatch.
	Forward string
	// Source names the config entry that matched, e.g. `numbers["0"]`,
	// `patterns["2(\d+)"]` or `patterns["2(\d+)"].data.takeback_dtmf`.
	Source string
	// Err is set for Invalid; it wraps ErrInvalidDigit.
	Err error
}

// Collector holds the digits typed on one call leg. Create it with
// Matcher.NewCollector. It is not safe for concurrent use: feed it from the
// goroutine that handles the leg's events. Copying a Collector copies its
// state.
type Collector struct {
	m    *Matcher
	open bool
	seq  string // digits collected after the binding key
}

// NewCollector returns a Collector with no sequence open.
func (m *Matcher) NewCollector() *Collector {
	return &Collector{m: m}
}

// Collecting reports whether a sequence is open. Run the inter-digit timer
// only while it is true, and restart it after every Feed that leaves it true.
func (c *Collector) Collecting() bool { return c.open }

// Pending returns the digits of the open sequence, binding key included,
// that would be forwarded if it ended without a code ("" when none is open).
func (c *Collector) Pending() string {
	if !c.open {
		return ""
	}
	return string(c.m.key) + c.seq
}

// Reset discards the open sequence, if any, without forwarding it.
func (c *Collector) Reset() {
	c.open = false
	c.seq = ""
}

// Feed handles one DTMF digit, "0"-"9", "*", "#" or "A"-"D", following the
// rules in the package documentation. Anything else yields an Invalid
// Result and leaves the state unchanged.
func (c *Collector) Feed(digit string) Result {
	if len(digit) != 1 || !isDTMF(digit[0]) {
		return Result{Kind: Invalid, Err: fmt.Errorf("%w %q", ErrInvalidDigit, digit)}
	}
	d := digit[0]
	key := string(c.m.key)
	if !c.open {
		if d == c.m.key {
			c.open = true
			c.seq = ""
			return Result{Kind: Pending}
		}
		return Result{Kind: None, Forward: digit}
	}
	if digit == Terminator && c.m.terminator {
		return c.resolve(Terminator)
	}
	if d == c.m.key && c.seq == "" {
		// "**": the first key is an ordinary digit; a new sequence is open.
		return Result{Kind: Pending, Forward: key}
	}
	cand := c.seq + digit
	full, ext := c.m.feasible(cand)
	switch {
	case ext:
		c.seq = cand
		return Result{Kind: Pending}
	case full:
		c.Reset()
		r, _ := c.m.lookup(cand)
		return r
	case d == c.m.key:
		// The binding key cannot continue the sequence: abandon it (forward
		// it) and start over.
		fwd := key + c.seq
		c.seq = ""
		return Result{Kind: Pending, Forward: fwd}
	default:
		c.Reset()
		return Result{Kind: NoMatch, Code: cand, Forward: key + cand}
	}
}

// Timeout is called when the inter-digit timer fires: it resolves what was
// collected like the terminator does. With no sequence open it returns a
// None Result with nothing to forward and changes nothing.
func (c *Collector) Timeout() Result {
	if !c.open {
		return Result{Kind: None}
	}
	return c.resolve("")
}

// resolve closes the sequence: the exact number, else the first matching
// pattern in precedence order, else NoMatch.
func (c *Collector) resolve(terminator string) Result {
	code := c.seq
	c.Reset()
	if r, ok := c.m.lookup(code); ok {
		return r
	}
	return Result{Kind: NoMatch, Code: code, Forward: string(c.m.key) + code + terminator}
}

// Bound returns the action of the one code the open sequence can still
// become, when only one can: after "*2" with the default configuration,
// the attended transfer, whatever number follows. ok is false when no
// sequence is open, when nothing has been typed after the binding key, or
// when two codes (numbers or patterns) are still possible. The application
// uses it to act on what the code will do before it is complete (a
// transfer holds the transferee as soon as its prefix is typed, as
// Asterisk's atxfer does). Action.Data is a copy.
func (c *Collector) Bound() (a Action, ok bool) {
	if !c.open || c.seq == "" {
		return Action{}, false
	}
	r, ok := c.m.only(c.seq)
	if !ok {
		return Action{}, false
	}
	return cloneAction(r.action), true
}
