package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// CallInfo is a call as the API and the event stream show it.
type CallInfo struct {
	ID       string        `json:"call_id"`
	Account  string        `json:"account_id"`
	Bridge   string        `json:"bridge_id"`
	State    string        `json:"state"`               // dialing, talking, ended
	Started  time.Time     `json:"started_at,omitzero"` // the caller's channel's creation time
	Parties  []PartyInfo   `json:"parties"`
	Transfer *TransferInfo `json:"transfer,omitempty"`
	// LastTransfer is the most recent finished transfer, for "completed" or
	// "failed: busy" after the fact.
	LastTransfer *TransferInfo `json:"last_transfer,omitempty"`
	// Converging: Asterisk may not match this view yet (effects failed or
	// ARI is unreachable, or a timer that fired meanwhile waits for it);
	// transferd is bringing it in line.
	Converging bool `json:"converging,omitempty"`
}

// PartyInfo is one leg of a call.
type PartyInfo struct {
	Channel string `json:"channel_id"`
	Role    string `json:"role"`
	Number  string `json:"number,omitempty"`
	Name    string `json:"name,omitempty"` // caller id name, when Asterisk gave one
	State   string `json:"state"`          // ringing, up, held, gone
}

// TransferInfo is a transfer as the API shows it.
type TransferInfo struct {
	ID         string `json:"transfer_id"`
	State      string `json:"state"`
	Target     string `json:"target"`
	Transferor string `json:"transferor"`
	Transferee string `json:"transferee"`
	Outcome    string `json:"outcome,omitempty"`
}

// Info returns the call's latest published view. Safe from any goroutine.
func (c *Call) Info() CallInfo {
	if p := c.info.Load(); p != nil {
		return *p
	}
	return CallInfo{ID: c.id, Account: c.acct.name, Bridge: string(c.bridge), State: "dialing", Started: c.started}
}

// Account is the call's account name.
func (c *Call) Account() string { return c.acct.name }

// publish refreshes the call's view and tells the hooks when it changed.
func (c *Call) publish() {
	if !c.ended {
		c.persist() // written only if the snapshot changed
	}
	info := c.snapshotInfo()
	if old := c.info.Load(); old != nil && sameInfo(*old, info) {
		return
	}
	c.info.Store(&info)
	if c.app.hooks.CallChanged != nil {
		c.app.hooks.CallChanged(info)
	}
}

func (c *Call) snapshotInfo() CallInfo {
	info := CallInfo{ID: c.id, Account: c.acct.name, Bridge: string(c.bridge), State: c.phase.String(), Started: c.started}
	if c.ended {
		info.State = "ended"
	}
	held := c.heldParty()
	for _, id := range c.order {
		l := c.legs[id]
		st := "ringing"
		switch {
		case l.gone:
			st = "gone"
		case l.answered && l.id == held:
			st = "held"
		case l.answered:
			st = "up"
		}
		info.Parties = append(info.Parties, PartyInfo{Channel: string(l.id), Role: l.role, Number: l.number, Name: l.name, State: st})
	}
	if c.xfer != nil {
		info.Transfer = transferInfo(*c.xfer)
	}
	if c.lastXfer != nil {
		info.LastTransfer = transferInfo(*c.lastXfer)
	}
	info.Converging = !c.ended && (c.sync.dirty || len(c.sync.deferred) > 0)
	return info
}

// heldParty is the party transferd keeps in a hold bridge, hearing music:
// the open transfer's held party, or the party held while the transferor
// types the number (prehold.go), when no transfer is open yet. The API
// calls him "held", not "up": he does not talk to anyone.
func (c *Call) heldParty() ari.ChannelID {
	switch {
	case c.xfer != nil && c.xfer.HoldBridge != "":
		return ari.ChannelID(c.xfer.Held)
	case c.xfer == nil && c.prehold != nil:
		return c.prehold.transferee
	}
	return ""
}

func transferInfo(t transfer.Transfer) *TransferInfo {
	ti := &TransferInfo{ID: t.ID, State: t.State.String(), Target: t.Number, Transferor: t.Transferor, Transferee: t.Transferee}
	if t.Outcome != transfer.OutcomeNone {
		ti.Outcome = t.Outcome.String()
	}
	return ti
}

func sameInfo(a, b CallInfo) bool {
	if a.State != b.State || a.Converging != b.Converging || len(a.Parties) != len(b.Parties) {
		return false
	}
	for i := range a.Parties {
		if a.Parties[i] != b.Parties[i] {
			return false
		}
	}
	eq := func(x, y *TransferInfo) bool {
		if x == nil || y == nil {
			return x == y
		}
		return *x == *y
	}
	return eq(a.Transfer, b.Transfer) && eq(a.LastTransfer, b.LastTransfer)
}

func replaceNumber(tmpl, number string) string { return strings.ReplaceAll(tmpl, "{number}", number) }

// Do runs an API command on the call's goroutine and waits for its answer.
// action is a word of transfer.Actions;
// channel is the party acting (the transferor); target and data are for
// transfers.
func (c *Call) Do(ctx context.Context, action string, channel string, target string, data map[string]string) (CallInfo, error) {
	reply := make(chan commandResult, 1)
	c.post(command{at: time.Now(), action: action, channel: ari.ChannelID(channel), target: target, data: data, reply: reply})
	select {
	case r := <-reply:
		return r.info, r.err
	case <-ctx.Done():
		return CallInfo{}, ctx.Err()
	}
}

// onCommand executes an API command for Do.
//
// Honest answers: while ARI is known to be unreachable nothing is tried
// (ErrAsteriskUnavailable, the API's 503 with Retry-After). When effects of
// the action fail, the call reconciles with Asterisk before answering: the
// answer is the state actually reached (a transfer may have failed
// instead), or ErrAsteriskUnavailable when Asterisk could not be brought in
// line (transferd keeps converging towards the state in the answer).
func (c *Call) onCommand(ctx context.Context, m command) (CallInfo, error) {
	l := c.legs[m.channel]
	if l == nil || l.gone {
		return CallInfo{}, ErrUnknownCall
	}
	if c.app.ariDown.Load() {
		return c.snapshotInfo(), fmt.Errorf("%w: nothing was changed", ErrAsteriskUnavailable)
	}
	c.codeAt = m.at
	failures := c.sync.failures
	c.sync.stalled = false
	err := c.act(ctx, l, m.action, m.target, m.data)
	if err == nil && c.sync.failures != failures {
		rerr := error(errARIDown)
		if !c.sync.stalled {
			rerr = c.reconcile(ctx)
		}
		if rerr != nil {
			err = fmt.Errorf("%w: the call is now %s, and Asterisk does not match it yet (transferd keeps trying): %v",
				ErrAsteriskUnavailable, c.describeState(), rerr)
		}
	}
	return c.snapshotInfo(), err
}

// describeState names the call's state for messages: its transfer's state,
// or the last transfer's outcome.
func (c *Call) describeState() string {
	switch {
	case c.xfer != nil:
		return "in transfer state " + c.xfer.State.String()
	case c.lastXfer != nil:
		return "after a transfer that ended " + c.lastXfer.Outcome.String()
	}
	return c.phase.String()
}
