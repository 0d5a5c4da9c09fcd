package app

import (
	"context"
	"time"

	"github.com/transferd/transferd/ari"
)

// eventTypes are the ARI event types transferd acts on; Asterisk is asked
// to send the application nothing else (filterEvents). About half of what
// it would send otherwise are ChannelVarset events for the variables
// transferd itself sets, plus bridge and playback chatter nobody reads:
// each costs Asterisk an encoding and a websocket write, and transferd a
// decode. A type added to what app (or the NATS transport and proxy, for
// their dialogs) handles must be added here.
var eventTypes = []string{
	"StasisStart",            // new calls, dialed legs entering, replacements
	"StasisEnd",              // a leg leaves the application
	"Dial",                   // progress and answer of dialed legs
	"ChannelStateChange",     // a second source of "answered"
	"ChannelHangupRequest",   // a party hangs up (with its cause)
	"ChannelDestroyed",       // a leg is gone (with its cause)
	"ChannelDtmfReceived",    // feature codes
	"ChannelTransfer",        // a phone's REFER (refer.go)
	"BridgeBlindTransfer",    // Asterisk's own transfer of a leg (refercore.go)
	"BridgeAttendedTransfer", // the same, attended
	"PlaybackFinished",       // play-then-hangup, ringbacks that ended
	"BridgeDestroyed",        // the NATS transport and proxy close a bridge's dialog
}

// filterTimeout bounds the filter request.
const filterTimeout = 5 * time.Second

// filterEvents sets the application's event filter in Asterisk. A failure
// (an Asterisk older than 13.26/16.3 answers 404 or 405) only costs the
// unfiltered events, which transferd ignores anyway.
func (a *App) filterEvents(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, filterTimeout)
	defer cancel()
	if _, err := a.client.Applications.SetEventFilter(ctx, a.cfg.ARI.App, ari.AllowOnly(eventTypes...)); err != nil {
		a.log.Warn().Err(err).Msg("ARI event filter not set: Asterisk sends every event type")
		return
	}
	a.log.Debug().Strs("types", eventTypes).Msg("ARI event filter set")
}
