// Package transfer is the in-call attended transfer of transferd as a pure,
// deterministic state machine.
//
// Next(snapshot, event) returns the next snapshot, the effects the app must
// carry out through ARI and a note for its log. The package does no I/O, reads
// no clock, draws no random numbers, starts no goroutines and logs nothing:
// timers are effects out (StartTimer) and events back in (TimerFired), and new
// ids derive from the transfer's id and a counter in the snapshot.
//
// Parties: the transferor (A) asks for the transfer, the transferee (B) is the
// party being transferred, the target (C) is the number being called. Asterisk
// says "transferer" for the transferor; this package never does.
//
// The behaviour follows Asterisk's main/bridge_basic.c (22.9.0) state for
// state, with the same warn-and-stay rule for unexpected stimuli:
//
//	                Start
//	                  |  (Options.CheckAvailability)
//	                  v
//	Checking --unreachable--> Unavailable
//	  | reachable
//	  v
//	CallingTarget <--swap--> Hesitant            transfer superstate:
//	  | answered                | answered       failure -> Rebridged (from
//	  v                         v                CallingTarget/Consulting) or
//	Consulting <----swap----> DoubleChecking     Resumed (from Hesitant/
//	  | A leaves / complete     |                DoubleChecking); three-way ->
//	  +-------> Completed <-----+                ThreeWay
//
//	CallingTarget/Hesitant --A leaves / complete--> Blond --answered--> Completed
//	  Blond --fails--> Recalling --answered--> Resumed          recall superstate
//	  Recalling --fails--> WaitToRetransfer --> Retransfer --answered--> Completed
//	  Retransfer --fails--> WaitToRecall --> Recalling ...
//	  retries used up (or no callback) --> Fallback --answered--> FellBack
//	                                     (or "hangup" kind) --> Abandoned
//
// The transferee leaving ends every non-terminal state (Failed).
//
// # Bridges and audio
//
// The call's own bridge (Transfer.CallBridge) is the talk bridge: whoever the
// transferor talks to is with the transferor in it. A holding bridge
// "<ID>-hold" with music on hold holds the party on hold; it exists exactly
// while somebody is held. Dialed legs ("<ID>-target-<n>", "<ID>-recall-<n>",
// "<ID>-fallback") are added to the call bridge before they are dialed, so
// early media flows; the party waiting for them hears a ringback playback
// ("<ID>-ringback-<n>"). One step that creates several ids gives them the same
// <n> (Transfer.Seq), so ids are unique and deterministic.
//
// # Contract with the app
//
// Run the effects of one batch in order, all of them, even after one fails
// (Finish must always be reached). Then, for each failed effect for which
// Critical reports true, feed an EffectFailed back through Next, before any
// other event. Failures of other effects are best effort: log them; feeding
// them back is a harmless no-op. The rule per effect is on EffectFailed.
//
// Every terminal state emits exactly one Finish, as the last effect of the
// batch that enters it. From then on the call is an ordinary call made of
// Finish.Parties; a later transfer on it is a new Transfer.
package transfer
