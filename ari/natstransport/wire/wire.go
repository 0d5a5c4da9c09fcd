// Package wire is the ari-proxy v5 message format on NATS: subjects,
// requests (a kind, a Key and one per-operation struct), responses,
// announcements and event envelopes, plus the mapping between those
// messages and ARI's REST calls that both sides of transferd's NATS mode
// share (natstransport on the application side, natsproxy on the Asterisk
// side).
//
// The JSON shapes follow CyCoreSystems/ari-proxy v5 (proxy/types.go) and the
// models of CyCoreSystems/ari v5 it serialises, so a stock ari-proxy server
// or client can be on the other end. Where transferd needs something v5 has
// no field or kind for, this package adds an optional field or a clearly
// named extension kind; a stock peer ignores the field, and answers an
// unknown kind with "Not implemented". Each extension is marked below.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults and names fixed by the stock ari-proxy.
const (
	// DefaultPrefix starts every subject.
	DefaultPrefix = "ari."
	// CreateQueue is the NATS queue group the proxies' create subscriptions
	// share, so a create without a node is served by exactly one proxy.
	CreateQueue = "ariproxy"
	// StasisStartQueue is the queue group in which clients listen to
	// ari.event.<app>.> for StasisStart, so each new call reaches exactly
	// one application instance (client/listen.go's ListenQueue).
	StasisStartQueue = "ARIProxyStasisStartDistributorQueue"
	// AnnounceInterval is how often a proxy announces itself.
	AnnounceInterval = time.Minute
	// NotFound is the error text of a response for a missing entity.
	NotFound = "Not found"
)

// HeaderCreated is set to "true" (an extension; stock clients ignore NATS
// headers) on a StasisStart that natsproxy publishes for a channel created
// by a request through the proxy (create, originate, snoop). Such a channel
// belongs to the instance that created it, so natstransport does not hand
// its StasisStart out as a new call through the StasisStart queue group.
const HeaderCreated = "Ari-Proxy-Created"

// HeaderNode names the node that sent a reply or event (an extension set by
// natsproxy; a stock server's node is read from the answer's key or the
// event's subject instead).
const HeaderNode = "Ari-Proxy-Node"

// Request classes: the second token of a request subject.
const (
	ClassGet     = "get"
	ClassData    = "data"
	ClassCommand = "command"
	ClassCreate  = "create"
)

// Key names a resource across nodes: ari v5's Key. Every field is
// optional; Node is the Asterisk entity id (or the name the proxy announces).
type Key struct {
	Kind   string `json:"kind,omitempty"`
	ID     string `json:"id,omitempty"`
	Node   string `json:"node,omitempty"`
	Dialog string `json:"dialog,omitempty"`
	App    string `json:"app,omitempty"`
}

// Key kinds (ari v5 key.go).
const (
	KindApplication = "application"
	KindAsterisk    = "asterisk"
	KindBridge      = "bridge"
	KindChannel     = "channel"
	KindDeviceState = "devicestate"
	KindEndpoint    = "endpoint"
	KindPlayback    = "playback"
	KindVariable    = "variable"

	KindLiveRecording   = "liverecording"
	KindLogging         = "logging"
	KindMailbox         = "mailbox"
	KindModule          = "module"
	KindSound           = "sound"
	KindStoredRecording = "storedrecording"
	// KindConfig has no key kind in v5 (its ConfigData keys are
	// "<class>.<type>.<id>" of whatever kind the caller gave); natsproxy
	// answers with this one.
	KindConfig = "config"
)

// Request is one request from a client to the proxies.
type Request struct {
	Kind string `json:"kind"`
	Key  *Key   `json:"key"`

	ApplicationSubscribe *ApplicationSubscribe `json:"application_subscribe,omitempty"`
	AsteriskVariableSet  *AsteriskVariableSet  `json:"asterisk_variable_set,omitempty"`

	BridgeAddChannel    *BridgeAddChannel    `json:"bridge_add_channel,omitempty"`
	BridgeCreate        *BridgeCreate        `json:"bridge_create,omitempty"`
	BridgeMOH           *BridgeMOH           `json:"bridge_moh,omitempty"`
	BridgePlay          *BridgePlay          `json:"bridge_play,omitempty"`
	BridgeRemoveChannel *BridgeRemoveChannel `json:"bridge_remove_channel,omitempty"`

	ChannelCreate    *ChannelCreate    `json:"channel_create,omitempty"`
	ChannelContinue  *ChannelContinue  `json:"channel_continue,omitempty"`
	ChannelDial      *ChannelDial      `json:"channel_dial,omitempty"`
	ChannelHangup    *ChannelHangup    `json:"channel_hangup,omitempty"`
	ChannelMOH       *ChannelMOH       `json:"channel_moh,omitempty"`
	ChannelMute      *ChannelMute      `json:"channel_mute,omitempty"`
	ChannelOriginate *ChannelOriginate `json:"channel_originate,omitempty"`
	ChannelPlay      *ChannelPlay      `json:"channel_play,omitempty"`
	ChannelSendDTMF  *ChannelSendDTMF  `json:"channel_send_dtmf,omitempty"`
	ChannelSnoop     *ChannelSnoop     `json:"channel_snoop,omitempty"`
	ChannelVariable  *ChannelVariable  `json:"channel_variable,omitempty"`

	EndpointListByTech *EndpointListByTech `json:"endpoint_list_by_tech,omitempty"`
	PlaybackControl    *PlaybackControl    `json:"playback_control,omitempty"`

	// Extensions: v5 has no kind for these operations.
	ChannelMove     *ChannelMove     `json:"channel_move,omitempty"`
	ChannelRedirect *ChannelRedirect `json:"channel_redirect,omitempty"`
	// ChannelTransferProgress is the body of the extension kind of that name.
	ChannelTransferProgress *ChannelTransferProgress `json:"channel_transfer_progress,omitempty"`

	// The rest of v5's bodies (stock.go), served by natsproxy only.
	StockBodies
}

// ApplicationSubscribe is the body of ApplicationSubscribe and
// ApplicationUnsubscribe. EventSource may list several sources separated by
// commas (ARI splits them).
type ApplicationSubscribe struct {
	EventSource string `json:"event_source"`
}

// AsteriskVariableSet is the body of AsteriskVariableSet; the variable's
// name is the Key's ID.
type AsteriskVariableSet struct {
	Value string `json:"value"`
}

// BridgeAddChannel is the body of BridgeAddChannel. Channel may list several
// ids separated by commas for natsproxy, which passes it to Asterisk in the
// query string, where ARI splits it. A stock server passes it in a JSON
// body, where Asterisk takes the whole list for one id ("Channel not
// found"), and binds the dialog to that one wrong id: natstransport sends a
// stock server one channel per request (Options.StockServer). A stock
// server also drops AbsorbDTMF, Mute and Role: the channel joins with
// Asterisk's defaults (DTMF passes through the bridge, not muted, no role).
type BridgeAddChannel struct {
	Channel    string `json:"channel"`
	AbsorbDTMF bool   `json:"absorbDTMF,omitempty"`
	Mute       bool   `json:"mute,omitempty"`
	Role       string `json:"role,omitempty"`
	// Extension.
	InhibitConnectedLineUpdates bool `json:"inhibitConnectedLineUpdates,omitempty"`
}

// BridgeCreate is the body of BridgeCreate; the bridge's id is the Key's ID.
type BridgeCreate struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// BridgeMOH is the body of BridgeMOH.
type BridgeMOH struct {
	Class string `json:"class"`
}

// BridgePlay is the body of BridgePlay. MediaURI may list several URIs
// separated by commas (ARI splits them).
type BridgePlay struct {
	PlaybackID string `json:"playback_id"`
	MediaURI   string `json:"media_uri"`
	PlayOptions
}

// PlayOptions are the extension fields of ChannelPlay and BridgePlay.
type PlayOptions struct {
	Lang     string `json:"lang,omitempty"`
	OffsetMS int    `json:"offsetms,omitempty"`
	SkipMS   int    `json:"skipms,omitempty"`
}

// BridgeRemoveChannel is the body of BridgeRemoveChannel (a comma list for
// natsproxy only, as in BridgeAddChannel).
type BridgeRemoveChannel struct {
	Channel string `json:"channel"`
}

// ChannelCreate is the body of ChannelCreate.
type ChannelCreate struct {
	ChannelCreateRequest ChannelCreateRequest `json:"channel_create_request"`
}

// ChannelCreateRequest is ari v5's ChannelCreateRequest.
type ChannelCreateRequest struct {
	Endpoint       string `json:"endpoint"`
	App            string `json:"app"`
	AppArgs        string `json:"appArgs,omitempty"`
	ChannelID      string `json:"channelId,omitempty"`
	OtherChannelID string `json:"otherChannelId,omitempty"`
	Originator     string `json:"originator,omitempty"`
	Formats        string `json:"formats,omitempty"`
	// Extension: v5 cannot set variables at creation. A stock server drops
	// them; natstransport then sets them with ChannelVariableSet (see its
	// Options.StockServer).
	Variables map[string]string `json:"variables,omitempty"`
}

// ChannelContinue is the body of ChannelContinue.
type ChannelContinue struct {
	Context   string `json:"context"`
	Extension string `json:"extension"`
	Priority  int    `json:"priority"`
	// Extension.
	Label string `json:"label,omitempty"`
}

// ChannelDial is the body of ChannelDial. Timeout is a Go duration in
// nanoseconds, as ari v5 encodes time.Duration.
type ChannelDial struct {
	Caller  string        `json:"caller"`
	Timeout time.Duration `json:"timeout"`
}

// ChannelHangup is the body of ChannelHangup.
type ChannelHangup struct {
	Reason string `json:"reason"`
}

// ChannelMOH is the body of ChannelMOH.
type ChannelMOH struct {
	Music string `json:"music"`
}

// ChannelMute is the body of ChannelMute and ChannelUnmute.
type ChannelMute struct {
	Direction string `json:"direction,omitempty"`
}

// ChannelOriginate is the body of ChannelOriginate.
type ChannelOriginate struct {
	OriginateRequest OriginateRequest `json:"originate_request"`
}

// OriginateRequest is ari v5's OriginateRequest.
type OriginateRequest struct {
	Endpoint       string            `json:"endpoint"`
	Timeout        int               `json:"timeout,omitempty"`
	CallerID       string            `json:"callerId,omitempty"`
	Context        string            `json:"context,omitempty"`
	Extension      string            `json:"extension,omitempty"`
	Priority       int64             `json:"priority,omitempty"`
	App            string            `json:"app,omitempty"`
	AppArgs        string            `json:"appArgs,omitempty"`
	Label          string            `json:"label,omitempty"`
	Originator     string            `json:"originator,omitempty"`
	Formats        string            `json:"formats,omitempty"`
	ChannelID      string            `json:"channelId,omitempty"`
	OtherChannelID string            `json:"otherChannelId,omitempty"`
	Variables      map[string]string `json:"variables,omitempty"`
}

// ChannelPlay is the body of ChannelPlay (comma list of URIs allowed).
type ChannelPlay struct {
	PlaybackID string `json:"playback_id"`
	MediaURI   string `json:"media_uri"`
	PlayOptions
}

// ChannelSendDTMF is the body of ChannelSendDTMF.
type ChannelSendDTMF struct {
	DTMF    string       `json:"dtmf"`
	Options *DTMFOptions `json:"options,omitempty"`
}

// DTMFOptions is ari v5's DTMFOptions: untagged Go durations, so the JSON
// keys are the Go field names and the values nanoseconds.
type DTMFOptions struct {
	Before   time.Duration `json:"Before"`
	Between  time.Duration `json:"Between"`
	Duration time.Duration `json:"Duration"`
	After    time.Duration `json:"After"`
}

// ChannelSnoop is the body of ChannelSnoop.
type ChannelSnoop struct {
	SnoopID string        `json:"snoop_id"`
	Options *SnoopOptions `json:"options,omitempty"`
}

// SnoopOptions is ari v5's SnoopOptions.
type SnoopOptions struct {
	App     string `json:"app"`
	AppArgs string `json:"appArgs,omitempty"`
	Spy     string `json:"spy,omitempty"`
	Whisper string `json:"whisper,omitempty"`
}

// ChannelVariable is the body of ChannelVariableGet and ChannelVariableSet.
type ChannelVariable struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// EndpointListByTech is the body of EndpointListByTech.
type EndpointListByTech struct {
	Tech string `json:"tech"`
}

// PlaybackControl is the body of PlaybackControl.
type PlaybackControl struct {
	Command string `json:"command"`
}

// ChannelMove is the body of the extension kind ChannelMove.
type ChannelMove struct {
	App     string `json:"app"`
	AppArgs string `json:"app_args,omitempty"`
}

// ChannelTransferProgress is the body of the extension kind
// ChannelTransferProgress: the state the phone is told (channel_progress,
// channel_answered, channel_unavailable, channel_declined).
type ChannelTransferProgress struct {
	States string `json:"states"`
}

// ChannelRedirect is the body of the extension kind ChannelRedirect.
type ChannelRedirect struct {
	Endpoint string `json:"endpoint"`
}

// Response answers a Request. Error is empty on success; "Not found" for a
// missing entity, else the failure's text.
type Response struct {
	Error string      `json:"error"`
	Data  *EntityData `json:"data,omitempty"`
	Key   *Key        `json:"key,omitempty"`
	Keys  []*Key      `json:"keys,omitempty"`

	// Extensions, set by natsproxy (a stock server leaves them out):
	// Status is Asterisk's HTTP status, Message its {"message": …}, and
	// Items the full objects of a list (so a list needs no data request
	// per key).
	Status  int               `json:"status,omitempty"`
	Message string            `json:"message,omitempty"`
	Items   []json.RawMessage `json:"items,omitempty"`
}

// EntityData carries one entity as Asterisk's JSON (ari v5's models are
// Asterisk's JSON plus a "key"), kept raw so nothing is lost in transit.
type EntityData struct {
	Application json.RawMessage `json:"application,omitempty"`
	Asterisk    json.RawMessage `json:"asterisk,omitempty"`
	Bridge      json.RawMessage `json:"bridge,omitempty"`
	Channel     json.RawMessage `json:"channel,omitempty"`
	DeviceState json.RawMessage `json:"device_state,omitempty"`
	Endpoint    json.RawMessage `json:"endpoint,omitempty"`
	Playback    json.RawMessage `json:"playback,omitempty"`
	Variable    string          `json:"variable,omitempty"`

	Config          json.RawMessage `json:"config,omitempty"`
	LiveRecording   json.RawMessage `json:"live_recording,omitempty"`
	Log             json.RawMessage `json:"log,omitempty"`
	Mailbox         json.RawMessage `json:"mailbox,omitempty"`
	Module          json.RawMessage `json:"module,omitempty"`
	Sound           json.RawMessage `json:"sound,omitempty"`
	StoredRecording json.RawMessage `json:"stored_recording,omitempty"`
}

// statusInText finds an HTTP status in a stock server's error text, which
// is the native ARI client's error: "Non-2XX response: 404 Not Found".
var statusInText = regexp.MustCompile(`\b([45][0-9][0-9])\b`)

// StatusOf is the HTTP status a failed Response stands for: natsproxy's
// Status; 404 for "Not found"; the status in a stock server's error text
// ("Non-2XX response: 409 Conflict"); else 500. It is 200 for a success.
func StatusOf(r *Response) int {
	switch {
	case r.Error == "":
		return http.StatusOK
	case r.Status != 0:
		return r.Status
	case r.Error == NotFound:
		return http.StatusNotFound
	}
	if m := statusInText.FindStringSubmatch(r.Error); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return http.StatusInternalServerError
}

// IsNotFound reports whether r says the entity does not exist, in any of
// the ways a proxy says it ("Not found", a stock server's "Non-2XX
// response: 404 Not Found", or natsproxy's Status 404).
func IsNotFound(r *Response) bool {
	return r != nil && r.Error != "" && StatusOf(r) == http.StatusNotFound
}

// Announcement is what a proxy publishes on <prefix>announce.
type Announcement struct {
	Node        string `json:"node"`
	Application string `json:"application"`
}

// Subject returns <prefix><class>[.<app>[.<node>]], the three levels a proxy
// listens on.
func Subject(prefix, class, app, node string) string {
	switch {
	case app == "" && node == "":
		return prefix + class
	case node == "":
		return prefix + class + "." + app
	default:
		return prefix + class + "." + app + "." + node
	}
}

// EventSubject returns <prefix>event.<app>.<node>; node "*" or ">" makes a
// wildcard.
func EventSubject(prefix, app, node string) string {
	return prefix + "event." + app + "." + node
}

// DialogToken makes any dialog name (a call id is a channel id, and
// Asterisk's own ids hold dots) a valid subject token: '.', '*', '>', '='
// and white space are written =HH. Names without them are unchanged. The
// transport applies it once, to the names the application gives it.
func DialogToken(d string) string {
	if !strings.ContainsAny(d, ".*>= \t\r\n") {
		return d
	}
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		switch c := d[i]; c {
		case '.', '*', '>', '=', ' ', '\t', '\r', '\n':
			fmt.Fprintf(&b, "=%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DialogEventSubject returns <prefix>dialogevent.<dialog>.
func DialogEventSubject(prefix, dialog string) string {
	return prefix + "dialogevent." + dialog
}

// AnnounceSubject returns <prefix>announce.
func AnnounceSubject(prefix string) string { return prefix + "announce" }

// PingSubject returns <prefix>ping.
func PingSubject(prefix string) string { return prefix + "ping" }

// NodeOfEventSubject returns the node token of an event subject
// (<prefix>event.<app>.<node>), or "".
func NodeOfEventSubject(prefix, subject string) string {
	rest, ok := strings.CutPrefix(subject, prefix+"event.")
	if !ok {
		return ""
	}
	_, node, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return node
}

// ErrBadToken is returned by CheckToken.
var ErrBadToken = errors.New("not a valid NATS subject token")

// CheckToken refuses a name that would change a subject's shape: empty, or
// containing '.', '*', '>' or white space.
func CheckToken(what, s string) error {
	if s == "" || strings.ContainsAny(s, ".*> \t\r\n") {
		return fmt.Errorf("%s %q: %w", what, s, ErrBadToken)
	}
	return nil
}

// CheckPrefix refuses a prefix that does not end a token ("ari." is right).
func CheckPrefix(prefix string) error {
	if prefix == "" || !strings.HasSuffix(prefix, ".") || strings.ContainsAny(prefix, "*> \t\r\n") || strings.Contains(prefix, "..") {
		return fmt.Errorf("prefix %q: want tokens each followed by a dot, e.g. \"ari.\"", prefix)
	}
	return nil
}

// EventDialog returns the "dialog" field a proxy adds to an event it
// publishes on a dialog subject, or "".
func EventDialog(raw []byte) string {
	var v struct {
		Dialog string `json:"dialog"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v.Dialog
}

// SetEventFields returns raw (a JSON object) with the given top-level fields
// set, for the proxy's "dialog" tag and its asterisk_id rewrite. Fields
// with an empty value are left alone.
func SetEventFields(raw []byte, fields map[string]string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("event is not a JSON object: %w", err)
	}
	for k, v := range fields {
		if v == "" {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return json.Marshal(m)
}
