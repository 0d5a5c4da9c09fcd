package transfer

// The action vocabulary: the words for what a user asks of a call, declared
// once. A feature code's module names one (featurecode), the HTTP API takes
// one as data.action (httpapi), the operator page offers the commands the
// event stream's transfer state accepts (app/ui), and the four that control
// a running transfer are the names of the Commands below (CommandNamed,
// Command.String and its JSON form).
//
// They live here rather than in a leaf package of their own because this
// package is already the bottom of the house: it imports only the standard
// library, and every package that names an action sits above it. A separate
// package would either make transfer import something beyond the standard
// library or leave the commands' names declared apart from the words.
const (
	ActionTransfer      = "transfer"       // attended transfer to a number
	ActionBlindTransfer = "blind_transfer" // blind transfer to a number
	ActionCancel        = "cancel"         // cancel the transfer / take the transferee back (CommandCancel)
	ActionComplete      = "complete"       // complete the transfer, leave the call (CommandComplete)
	ActionSwap          = "swap"           // talk to the other party (CommandSwap)
	ActionThreeWay      = "threeway"       // join all three parties (CommandThreeWay)
)

// Actions lists the vocabulary in the order the documentation gives it.
// Callers must not modify it.
var Actions = []string{
	ActionTransfer, ActionBlindTransfer, ActionCancel,
	ActionComplete, ActionSwap, ActionThreeWay,
}

// StartsTransfer says whether action starts a transfer (and so needs a
// number) rather than controlling a running one, which it does through the
// Command of the same name.
func StartsTransfer(action string) bool {
	return action == ActionTransfer || action == ActionBlindTransfer
}
