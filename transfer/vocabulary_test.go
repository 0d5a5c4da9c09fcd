package transfer

import (
	"encoding/json"
	"slices"
	"testing"
)

// Every action that does not start a transfer names a command, every
// command is named by an action, and a command's JSON is its action.
func TestActionsNameTheCommands(t *testing.T) {
	for _, a := range Actions {
		c := CommandNamed(a)
		if StartsTransfer(a) != (c == CommandNone) {
			t.Errorf("action %q: StartsTransfer = %v, CommandNamed = %s", a, StartsTransfer(a), c)
		}
	}
	for _, c := range Commands() {
		if !slices.Contains(Actions, c.String()) {
			t.Errorf("command %s is not an action (%v)", c, Actions)
		}
		b, err := json.Marshal(c)
		if err != nil || string(b) != `"`+c.String()+`"` {
			t.Errorf("json.Marshal(%s) = %s, %v; want the action's word", c, b, err)
		}
	}
	if CommandNamed(ActionTransfer) != CommandNone || CommandNamed("none") != CommandNone {
		t.Error("an action that starts a transfer, or \"none\", names a command")
	}
}
