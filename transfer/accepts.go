package transfer

// Accepts reports whether a transfer in state s takes command c: the table
// has a row for it. It is what a client may offer (the operator page shows
// a button only when it holds); the call's own checks (who is the
// transferor, is the party still there) still apply.
func Accepts(s State, c Command) bool {
	k := c.kind()
	for _, r := range table {
		if r.from == s && r.on == k {
			return true
		}
	}
	return false
}

// ActiveStates lists the states a running transfer can be in, in order.
func ActiveStates() []State { return append([]State(nil), activeStates...) }

// Commands lists the commands of a running transfer, in order.
func Commands() []Command {
	out := make([]Command, 0, numCommands-1)
	for c := CommandNone + 1; c < numCommands; c++ {
		out = append(out, c)
	}
	return out
}
