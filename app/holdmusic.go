package app

import (
	"context"
	"errors"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// Music for the parties on hold.
//
// A holding bridge can play music on hold to each party in it by itself:
// Asterisk's bridge_holding starts music on a "holding_participant" that
// joins with no announcer there, in the channel's music class ("default"
// unless the dialplan set another with CHANNEL(musicclass)), and stops it
// when the party leaves. Stasis gives a channel added with no role that
// role with idle_mode "none" (res/stasis/stasis_bridge.c: silence), so
// transferd names the role itself (joinParams). ARI's bridge
// music (POST /bridges/{id}/moh) adds an announcer instead: an Announcer
// channel pair and a thread of its own that play one class to every party.
// With the music heard either way, the announcer cost Asterisk about 12 ms
// of CPU per transferred call in the load bench (BENCHMARKS.md, issue 15),
// plus a request to start it and one to stop it. So the announcer plays
// only a class other than the default (ARI cannot give the role the
// class); the default class is the bridge's own music, with nothing to
// start, stop or restart.

// roleOwnMusic is the bridge role whose idle mode is music on hold.
const roleOwnMusic = "holding_participant"

// ownMusic says whether a holding bridge's own music plays class.
func ownMusic(class string) bool {
	return class == "" || class == transfer.DefaultMOHClass
}

// startHoldMusic makes class play in holding bridge b.
func startHoldMusic(ctx context.Context, cl *ari.Client, b ari.BridgeID, class string) error {
	if ownMusic(class) {
		return nil
	}
	return cl.Bridges.StartMOH(ctx, b, class)
}

// stopHoldMusic stops the announcer of holding bridge b, if class needed
// one; an announcer already gone is no error.
func stopHoldMusic(ctx context.Context, cl *ari.Client, b ari.BridgeID, class string) error {
	if ownMusic(class) {
		return nil
	}
	err := cl.Bridges.StopMOH(ctx, b)
	if errors.Is(err, ari.ErrNotFound) || errors.Is(err, ari.ErrConflict) {
		return nil
	}
	return err
}

// joinParams are the parameters that add ids to bridge b: a hold bridge
// that plays its own music gives them the role that hears it.
func (c *Call) joinParams(b ari.BridgeID, ids ...ari.ChannelID) ari.AddChannelParams {
	p := ari.AddChannelParams{Channels: ids, AbsorbDTMF: true}
	if c.holdBridges[b] && ownMusic(c.holdClass(b)) {
		p.Role = roleOwnMusic
	}
	return p
}

// holdClass is the music class of the call's hold bridge b: that of the
// transfer (current or last) or of the hold made ahead of a code it
// belongs to; "?" when none says (the announcer is then stopped in case).
func (c *Call) holdClass(b ari.BridgeID) string {
	for _, t := range []*transfer.Transfer{c.xfer, c.lastXfer} {
		if t != nil && string(b) == transfer.HoldBridgeOf(t.ID) {
			return t.Opts.MOHClass
		}
	}
	if h := c.prehold; h != nil && h.bridge == b {
		return h.class
	}
	return "?"
}
