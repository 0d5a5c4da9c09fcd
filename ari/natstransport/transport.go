// Package natstransport is an ari.Transport that speaks ARI through NATS,
// in the ari-proxy v5 protocol: one proxy per Asterisk (the stock ari-proxy
// or transferd's natsproxy) serves requests and publishes events, and any
// number of application instances share them.
//
// RoundTrip turns each REST call the ari.Client makes into the ari-proxy
// request of the same meaning (package wire has the mapping) and sends it
// to the proxy of the node that owns the resource:
//
//   - the node of an existing channel, bridge or playback is learnt from the
//     events (their subject names the node) and from answers, and forgotten
//     when the resource is destroyed; an operation on a resource whose node
//     is not known yet is broadcast to every proxy, and the first success
//     wins (the others answer "Not found");
//   - a create goes to the node given by ari.WithNode on the call's context,
//     else to the node of the resource it is attached to (the originator of
//     a dial, the channel a playback plays on), else to Options.Node, else
//     to any one proxy through the "ariproxy" queue group;
//   - an operation that would join resources of two nodes (adding a channel
//     of node A to a bridge of node B) is refused with a 422 answer, without
//     asking any proxy: Asterisk cannot bridge across nodes.
//
// Answers come back as Asterisk would have given them (status, JSON body,
// {"message": …} on failure), so ari.Client and ari.Error work unchanged.
//
// Events: see Events for how new calls are shared among instances
// (StasisStart through the stock queue group) and DialogsOnly for receiving
// only one's own calls' events.
package natstransport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport/wire"
)

// Defaults of Options.
const (
	DefaultRequestTimeout = 500 * time.Millisecond // the stock client's
	DefaultCommandTimeout = 5 * time.Second
	DefaultRetries        = 2
	DefaultMaxTracked     = 100_000
	// clusterMaxAge is how long an announcement counts (the stock client's).
	clusterMaxAge = 5 * time.Minute
)

// Options configures New.
type Options struct {
	// Prefix starts every subject; default "ari.".
	Prefix string
	// App is the Stasis application: the subjects' application token.
	// Required.
	App string
	// Node is where creates go when the call names none (ari.WithNode) and
	// is attached to nothing; empty means any one proxy.
	Node string
	// RequestTimeout bounds one attempt of a read (get, data); default
	// 500ms, as the stock client.
	RequestTimeout time.Duration
	// CommandTimeout bounds a command or create. It is not retried after a
	// timeout: Asterisk may have done it, and doing it twice is not
	// harmless. Default 5s.
	CommandTimeout time.Duration
	// Retries is how many more attempts a read gets after a timeout, and
	// any request after "no responders" (no proxy was listening, so
	// nothing was done). Default 2; negative means none.
	Retries int
	// DialogsOnly stops the subscription to every event of the
	// application: a stream then receives the StasisStart of new calls it
	// wins in the queue group, and the events of the dialogs joined with
	// JoinDialog. A new call's channel is joined and bound to the dialog
	// named after its id before its StasisStart is returned, so the
	// application should tag that call's requests with
	// ari.WithDialog(ctx, <channel id>). Events the proxy publishes before
	// the binding (between StasisStart and the bind, a few milliseconds)
	// are not seen; re-read the channel if that matters.
	DialogsOnly bool
	// StockServer says the proxies are the stock ari-proxy, which drops
	// the channel variables of a ChannelCreate: they are then set one by
	// one with ChannelVariableSet after the create.
	StockServer bool
	// MaxTracked bounds the resource→node map and the other per-resource
	// memories (each keeps at most twice this many entries); default
	// 100000.
	MaxTracked int
	// Logger gets a Debug line per request and a Warn line per problem.
	Logger zerolog.Logger
}

// Transport is the NATS ari.Transport. Safe for concurrent use.
type Transport struct {
	nc   *nats.Conn
	opts Options
	log  zerolog.Logger

	nodes *memo // "kind:id" → node
	local *memo // channel id → "" for channels whose StasisStart is this instance's
	seen  *memo // channel id → timestamp of the last StasisStart returned
	clus  *cluster

	annSub *nats.Subscription

	mu      sync.Mutex
	dialogs map[string]struct{}
	streams map[*stream]struct{}
	closed  bool
}

var _ ari.Transport = (*Transport)(nil)

// New checks opts, subscribes to the proxies' announcements and pings them,
// so the cluster is known before the first broadcast. nc should reconnect
// forever (natsbus.Connect); the Transport never closes it.
func New(nc *nats.Conn, opts Options) (*Transport, error) {
	if nc == nil {
		return nil, errors.New("natstransport: nil NATS connection")
	}
	if opts.Prefix == "" {
		opts.Prefix = wire.DefaultPrefix
	}
	if err := wire.CheckPrefix(opts.Prefix); err != nil {
		return nil, fmt.Errorf("natstransport: %w", err)
	}
	if err := wire.CheckToken("application", opts.App); err != nil {
		return nil, fmt.Errorf("natstransport: Options.App: %w", err)
	}
	if opts.Node != "" {
		if err := wire.CheckToken("node", opts.Node); err != nil {
			return nil, fmt.Errorf("natstransport: Options.Node: %w", err)
		}
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = DefaultCommandTimeout
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = DefaultMaxTracked
	}
	t := &Transport{
		nc:      nc,
		opts:    opts,
		log:     opts.Logger.With().Str("component", "natstransport").Logger(),
		nodes:   newMemo(opts.MaxTracked),
		local:   newMemo(opts.MaxTracked),
		seen:    newMemo(opts.MaxTracked),
		clus:    newCluster(),
		dialogs: map[string]struct{}{},
		streams: map[*stream]struct{}{},
	}
	sub, err := nc.Subscribe(wire.AnnounceSubject(opts.Prefix), t.onAnnounce)
	if err != nil {
		return nil, fmt.Errorf("natstransport: subscribe to announcements: %w", err)
	}
	t.annSub = sub
	if err := t.Ping(); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	return t, nil
}

// Ping asks every proxy to announce itself now.
func (t *Transport) Ping() error {
	if err := t.nc.Publish(wire.PingSubject(t.opts.Prefix), []byte("{}")); err != nil {
		return fmt.Errorf("natstransport: ping proxies: %w", err)
	}
	return nil
}

func (t *Transport) onAnnounce(m *nats.Msg) {
	var a wire.Announcement
	if err := json.Unmarshal(m.Data, &a); err != nil || a.Node == "" {
		t.log.Warn().Err(err).Str("data", string(m.Data)).Msg("malformed proxy announcement ignored")
		return
	}
	if t.clus.update(a.Node, a.Application, time.Now()) {
		t.log.Info().Str("node", a.Node).Str("app", a.Application).Msg("ari proxy announced")
	}
}

// Nodes returns the nodes whose proxies serve the application, as
// announced in the last five minutes, sorted.
func (t *Transport) Nodes() []string { return t.clus.nodes(t.opts.App, clusterMaxAge) }

// NodeOf returns the node the transport knows a resource of kind
// ("channel", "bridge", "playback") to be on, or "".
func (t *Transport) NodeOf(kind, id string) string {
	n, _ := t.nodes.get(ref(kind, id))
	return n
}

// Close unsubscribes from announcements and closes every open event
// stream. The NATS connection stays open.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	streams := make([]*stream, 0, len(t.streams))
	for s := range t.streams {
		streams = append(streams, s)
	}
	t.mu.Unlock()
	for _, s := range streams {
		_ = s.Close()
	}
	if err := t.annSub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natstransport: unsubscribe announcements: %w", err)
	}
	return nil
}

// RoundTrip sends req to the proxy that should serve it and returns the
// answer in ARI's terms. An error means no answer (no proxy, timeout,
// cancelled ctx, or a call natstransport cannot express).
func (t *Transport) RoundTrip(ctx context.Context, req *ari.Request) (*ari.Response, error) {
	op, err := wire.FromHTTP(req.Method, req.Path, req.Query, req.Body)
	if err != nil {
		return nil, fmt.Errorf("natstransport: %w", err)
	}
	op.Key.App = t.opts.App
	op.Key.Dialog = wire.DialogToken(ari.DialogFrom(ctx))
	if d := op.Key.Dialog; d != "" {
		if err := wire.CheckToken("dialog", d); err != nil {
			return nil, fmt.Errorf("natstransport: %w", err)
		}
	}
	t.chooseIDs(op)
	if op.Result == wire.ResultList {
		return t.list(ctx, op)
	}
	if t.opts.StockServer {
		if ops := splitChannels(op); len(ops) > 1 {
			return t.each(ctx, ops)
		}
	}
	return t.do(ctx, op)
}

// do routes and sends one request and turns its answer into Asterisk's.
func (t *Transport) do(ctx context.Context, op *wire.Op) (*ari.Response, error) {
	node, refusal, err := t.route(ctx, op)
	if err != nil || refusal != nil {
		return refusal, err
	}
	// A created channel's StasisStart can come before the answer: it must
	// already count as this instance's.
	for _, k := range op.Created {
		if k.Kind == wire.KindChannel {
			t.local.put(k.ID, "")
		}
	}
	resp, from, err := t.send(ctx, &op.Request, op.Class, node)
	if err != nil {
		return nil, err
	}
	t.learn(op, resp, from)
	return t.answer(ctx, op, resp, from)
}

// splitChannels turns a bridge add or remove of several channels into one
// request per channel, for a stock server: it puts the list into a JSON
// body, where Asterisk takes "A,B" for one channel id and answers "Channel
// not found" (and binds the dialog to that one wrong id). Asterisk splits
// the list only in a query string, as natsproxy sends it. It returns nil
// when op names at most one channel.
func splitChannels(op *wire.Op) []*wire.Op {
	var list string
	switch {
	case op.BridgeAddChannel != nil:
		list = op.BridgeAddChannel.Channel
	case op.BridgeRemoveChannel != nil:
		list = op.BridgeRemoveChannel.Channel
	default:
		return nil
	}
	ids := strings.Split(list, ",")
	if len(ids) < 2 {
		return nil
	}
	ops := make([]*wire.Op, 0, len(ids))
	for _, id := range ids {
		one := *op
		one.Related = []wire.Key{{Kind: wire.KindChannel, ID: id}}
		if op.BridgeAddChannel != nil {
			a := *op.BridgeAddChannel
			a.Channel = id
			one.BridgeAddChannel = &a
		} else {
			r := *op.BridgeRemoveChannel
			r.Channel = id
			one.BridgeRemoveChannel = &r
		}
		ops = append(ops, &one)
	}
	return ops
}

// each sends ops in order and answers the first failure, or the last
// answer. The channels added before a failure stay where they are, as
// Asterisk left them; the caller re-reads the bridge if that matters.
func (t *Transport) each(ctx context.Context, ops []*wire.Op) (*ari.Response, error) {
	var last *ari.Response
	for _, op := range ops {
		resp, err := t.do(ctx, op)
		if err != nil {
			return nil, err
		}
		if resp.Status < 200 || resp.Status > 299 {
			return resp, nil
		}
		last = resp
	}
	return last, nil
}

// chooseIDs gives a create that enters Stasis an id when the caller chose
// none, so its StasisStart is known to be this instance's before Asterisk
// sends it.
func (t *Transport) chooseIDs(op *wire.Op) {
	switch {
	case op.ChannelCreate != nil && op.ChannelCreate.ChannelCreateRequest.ChannelID == "":
		id := "n" + nuid.Next()
		op.ChannelCreate.ChannelCreateRequest.ChannelID = id
		op.Key.ID = id
		op.Created = append(op.Created, wire.Key{Kind: wire.KindChannel, ID: id})
	case op.ChannelOriginate != nil && op.ChannelOriginate.OriginateRequest.ChannelID == "" && op.ChannelOriginate.OriginateRequest.App != "":
		id := "n" + nuid.Next()
		op.ChannelOriginate.OriginateRequest.ChannelID = id
		op.Key.ID = id
		op.Created = append(op.Created, wire.Key{Kind: wire.KindChannel, ID: id})
	case op.ChannelSnoop != nil && op.ChannelSnoop.SnoopID == "":
		id := "n" + nuid.Next()
		op.ChannelSnoop.SnoopID = id
		op.Created = append(op.Created, wire.Key{Kind: wire.KindChannel, ID: id})
	}
}

// route picks the node that must serve op ("" means broadcast, or any one
// proxy for a create). A non-nil *ari.Response refuses the call.
func (t *Transport) route(ctx context.Context, op *wire.Op) (string, *ari.Response, error) {
	want := ari.NodeFrom(ctx)
	if want != "" {
		if err := wire.CheckToken("node", want); err != nil {
			return "", nil, fmt.Errorf("natstransport: ari.WithNode: %w", err)
		}
	}
	var anchor string
	if op.Anchor != nil {
		anchor = t.NodeOf(op.Anchor.Kind, op.Anchor.ID)
		if anchor == "" && op.Class == wire.ClassCreate {
			// A create attached to a resource must reach that resource's
			// node, not whichever proxy the queue picks.
			n, err := t.locate(ctx, *op.Anchor)
			if err != nil {
				return "", nil, err
			}
			anchor = n
		}
	}
	if anchor != "" {
		for _, r := range op.Related {
			if n := t.NodeOf(r.Kind, r.ID); n != "" && n != anchor {
				return "", crossNode(op, r, n, anchor), nil
			}
		}
		if op.Class == wire.ClassCreate && want != "" && want != anchor {
			return "", crossNode(op, *op.Anchor, anchor, want), nil
		}
	}
	switch {
	case anchor != "":
		return anchor, nil, nil
	case op.Anchor != nil && op.Class != wire.ClassCreate:
		return "", nil, nil // an existing resource on an unknown node: broadcast
	case want != "":
		return want, nil, nil
	case op.Class == wire.ClassCreate:
		return t.opts.Node, nil, nil
	}
	return "", nil, nil
}

// crossNode is the answer to a call that would join resources of two nodes.
func crossNode(op *wire.Op, r wire.Key, rNode, node string) *ari.Response {
	return jsonAnswer(http.StatusUnprocessableEntity, map[string]string{"message": fmt.Sprintf(
		"natstransport: %s %s is on node %s, but %s must run on node %s: Asterisk cannot join resources of two nodes",
		r.Kind, r.ID, rNode, op.Kind, node)})
}

// locate finds the node of an existing resource by broadcasting a data
// request for it. It returns "" when no proxy knows it (the create will then
// fail where it is sent, with Asterisk's own answer).
func (t *Transport) locate(ctx context.Context, k wire.Key) (string, error) {
	kind := wire.DataKind(k.Kind)
	if kind == "" {
		return "", nil
	}
	req := &wire.Request{Kind: kind, Key: &wire.Key{Kind: k.Kind, ID: k.ID, App: t.opts.App}}
	resp, from, err := t.send(ctx, req, wire.ClassData, "")
	if err != nil {
		return "", err
	}
	if resp.Error != "" {
		return "", nil
	}
	node := answerNode(resp, from)
	if node != "" {
		t.nodes.put(ref(k.Kind, k.ID), node)
	}
	return node, nil
}

// reply is one proxy's answer and the node it came from ("" if unknown).
type reply struct {
	resp *wire.Response
	node string
}

// send sends req of class to node, or broadcasts it when node is "" (a
// create without a node goes to one proxy through the queue group instead).
func (t *Transport) send(ctx context.Context, req *wire.Request, class, node string) (*wire.Response, string, error) {
	req.Key.Node = node
	data, err := json.Marshal(req)
	if err != nil {
		return nil, "", fmt.Errorf("natstransport: encode %s: %w", req.Kind, err)
	}
	subject := wire.Subject(t.opts.Prefix, class, t.opts.App, node)
	timeout := t.opts.CommandTimeout
	if wire.ReadOnly(class) {
		timeout = t.opts.RequestTimeout
	}
	start := time.Now()
	var r reply
	if node != "" || class == wire.ClassCreate {
		r, err = t.direct(ctx, req.Kind, subject, class, data, timeout)
		if r.node == "" {
			// A stock server's failure names no node; it came from the
			// one asked.
			r.node = node
		}
	} else {
		r, err = t.firstGood(ctx, req.Kind, subject, class, data, timeout)
	}
	ev := t.log.Debug().Str("kind", req.Kind).Str("subject", subject).Dur("duration", time.Since(start))
	if r.resp != nil {
		ev = ev.Str("error", r.resp.Error).Str("from", r.node)
	}
	ev.Err(err).Msg("ari-proxy request")
	if err != nil {
		return nil, "", err
	}
	return r.resp, r.node, nil
}

// errNoProxy wraps nats.ErrNoResponders with the subject.
func errNoProxy(kind, subject string) error {
	return fmt.Errorf("natstransport: %s: no proxy listens on %s: %w", kind, subject, nats.ErrNoResponders)
}

// direct is a request to one subject with its retry policy: a read is
// retried after a timeout; anything is retried after "no responders".
func (t *Transport) direct(ctx context.Context, kind, subject, class string, data []byte, timeout time.Duration) (reply, error) {
	var last error
	for attempt := 0; attempt <= t.opts.Retries; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		msg, err := t.nc.RequestWithContext(actx, subject, data)
		cancel()
		switch {
		case err == nil:
			var resp wire.Response
			if err := json.Unmarshal(msg.Data, &resp); err != nil {
				return reply{}, fmt.Errorf("natstransport: %s: decode answer from %s: %w", kind, subject, err)
			}
			return reply{resp: &resp, node: msg.Header.Get(wire.HeaderNode)}, nil
		case ctx.Err() != nil:
			return reply{}, fmt.Errorf("natstransport: %s on %s: %w", kind, subject, ctx.Err())
		case errors.Is(err, nats.ErrNoResponders):
			last = errNoProxy(kind, subject)
			// Nothing was delivered, so a retry is safe; wait a little
			// for a restarting proxy.
			if err := sleep(ctx, timeout/4); err != nil {
				return reply{}, fmt.Errorf("natstransport: %s on %s: %w", kind, subject, err)
			}
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
			last = fmt.Errorf("natstransport: %s on %s: no answer within %s: %w", kind, subject, timeout, nats.ErrTimeout)
			if !wire.ReadOnly(class) {
				return reply{}, last
			}
		default:
			return reply{}, fmt.Errorf("natstransport: %s on %s: %w", kind, subject, err)
		}
	}
	return reply{}, last
}

// firstGood broadcasts and returns the first success; failing that, the
// most telling failure once every known proxy answered or time is up.
func (t *Transport) firstGood(ctx context.Context, kind, subject, class string, data []byte, timeout time.Duration) (reply, error) {
	var last error
	for attempt := 0; attempt <= t.opts.Retries; attempt++ {
		replies, err := t.gather(ctx, kind, subject, data, timeout, true)
		if err == nil {
			return best(replies), nil
		}
		last = err
		switch {
		case ctx.Err() != nil:
			return reply{}, err
		case errors.Is(err, nats.ErrNoResponders):
			if err := sleep(ctx, timeout/4); err != nil {
				return reply{}, fmt.Errorf("natstransport: %s on %s: %w", kind, subject, err)
			}
		case errors.Is(err, nats.ErrTimeout) && wire.ReadOnly(class):
		default:
			return reply{}, err
		}
	}
	return reply{}, last
}

// best picks, from failures only unless one succeeded, the answer to give:
// a success, else a failure other than "Not found" (the owner's refusal
// tells more than the others' not knowing the resource), else "Not found".
func best(replies []reply) reply {
	var b reply
	for _, r := range replies {
		switch {
		case r.resp.Error == "":
			return r
		case b.resp == nil, wire.IsNotFound(b.resp) && !wire.IsNotFound(r.resp):
			b = r
		}
	}
	return b
}

// gatherRoom is the least room gather's channel has for answers.
const gatherRoom = 16

// gather broadcasts data on subject and collects answers until every proxy
// known to serve the application has answered (or, with stopAtGood, one
// succeeded) or timeout. It fails only when nobody answered.
func (t *Transport) gather(ctx context.Context, kind, subject string, data []byte, timeout time.Duration, stopAtGood bool) ([]reply, error) {
	expected := len(t.Nodes())
	// Room for every proxy's answer, so none is dropped as a slow
	// consumer before the unsubscribe. Not SubscribeSync: its channel has
	// the connection's SubChanLen slots (64k, 512 KiB allocated and
	// cleared per request: +0.12 to +0.19 ms a broadcast, BENCHMARKS.md).
	ch := make(chan *nats.Msg, max(gatherRoom, 2*expected))
	inbox := nats.NewInbox()
	sub, err := t.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, fmt.Errorf("natstransport: %s: subscribe %s: %w", kind, inbox, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := t.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: inbox, Data: data}); err != nil {
		return nil, fmt.Errorf("natstransport: %s: publish on %s: %w", kind, subject, err)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out []reply
	for expected == 0 || len(out) < expected {
		var msg *nats.Msg
		select {
		case msg = <-ch:
		case <-actx.Done():
		}
		if msg == nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("natstransport: %s on %s: %w", kind, subject, ctx.Err())
			}
			break // time is up
		}
		if len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
			if len(out) > 0 {
				break
			}
			return nil, errNoProxy(kind, subject)
		}
		var resp wire.Response
		if err := json.Unmarshal(msg.Data, &resp); err != nil {
			t.log.Warn().Err(err).Str("subject", subject).Msg("undecodable ari-proxy answer ignored")
			continue
		}
		r := reply{resp: &resp, node: answerNode(&resp, msg.Header.Get(wire.HeaderNode))}
		if r.node != "" {
			t.clus.update(r.node, t.opts.App, time.Now())
		}
		out = append(out, r)
		if stopAtGood && resp.Error == "" {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("natstransport: %s on %s: no answer within %s: %w", kind, subject, timeout, nats.ErrTimeout)
	}
	return out, nil
}

// answerNode is the node an answer came from: natsproxy's header, else
// the answer's key, else the key a stock server embeds in the entity (its
// data answers have no key of their own).
func answerNode(resp *wire.Response, from string) string {
	if from != "" {
		return from
	}
	if resp.Key != nil && resp.Key.Node != "" {
		return resp.Key.Node
	}
	return resp.Data.KeyNode()
}

// learn records which node the resources of a successful answer are on,
// and forgets one that its node no longer has.
func (t *Transport) learn(op *wire.Op, resp *wire.Response, from string) {
	node := answerNode(resp, from)
	if resp.Error != "" {
		if wire.IsNotFound(resp) && op.Anchor != nil && node != "" && t.NodeOf(op.Anchor.Kind, op.Anchor.ID) == node {
			t.nodes.del(ref(op.Anchor.Kind, op.Anchor.ID))
		}
		return
	}
	if node == "" {
		return
	}
	if op.Anchor != nil {
		t.nodes.put(ref(op.Anchor.Kind, op.Anchor.ID), node)
	}
	for _, k := range op.Created {
		t.nodes.put(ref(k.Kind, k.ID), node)
	}
	if k := resp.Key; k != nil && k.ID != "" && k.Kind != "" {
		t.nodes.put(ref(k.Kind, k.ID), node)
	}
	if raw := resp.Data.EntityJSON(op.Entity); raw != nil {
		if id := wire.EntityID(op.Entity, raw); id != "" {
			t.nodes.put(ref(op.Entity, id), node)
		}
	}
}

// answer turns a proxy's response into Asterisk's answer.
func (t *Transport) answer(ctx context.Context, op *wire.Op, resp *wire.Response, from string) (*ari.Response, error) {
	if resp.Error != "" {
		return errorAnswer(resp), nil
	}
	node := answerNode(resp, from)
	switch op.Result {
	case wire.ResultVoid:
		return &ari.Response{Status: http.StatusNoContent}, nil
	case wire.ResultVariable:
		v := ""
		if resp.Data != nil {
			v = resp.Data.Variable
		}
		return jsonAnswer(http.StatusOK, ari.Variable{Value: v}), nil
	case wire.ResultPing:
		if node == "" {
			node = entityIDOf(resp)
		}
		return jsonAnswer(http.StatusOK, ari.AsteriskPing{AsteriskID: node, Ping: "pong",
			Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000-0700")}), nil
	}
	raw := resp.Data.EntityJSON(op.Entity)
	if raw == nil {
		// A stock server answers a create or subscribe with the key only.
		var err error
		if raw, err = t.fetch(ctx, op, resp, node); err != nil {
			return nil, err
		}
	}
	if op.ChannelCreate != nil && t.opts.StockServer {
		if err := t.setVariables(ctx, op, node); err != nil {
			return nil, err
		}
	}
	return &ari.Response{Status: http.StatusOK, Body: raw}, nil
}

// entityIDOf reads system.entity_id from an AsteriskInfo answer.
func entityIDOf(resp *wire.Response) string {
	var v struct {
		System struct {
			EntityID string `json:"entity_id"`
		} `json:"system"`
	}
	if resp.Data != nil {
		_ = json.Unmarshal(resp.Data.Asterisk, &v)
	}
	return v.System.EntityID
}

// fetch reads the entity an answer names but does not carry.
func (t *Transport) fetch(ctx context.Context, op *wire.Op, resp *wire.Response, node string) (json.RawMessage, error) {
	k := wire.Key{Kind: op.Entity, App: t.opts.App}
	switch {
	case resp.Key != nil && resp.Key.ID != "" && (resp.Key.Kind == op.Entity || resp.Key.Kind == ""):
		k.ID = resp.Key.ID
	case op.Entity == wire.KindPlayback && op.ChannelPlay != nil && op.ChannelPlay.PlaybackID != "":
		k.ID = op.ChannelPlay.PlaybackID
	case op.Entity == wire.KindPlayback && op.BridgePlay != nil && op.BridgePlay.PlaybackID != "":
		k.ID = op.BridgePlay.PlaybackID
	case len(op.Created) > 0:
		k.ID = op.Created[0].ID
	default:
		k.ID = op.Key.ID
	}
	if k.ID == "" && op.Entity != wire.KindAsterisk {
		return nil, fmt.Errorf("natstransport: %s: the answer names no %s", op.Kind, op.Entity)
	}
	req := &wire.Request{Kind: wire.DataKind(op.Entity), Key: &k}
	r, _, err := t.send(ctx, req, wire.ClassData, node)
	if err != nil {
		return nil, fmt.Errorf("natstransport: %s: read the %s: %w", op.Kind, op.Entity, err)
	}
	if raw := r.Data.EntityJSON(op.Entity); r.Error == "" && raw != nil {
		return raw, nil
	}
	// Done but already gone (a channel that hung up at once): answer what
	// is known rather than fail an operation that succeeded.
	return json.Marshal(map[string]string{"id": k.ID})
}

// setVariables sets a created channel's variables one by one, for a stock
// server that drops them from ChannelCreate.
func (t *Transport) setVariables(ctx context.Context, op *wire.Op, node string) error {
	c := op.ChannelCreate.ChannelCreateRequest
	for name, value := range c.Variables {
		req := &wire.Request{Kind: "ChannelVariableSet", Key: &wire.Key{Kind: wire.KindChannel, ID: c.ChannelID, App: t.opts.App},
			ChannelVariable: &wire.ChannelVariable{Name: name, Value: value}}
		r, _, err := t.send(ctx, req, wire.ClassCommand, node)
		if err != nil {
			return fmt.Errorf("natstransport: set variable %s on %s: %w", name, c.ChannelID, err)
		}
		if r.Error != "" {
			return fmt.Errorf("natstransport: set variable %s on %s: %s", name, c.ChannelID, r.Error)
		}
	}
	return nil
}

// list gathers a list from every proxy (or the ari.WithNode one) and reads
// the entities a stock server names only by key.
func (t *Transport) list(ctx context.Context, op *wire.Op) (*ari.Response, error) {
	node := ari.NodeFrom(ctx)
	op.Key.Node = node
	data, err := json.Marshal(&op.Request)
	if err != nil {
		return nil, fmt.Errorf("natstransport: encode %s: %w", op.Kind, err)
	}
	subject := wire.Subject(t.opts.Prefix, op.Class, t.opts.App, node)
	var replies []reply
	if node != "" {
		r, err := t.direct(ctx, op.Kind, subject, op.Class, data, t.opts.RequestTimeout)
		if err != nil {
			return nil, err
		}
		if r.node == "" {
			r.node = node
		}
		replies = []reply{r}
	} else if replies, err = t.gather(ctx, op.Kind, subject, data, t.opts.RequestTimeout, false); err != nil {
		return nil, err
	}
	items := []json.RawMessage{}
	for _, r := range replies {
		if r.resp.Error != "" {
			return errorAnswer(r.resp), nil
		}
		if r.resp.Items != nil {
			for _, it := range r.resp.Items {
				if id := wire.EntityID(op.Entity, it); id != "" && r.node != "" {
					t.nodes.put(ref(op.Entity, id), r.node)
				}
			}
			items = append(items, r.resp.Items...)
			continue
		}
		got, err := t.readAll(ctx, op.Entity, r)
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
	}
	return jsonAnswer(http.StatusOK, items), nil
}

// readAll reads each entity a list answer names by key, a few at a time;
// one gone meanwhile is left out.
func (t *Transport) readAll(ctx context.Context, entity string, r reply) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(r.resp.Keys))
	errs := make([]error, len(r.resp.Keys))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, k := range r.resp.Keys {
		if k == nil || k.ID == "" {
			continue
		}
		node := k.Node
		if node == "" {
			node = r.node
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			req := &wire.Request{Kind: wire.DataKind(entity), Key: &wire.Key{Kind: entity, ID: k.ID, App: t.opts.App}}
			resp, from, err := t.send(ctx, req, wire.ClassData, node)
			switch {
			case err != nil:
				errs[i] = err
			case resp.Error == "":
				out[i] = resp.Data.EntityJSON(entity)
				if n := answerNode(resp, from); n != "" {
					t.nodes.put(ref(entity, k.ID), n)
				}
			case !wire.IsNotFound(resp):
				errs[i] = fmt.Errorf("natstransport: read %s %s: %s", entity, k.ID, resp.Error)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(r json.RawMessage) bool { return r == nil }), nil
}

// errorAnswer maps a failed Response to Asterisk's answer (wire.StatusOf);
// natsproxy's Message is Asterisk's own, else the error text is.
func errorAnswer(resp *wire.Response) *ari.Response {
	msg := resp.Message
	if msg == "" {
		msg = resp.Error
	}
	return jsonAnswer(wire.StatusOf(resp), map[string]string{"message": msg})
}

func jsonAnswer(status int, v any) *ari.Response {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain types get here.
		panic(fmt.Sprintf("natstransport: encode answer: %v", err))
	}
	return &ari.Response{Status: status, Body: b}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
