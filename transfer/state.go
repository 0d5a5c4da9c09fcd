package transfer

import (
	"fmt"
	"strconv"
)

// State is where a transfer stands. The zero value, StateUnknown, is a
// transfer that was never started.
type State int

// States, in Asterisk's bridge_basic.c vocabulary where one exists.
const (
	StateUnknown State = iota
	// Checking: the target's availability is being checked; nothing has
	// moved, the transferor still talks to the transferee.
	Checking
	// CallingTarget: the transferee is on hold, the target rings in the call
	// bridge, the transferor hears ringback. No-answer clock running.
	CallingTarget
	// Hesitant: swap while ringing; the transferor is back with the
	// transferee, the ringing target waits in the hold bridge. The no-answer
	// clock keeps running (not reset).
	Hesitant
	// Consulting: the target answered; transferor and target talk, the
	// transferee is on hold.
	Consulting
	// DoubleChecking: swap after answer; the transferor is back with the
	// transferee, the target is on hold.
	DoubleChecking
	// Blond: the transferor left (or pressed complete) while the target
	// rang; the transferee hears ringback with the ringing target. The
	// no-answer clock keeps running.
	Blond
	// Recalling: the target failed after a blond transfer; the transferor's
	// callback number is dialed, the transferee hears ringback.
	Recalling
	// WaitToRetransfer: a recall failed; the transferee waits on hold for
	// Options.LoopDelay before the target is dialed again.
	WaitToRetransfer
	// Retransfer: the target is dialed again; the transferee hears ringback.
	Retransfer
	// WaitToRecall: the retransfer failed; the transferee waits on hold for
	// Options.LoopDelay before the transferor is recalled.
	WaitToRecall
	// Fallback: recalls are used up (or there is no callback number); the
	// fallback number is dialed, the transferee hears ringback.
	Fallback

	// Completed (terminal): transferee and target talk in the call bridge.
	Completed
	// ThreeWay (terminal): transferor, transferee and target all in the
	// call bridge.
	ThreeWay
	// Rebridged (terminal): the transfer failed or was cancelled; the
	// transferee was brought back from hold to the transferor.
	Rebridged
	// Resumed (terminal): the transfer failed while the transferor was
	// already with the transferee (Hesitant, DoubleChecking), or the
	// recalled transferor answered.
	Resumed
	// Failed (terminal): a party the transfer needs left (usually the
	// transferee); Finish says who remains.
	Failed
	// Unavailable (terminal): the availability check said the target is
	// unreachable; nothing was moved.
	Unavailable
	// FellBack (terminal): the fallback number answered and talks to the
	// transferee.
	FellBack
	// Abandoned (terminal): nobody could be reached; the transferee was
	// played a goodbye and hung up.
	Abandoned

	numStates
)

var stateNames = [numStates]string{
	StateUnknown:     "StateUnknown",
	Checking:         "Checking",
	CallingTarget:    "CallingTarget",
	Hesitant:         "Hesitant",
	Consulting:       "Consulting",
	DoubleChecking:   "DoubleChecking",
	Blond:            "Blond",
	Recalling:        "Recalling",
	WaitToRetransfer: "WaitToRetransfer",
	Retransfer:       "Retransfer",
	WaitToRecall:     "WaitToRecall",
	Fallback:         "Fallback",
	Completed:        "Completed",
	ThreeWay:         "ThreeWay",
	Rebridged:        "Rebridged",
	Resumed:          "Resumed",
	Failed:           "Failed",
	Unavailable:      "Unavailable",
	FellBack:         "FellBack",
	Abandoned:        "Abandoned",
}

func (s State) String() string {
	if s >= 0 && s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Terminal reports whether s ends the transfer. A terminal state accepts no
// event.
func (s State) Terminal() bool { return s >= Completed && s < numStates }

// MarshalText encodes s by name, so snapshots read well as JSON.
func (s State) MarshalText() ([]byte, error) {
	if s < 0 || s >= numStates {
		return nil, fmt.Errorf("transfer: invalid state %d", int(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	i, ok := lookup(stateNames[:], string(b))
	if !ok {
		return fmt.Errorf("transfer: unknown state %q", b)
	}
	*s = State(i)
	return nil
}

func lookup(names []string, name string) (int, bool) {
	for i, n := range names {
		if n == name && n != "" {
			return i, true
		}
	}
	return 0, false
}

// Role is the part a channel plays in a transfer.
type Role int

// Roles. Dial effects carry RoleTarget, RoleRecall or RoleFallback.
const (
	RoleNone Role = iota
	RoleTransferor
	RoleTransferee
	RoleTarget
	RoleRecall
	RoleFallback
	numRoles
)

var roleNames = [numRoles]string{"none", "transferor", "transferee", "target", "recall", "fallback"}

func (r Role) String() string {
	if r >= 0 && r < numRoles {
		return roleNames[r]
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText encodes r by name.
func (r Role) MarshalText() ([]byte, error) {
	if r < 0 || r >= numRoles {
		return nil, fmt.Errorf("transfer: invalid role %d", int(r))
	}
	return []byte(roleNames[r]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (r *Role) UnmarshalText(b []byte) error {
	i, ok := lookup(roleNames[:], string(b))
	if !ok {
		return fmt.Errorf("transfer: unknown role %q", b)
	}
	*r = Role(i)
	return nil
}

// Command is what the transferor (by feature code) or the HTTP API asks of a
// running transfer.
type Command int

// Commands. CommandNone is the zero value and is never accepted.
const (
	CommandNone Command = iota
	CommandCancel
	CommandComplete
	CommandSwap
	CommandThreeWay
	numCommands
)

// commandNames are the vocabulary's words (vocabulary.go) for the commands.
var commandNames = [numCommands]string{"none", ActionCancel, ActionComplete, ActionSwap, ActionThreeWay}

func (c Command) String() string {
	if c >= 0 && c < numCommands {
		return commandNames[c]
	}
	return "Command(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText encodes c by name ("cancel", "complete", "swap", "threeway").
func (c Command) MarshalText() ([]byte, error) {
	if c < 0 || c >= numCommands {
		return nil, fmt.Errorf("transfer: invalid command %d", int(c))
	}
	return []byte(commandNames[c]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (c *Command) UnmarshalText(b []byte) error {
	i, ok := lookup(commandNames[:], string(b))
	if !ok {
		return fmt.Errorf("transfer: unknown command %q", b)
	}
	*c = Command(i)
	return nil
}

// CommandNamed returns the command whose String is name, or CommandNone: the
// command an action of the vocabulary names (none for the actions that
// start a transfer).
func CommandNamed(name string) Command {
	var c Command
	if c.UnmarshalText([]byte(name)) != nil {
		return CommandNone
	}
	return c
}

// kind is the event kind a Pressed{Command: c} has.
func (c Command) kind() EventKind {
	switch c {
	case CommandCancel:
		return KindCancel
	case CommandComplete:
		return KindComplete
	case CommandSwap:
		return KindSwap
	case CommandThreeWay:
		return KindThreeWay
	}
	return KindUnknown
}

// StateError says that a command has no row in the transfer's current state.
// The HTTP API answers it with 409 Conflict.
type StateError struct {
	State   State
	Command Command
}

func (e *StateError) Error() string {
	return "transfer: cannot " + e.Command.String() + " in state " + e.State.String()
}

// CanApply reports whether Pressed{Command: c} would change t. It returns nil
// when a row of the table accepts the command in t's state, else a
// *StateError.
func CanApply(t Transfer, c Command) error {
	k := c.kind()
	if k == KindUnknown || t.State.Terminal() || match(t, k) < 0 {
		return &StateError{State: t.State, Command: c}
	}
	return nil
}
