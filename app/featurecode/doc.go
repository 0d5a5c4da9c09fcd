// Package featurecode recognises in-call DTMF feature codes ("Konami codes"
// in Kazoo) such as *22600 (attended transfer to 2600) or *0 (cancel).
//
// It is pure logic: the application feeds it the digits a caller presses and
// the firing of an inter-digit timer, and it answers which action to run and
// which digits to pass on to the other party.
//
// # Configuration
//
// The configuration has the shape of a Kazoo metaflow:
//
//	binding_key: "*"            # the digit that starts a code (default "*")
//	numbers:                    # exact codes after the binding key
//	  "0": {module: cancel}
//	  "9": {module: swap}
//	patterns:                   # Go regular expressions, matched against the
//	  '2(\d+)':                 # WHOLE code after the binding key
//	    module: transfer
//	    data: {takeback_dtmf: "*1"}
//
// The binding key is one of 0-9, *, #, A-D. Codes are made of 0-9, *, A-D,
// are 1 to 32 digits long (MaxSequenceLen) and never contain "#". The parts
// of a code that match the groups of a pattern, e.g. "2600" in *22600, are
// handed to the action as its arguments.
//
// Modules are the words of transfer.Actions, the vocabulary the HTTP API
// and the transfer state machine's commands share: transfer (attended
// transfer), blind_transfer, cancel (cancel a transfer, take the held party
// back), swap (talk to the other party), threeway (join all three) and
// complete (leave, connecting the others).
//
// The default configuration (Default) is:
//
//	*0  cancel          *1  cancel (takeback)
//	*3  threeway        *4  complete
//	*9  swap
//	*2<number>  attended transfer to <number>
//	*7<number>  blind transfer to <number>
//
// The configuration is checked as a whole when it is loaded, and every
// problem is reported, naming the entry at fault, for example
//
//	patterns["2(\d+"]: error parsing regexp: missing closing ): `2(\d+`
//	numbers["5"]: unknown module "park" (want one of transfer, ...)
//	numbers["21"] conflicts with patterns["2(\d+)"]: both match code "21"
//
// It is an error for a number or pattern to name an unknown module, for a
// regular expression not to compile, for a pattern to match the empty code
// or no code at all, for a number to start with the binding key, contain "#"
// or be longer than 32 digits, and for a number to be a code that a pattern
// also matches (the code would be ambiguous).
//
// Takeback: as in Kazoo, a transfer pattern may carry
// data.takeback_dtmf, e.g. "*1". It must be the binding key followed by a
// code. That code ("1") is registered as a number with module cancel,
// unless numbers already defines it (then the number wins). Unlike Kazoo,
// a transfer pattern without takeback_dtmf gets no implicit "*1"; the
// default configuration defines "1" explicitly.
//
// # How digits are handled
//
//   - With no code being typed, a digit other than the binding key is an
//     ordinary digit and is passed on to the other party.
//   - The binding key starts a code. The binding key itself is not passed on
//     yet.
//   - A code fires as soon as it is unambiguous: the digits typed so far
//     match a code and no longer code could still match. With numbers "0" and
//     "9" and pattern 2(\d{4}), *0, *9 and *22600 fire on the last digit. A
//     pattern such as 2(\d+) can always take another digit, so *22600 waits
//     for "#" or the timeout.
//   - "#" ends a code early: what was typed is resolved, and "#" is not part
//     of the code. (If the binding key is "#" there is no terminator; codes
//     end by being unambiguous or by the timeout.)
//   - When no digit has been pressed for the inter-digit timeout, what was
//     typed is resolved.
//   - As soon as the digits typed can no longer be the start of any code
//     (e.g. *5 with the default configuration), the code fails at once.
//   - A code that reaches 32 digits is resolved at once.
//   - Pressing the binding key twice ("**") passes one binding key on to the
//     other party and starts a new code, so "**" sends a literal "*" (e.g.
//     to an IVR). More generally, a binding key that cannot continue the
//     code being typed abandons it (its digits, binding key included, are
//     passed on) and starts a new one: *22*0 passes on "*22" and cancels.
//     A binding key that can continue a code (a pattern such as 2([0-9*]+))
//     is an ordinary digit of it.
//   - Unknown codes change nothing: when a code fails, all its digits (the
//     binding key, the digits typed, and the "#" if one ended it) are passed
//     on to the other party, in order.
//
// Resolving (on "#", the timeout, or an unambiguous code) picks, in order of
// precedence: the number equal to the code; else the first pattern that
// matches the whole code, trying longer pattern sources first and patterns
// of equal length in lexical order. (Because a number may not also match a
// pattern, numbers and patterns never compete; patterns may overlap and are
// then chosen by this order.)
//
// # Use from the application
//
// Build one Matcher per configuration with New (it is immutable and safe for
// concurrent use) and one Collector per call leg with NewCollector (not safe
// for concurrent use). For every DTMF event call Feed; call Timeout when the
// inter-digit timer fires. Run that timer only while Collecting reports
// true, restarting it after each Feed. Whatever the Kind, pass
// Result.Forward on to the other party if it is not empty, and run
// Result.Action when Kind is Matched (Result.Args holds the pattern's
// groups, Result.Source names the entry that matched, for logs). Pending
// returns the digits of an open code, and Reset drops them, e.g. when the
// call leg changes state.
package featurecode
