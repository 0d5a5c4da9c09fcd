package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/transferd/transferd/ari"
)

// Connected line. A phone shows who it is talking to (its connected line).
// Asterisk sets it when a call is answered, but moving channels between
// ARI bridges tells no one: after a transfer Bob would still see Alice.
// So, after every change of a call, the two parties talking in the call's
// bridge are each told who the other is (CONNECTEDLINE(all) set through
// ARI, which Asterisk sends to a SIP phone as a re-INVITE or UPDATE with
// P-Asserted-Identity), as Asterisk's own attended transfer does: while
// consulting Alice sees Carol, after completion Bob and Carol see each
// other, after a takeback Alice sees Bob again.

// identity is how a party is shown: its caller id.
type identity struct{ name, number string }

func (id identity) String() string {
	return fmt.Sprintf("%q <%s>", id.name, id.number)
}

// connectedLines is a call's connected-line bookkeeping.
type connectedLines struct {
	known map[ari.ChannelID]identity // each leg's own identity, once read
	shown map[ari.ChannelID]identity // what each leg was last told
}

// syncConnected tells the two parties talking in the call's bridge who the
// other is, when that changed. Anything else (ringing, three parties, one)
// changes nothing.
func (c *Call) syncConnected(ctx context.Context) {
	if c.ended || c.stopped || c.phase != phaseTalking {
		return
	}
	var talking []*leg
	for _, l := range c.liveParties() {
		if c.xfer != nil && c.xfer.Held == string(l.id) {
			continue
		}
		talking = append(talking, l)
	}
	if len(talking) != 2 {
		return
	}
	if c.lines == nil {
		c.lines = &connectedLines{known: map[ari.ChannelID]identity{}, shown: map[ari.ChannelID]identity{}}
	}
	for i, l := range talking {
		other := talking[1-i]
		id, ok := c.identityOf(ctx, other)
		if !ok {
			continue
		}
		shown, told := c.lines.shown[l.id]
		if !told && (l.role == roleCaller || l.role == roleCallee) {
			// The call's own two legs show each other from the answer on:
			// their first pairing needs no update.
			c.lines.shown[l.id] = id
			continue
		}
		if told && shown == id {
			continue
		}
		if err := c.app.client.Channels.SetVariable(ctx, l.id, "CONNECTEDLINE(all)", id.String()); err != nil {
			if !errors.Is(err, ari.ErrNotFound) {
				c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Msg("connected line update")
			}
			continue
		}
		c.lines.shown[l.id] = id
		c.log.Debug().Str(keyChannelID, string(l.id)).Str("connected", id.String()).Msg("connected line updated")
	}
}

// identityOf is a leg's caller id: as Asterisk reported it with the
// channel, or else read from Asterisk, once. (A caller id transferd filled
// in, fillCallerID, is the leg's number, which an empty one stands for
// here too.)
func (c *Call) identityOf(ctx context.Context, l *leg) (identity, bool) {
	if id, ok := c.lines.known[l.id]; ok {
		return id, true
	}
	var id identity
	if l.reported != nil {
		id = *l.reported
	} else {
		ch, err := c.app.client.Channels.Get(ctx, l.id)
		if err != nil {
			return identity{}, false
		}
		id = identity{name: ch.Caller.Name, number: ch.Caller.Number}
	}
	if id.number == "" {
		id.number = l.number
	}
	id.name = strings.ReplaceAll(id.name, `"`, "")
	c.lines.known[l.id] = id
	return id, true
}
