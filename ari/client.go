package ari

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Options configures New.
type Options struct {
	// Transport carries requests and events (NewHTTPTransport). Required.
	Transport Transport
	// Apps are the Stasis applications whose events Run receives. Run
	// needs at least one; a REST-only Client may leave it empty.
	Apps []string
	// Logger gets a Debug line per request and per event, and a Warn line
	// per malformed event or failed reconnect. The zero value logs nothing.
	Logger zerolog.Logger
	// Backoff paces Run's reconnects; zero fields take the defaults.
	Backoff Backoff
	// OnRequest, if set, is called after every request with the path
	// template from Asterisk's spec ("/channels/{channelId}/answer", so
	// metrics get a bounded label set), the status (0 when there was no
	// answer) and the duration. It runs on the caller's goroutine and must
	// be quick.
	OnRequest func(method, pathTemplate string, status int, d time.Duration)
}

// Client talks to one Asterisk through a Transport. Resource methods are
// safe for concurrent use; Run should be running for events to flow.
type Client struct {
	Channels     *Channels
	Bridges      *Bridges
	Playbacks    *Playbacks
	Applications *Applications
	Asterisk     *Asterisk
	Endpoints    *Endpoints
	DeviceStates *DeviceStates

	transport Transport
	apps      []string
	log       zerolog.Logger
	backoff   Backoff
	onRequest func(method, pathTemplate string, status int, d time.Duration)

	subs subscriptions

	running       atomic.Bool   // Run is active; a second concurrent Run is refused
	up            atomic.Bool   // the event stream is connected now
	connected     chan struct{} // closed the first time the stream is up
	connectedOnce sync.Once
	redial        chan struct{} // RedialNow: cut a reconnect backoff short
	dropMu        sync.Mutex
	drop          context.CancelCauseFunc // Drop: end the stream being read
	stats         counters
	link          linkState

	// Reconnect bookkeeping, touched only by the active Run (c.running
	// serialises Runs and orders their memory accesses), kept on the
	// Client so a restarted Run still reports Reconnected.
	wasUp  bool      // a stream has been up before
	downAt time.Time // when the last stream ended
}

// New checks opts and returns a Client. It does not connect; call Run.
func New(opts Options) (*Client, error) {
	if opts.Transport == nil {
		return nil, errors.New("ari: Options.Transport is nil")
	}
	for _, a := range opts.Apps {
		// The events URL joins names with commas, so a comma would
		// silently subscribe to two other applications.
		if a == "" || strings.Contains(a, ",") {
			return nil, fmt.Errorf("ari: Options.Apps: invalid application name %q", a)
		}
	}
	b, err := opts.Backoff.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		transport: opts.Transport,
		apps:      append([]string(nil), opts.Apps...),
		log:       opts.Logger,
		backoff:   b,
		onRequest: opts.OnRequest,
		subs:      subscriptions{set: make(map[*Subscription]struct{})},
		connected: make(chan struct{}),
		redial:    make(chan struct{}, 1),
	}
	c.Channels = &Channels{c: c}
	c.Bridges = &Bridges{c: c}
	c.Playbacks = &Playbacks{c: c}
	c.Applications = &Applications{c: c}
	c.Asterisk = &Asterisk{c: c}
	c.Endpoints = &Endpoints{c: c}
	c.DeviceStates = &DeviceStates{c: c}
	return c, nil
}

// call is one REST operation before path expansion.
type call struct {
	method string
	// tmpl is the path template exactly as in Asterisk's spec, e.g.
	// "/channels/{channelId}/answer". args fill its {placeholders} in order.
	tmpl  string
	args  []string
	query url.Values
	body  any // JSON-encoded when non-nil
}

// do performs r and decodes a 2xx JSON answer into out (when out is non-nil).
// Any other status becomes an *Error and out is left untouched: an error
// body is never decoded as a success. A transport failure is wrapped with
// the method and path and is not an *Error.
func (c *Client) do(ctx context.Context, r call, out any) error {
	path, err := expand(r.tmpl, r.args)
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", r.method, r.tmpl, err)
	}
	if g := guardFrom(ctx); g != nil {
		if err := g(); err != nil {
			c.log.Debug().Str("method", r.method).Str("path", path).Err(err).Msg("ari request not sent")
			return fmt.Errorf("ari: %s %s: not sent: %w", r.method, path, err)
		}
	}
	req := &Request{Method: r.method, Path: path, Query: r.query}
	if r.body != nil {
		if req.Body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("ari: %s %s: encode body: %w", r.method, path, err)
		}
	}
	start := time.Now()
	resp, err := c.transport.RoundTrip(ctx, req)
	d := time.Since(start)
	status := 0
	if err == nil && resp != nil {
		status = resp.Status
	}
	if c.onRequest != nil {
		c.onRequest(r.method, r.tmpl, status, d)
	}
	c.log.Debug().Str("method", r.method).Str("path", path).Int("status", status).
		Dur("duration", d).Err(err).Msg("ari request")
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", r.method, path, err)
	}
	if resp == nil {
		return fmt.Errorf("ari: %s %s: transport returned no response", r.method, path)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return newError(r.method, path, resp)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("ari: %s %s: decode %d answer: %w", r.method, path, resp.Status, err)
	}
	return nil
}

// doObject performs r and returns the decoded answer.
func doObject[T any](ctx context.Context, c *Client, r call) (*T, error) {
	var v T
	if err := c.do(ctx, r, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// doList performs r and returns the decoded array answer.
func doList[T any](ctx context.Context, c *Client, r call) ([]T, error) {
	var v []T
	if err := c.do(ctx, r, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// expand fills tmpl's {placeholders} with args, each escaped as one path
// segment. An empty, "." or ".." argument is refused: it would address a
// different resource ("/channels//answer", "/channels/../answer").
func expand(tmpl string, args []string) (string, error) {
	var b strings.Builder
	rest := tmpl
	i := 0
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("bad path template %q", tmpl)
		}
		end += open
		name := rest[open+1 : end]
		if i >= len(args) {
			return "", fmt.Errorf("no value for {%s}", name)
		}
		a := args[i]
		i++
		if a == "" || a == "." || a == ".." {
			return "", fmt.Errorf("invalid %s %q", name, a)
		}
		b.WriteString(rest[:open])
		b.WriteString(escapeSegment(a))
		rest = rest[end+1:]
	}
	if i != len(args) {
		return "", fmt.Errorf("%d values for %d placeholders", len(args), i)
	}
	return b.String(), nil
}

// escapeSegment is url.PathEscape plus '+': Asterisk decodes each path
// segment with its legacy rules, which turn '+' into a space.
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// params builds ARI query parameters. Zero values are omitted, so
// Asterisk applies its own defaults.
type params url.Values

func (p params) str(key, v string) {
	if v != "" {
		p[key] = []string{v}
	}
}

func (p params) num(key string, v int) {
	if v != 0 {
		p[key] = []string{strconv.Itoa(v)}
	}
}

func (p params) flag(key string, v bool) {
	if v {
		p[key] = []string{"true"}
	}
}

// list joins values with commas, the form ARI's allowMultiple parameters take.
func (p params) list(key string, vs []string) {
	if len(vs) > 0 {
		p[key] = []string{strings.Join(vs, ",")}
	}
}

func (p params) values() url.Values {
	if len(p) == 0 {
		return nil
	}
	return url.Values(p)
}

// variablesBody is the JSON body of operations that take channel variables:
// {"variables": {"NAME": "value"}}. Nil when there are none.
func variablesBody(vars map[string]string) any {
	if len(vars) == 0 {
		return nil
	}
	return struct {
		Variables map[string]string `json:"variables"`
	}{vars}
}

// strs converts typed ids to strings for params.list.
func strs[T ~string](ids []T) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}
