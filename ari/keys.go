package ari

import (
	"encoding/json"
	"strings"
)

// ChannelsOf returns the id of every channel ev carries, once each, in field
// order: the event's channel, peer, caller, replace_channel, transferee,
// both transferor legs, the members of a bridge it carries, the channels of
// an endpoint, the target of a playback or recording. Subscriptions match
// ChannelIDs against this list, so an event reaches a call if it touches any
// of the call's channels. A test walks every event type by reflection to
// keep the list complete.
func ChannelsOf(ev Event) []ChannelID {
	k := keysOf(ev)
	return k.channels
}

// BridgesOf returns the id of every bridge ev carries, once each: the bridge,
// bridge_from, the transferor legs' bridges, destination_bridge, the target
// of a bridge playback or recording.
func BridgesOf(ev Event) []BridgeID {
	k := keysOf(ev)
	return k.bridges
}

// keySet collects ids without duplicates. Events carry a handful, so a
// linear scan beats a map.
type keySet struct {
	channels []ChannelID
	bridges  []BridgeID
}

func (k *keySet) channelID(id ChannelID) {
	if id == "" {
		return
	}
	for _, have := range k.channels {
		if have == id {
			return
		}
	}
	k.channels = append(k.channels, id)
}

func (k *keySet) bridgeID(id BridgeID) {
	if id == "" {
		return
	}
	for _, have := range k.bridges {
		if have == id {
			return
		}
	}
	k.bridges = append(k.bridges, id)
}

func (k *keySet) channel(c *Channel) {
	if c != nil {
		k.channelID(c.ID)
	}
}

// bridge adds the bridge and the channels in it: "B entered the bridge A is
// in" concerns A's call as much as B's.
func (k *keySet) bridge(b *Bridge) {
	if b == nil {
		return
	}
	k.bridgeID(b.ID)
	for _, c := range b.Channels {
		k.channelID(c)
	}
}

func (k *keySet) endpoint(e *Endpoint) {
	if e == nil {
		return
	}
	for _, c := range e.ChannelIDs {
		k.channelID(c)
	}
}

// target adds a playback's or recording's target_uri, "channel:<id>" or
// "bridge:<id>", so a call's subscription sees its own playbacks.
func (k *keySet) target(uri string) {
	kind, id, ok := strings.Cut(uri, ":")
	if !ok {
		return
	}
	switch kind {
	case "channel":
		k.channelID(ChannelID(id))
	case "bridge":
		k.bridgeID(BridgeID(id))
	}
}

func keysOf(ev Event) keySet {
	var k keySet
	switch e := ev.(type) {
	case *StasisStart:
		k.channel(&e.Channel)
		k.channel(e.ReplaceChannel)
	case *StasisEnd:
		k.channel(&e.Channel)
	case *ChannelCreated:
		k.channel(&e.Channel)
	case *ChannelDestroyed:
		k.channel(&e.Channel)
	case *ChannelStateChange:
		k.channel(&e.Channel)
	case *ChannelDtmfReceived:
		k.channel(&e.Channel)
	case *ChannelHangupRequest:
		k.channel(&e.Channel)
	case *ChannelEnteredBridge:
		k.channel(e.Channel)
		k.bridge(&e.Bridge)
	case *ChannelLeftBridge:
		k.channel(&e.Channel)
		k.bridge(&e.Bridge)
	case *ChannelVarset:
		k.channel(e.Channel)
	case *ChannelHold:
		k.channel(&e.Channel)
	case *ChannelUnhold:
		k.channel(&e.Channel)
	case *ChannelTalkingStarted:
		k.channel(&e.Channel)
	case *ChannelTalkingFinished:
		k.channel(&e.Channel)
	case *ChannelToneDetected:
		k.channel(&e.Channel)
	case *ChannelCallerId:
		k.channel(&e.Channel)
	case *ChannelConnectedLine:
		k.channel(&e.Channel)
	case *ChannelDialplan:
		k.channel(&e.Channel)
	case *ChannelUserevent:
		k.channel(e.Channel)
		k.bridge(e.Bridge)
		k.endpoint(e.Endpoint)
	case *ChannelTransfer:
		k.channel(&e.ReferredBy.SourceChannel)
		k.channel(e.ReferredBy.ConnectedChannel)
		k.channel(e.ReferTo.DestinationChannel)
		k.channel(e.ReferTo.ConnectedChannel)
		k.bridge(e.ReferredBy.Bridge)
		k.bridge(e.ReferTo.Bridge)
	case *Dial:
		k.channel(&e.Peer)
		k.channel(e.Caller)
		k.channel(e.Forwarded)
	case *BridgeCreated:
		k.bridge(&e.Bridge)
	case *BridgeDestroyed:
		k.bridge(&e.Bridge)
	case *BridgeMerged:
		k.bridge(&e.Bridge)
		k.bridge(&e.BridgeFrom)
	case *BridgeVideoSourceChanged:
		k.bridge(&e.Bridge)
	case *BridgeBlindTransfer:
		k.channel(&e.Channel)
		k.channel(e.ReplaceChannel)
		k.channel(e.Transferee)
		k.bridge(e.Bridge)
	case *BridgeAttendedTransfer:
		k.channel(&e.TransfererFirstLeg)
		k.channel(&e.TransfererSecondLeg)
		k.channel(e.ReplaceChannel)
		k.channel(e.Transferee)
		k.channel(e.TransferTarget)
		k.channel(e.DestinationLinkFirstLeg)
		k.channel(e.DestinationLinkSecondLeg)
		k.channel(e.DestinationThreewayChannel)
		k.bridge(e.TransfererFirstLegBridge)
		k.bridge(e.TransfererSecondLegBridge)
		k.bridgeID(e.DestinationBridge)
		k.bridge(e.DestinationThreewayBridge)
	case *PlaybackStarted:
		k.target(e.Playback.TargetURI)
	case *PlaybackContinuing:
		k.target(e.Playback.TargetURI)
	case *PlaybackFinished:
		k.target(e.Playback.TargetURI)
	case *RecordingStarted:
		k.target(e.Recording.TargetURI)
	case *RecordingFinished:
		k.target(e.Recording.TargetURI)
	case *RecordingFailed:
		k.target(e.Recording.TargetURI)
	case *EndpointStateChange:
		k.endpoint(&e.Endpoint)
	case *ContactStatusChange:
		k.endpoint(&e.Endpoint)
	case *PeerStatusChange:
		k.endpoint(&e.Endpoint)
	case *TextMessageReceived:
		k.endpoint(e.Endpoint)
	case *ApplicationMoveFailed:
		k.channel(&e.Channel)
	case *CallBroadcast:
		k.channel(&e.Channel)
	case *CallClaimed:
		k.channel(&e.Channel)
	case *Unknown:
		k.unknown(e.Raw)
	}
	return k
}

// unknown reads the conventional top-level "channel" and "bridge" objects of
// an event type we do not know, so a future ChannelSomething still reaches
// the call it concerns.
func (k *keySet) unknown(raw json.RawMessage) {
	var v struct {
		Channel *Channel `json:"channel"`
		Bridge  *Bridge  `json:"bridge"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return // a shape we cannot read: the event still goes to wildcard subscriptions
	}
	k.channel(v.Channel)
	k.bridge(v.Bridge)
}
