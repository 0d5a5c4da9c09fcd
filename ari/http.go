package ari

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// maxBody bounds what we read from one REST answer or event message, so a
	// confused peer cannot exhaust memory. ARI's largest answers (channel
	// lists with channelvars) are far below it.
	maxBody = 16 << 20

	// defaultPingInterval is how often the event websocket is pinged, so a
	// half-open TCP connection (Asterisk's host vanished without a FIN) is
	// noticed and redialled instead of waiting forever on Read.
	defaultPingInterval = 20 * time.Second
)

// DefaultMaxConns bounds the connections the default client opens to
// Asterisk (its http.conf sessionlimit defaults to 100, shared by every
// client and the event websockets).
const DefaultMaxConns = 32

// HTTPOptions configures NewHTTPTransport.
type HTTPOptions struct {
	// URL is the ARI base, for example "http://127.0.0.1:8088/ari". It must
	// not carry credentials: URLs end up in logs and error messages.
	URL      string
	Username string
	Password Secret
	// Client sends the REST requests and the websocket handshake. Nil means
	// a private pool of at most DefaultMaxConns kept-alive connections:
	// for plain http, the transport's own HTTP/1.1 client (conns.go), for
	// https a net/http client. Client.Timeout bounds each request; callers
	// usually prefer a ctx deadline.
	Client *http.Client
	// PingInterval is how often the event websocket is pinged; a ping not
	// answered within the interval drops the stream so Client.Run redials.
	// Zero means 20s; negative disables pinging.
	PingInterval time.Duration
}

// HTTPTransport is the Transport that speaks to Asterisk directly: REST over
// HTTP(S) and events over a websocket, both with Basic auth in a header.
type HTTPTransport struct {
	base         *url.URL // scheme://host/prefix, no trailing slash, no query
	username     string
	password     Secret
	client       *http.Client
	pool         *connPool // plain http with no Client given: REST goes here
	pingInterval time.Duration
}

var _ Transport = (*HTTPTransport)(nil)

// NewHTTPTransport checks opts and returns a transport. It does not connect.
func NewHTTPTransport(opts HTTPOptions) (*HTTPTransport, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		// url.Parse's error quotes the URL; it has no credentials or we
		// reject it below, but the parse failed so we cannot tell. Say less.
		return nil, errors.New("ari: HTTPOptions.URL is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ari: HTTPOptions.URL scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("ari: HTTPOptions.URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("ari: HTTPOptions.URL must not carry credentials; set Username and Password")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("ari: HTTPOptions.URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	client := opts.Client
	var pool *connPool
	if client == nil && u.Scheme == "http" {
		pool = newConnPool(hostPort(u), u.Host, u.Path, basicAuth(opts.Username, opts.Password), DefaultMaxConns)
	}
	if client == nil {
		// Not http.DefaultClient: a private pool keeps our idle connections
		// from being closed (or kept) by unrelated code.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// A bounded pool of kept-alive connections: Go's default (unbounded,
		// 2 idle) makes a new connection, hence a new Asterisk HTTP thread,
		// for most requests under load, and a burst then overruns Asterisk's
		// http.conf sessionlimit (100), failing requests (measured by the
		// benchmark, BENCHMARKS.md).
		tr.MaxConnsPerHost = DefaultMaxConns
		tr.MaxIdleConnsPerHost = DefaultMaxConns
		client = &http.Client{Transport: tr}
	}
	ping := opts.PingInterval
	if ping == 0 {
		ping = defaultPingInterval
	}
	return &HTTPTransport{
		base:         u,
		username:     opts.Username,
		password:     opts.Password,
		client:       client,
		pool:         pool,
		pingInterval: ping,
	}, nil
}

// RoundTrip sends req and returns the answer whatever its status.
func (t *HTTPTransport) RoundTrip(ctx context.Context, req *Request) (*Response, error) {
	if t.pool != nil {
		return t.pool.roundTrip(ctx, req)
	}
	target := t.base.String() + req.Path
	if q := encodeQuery(req.Query); q != "" {
		target += "?" + q
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return nil, err
	}
	hr.Header = t.header()
	hr.Header.Set("Accept", "application/json")
	if req.Body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.client.Do(hr)
	if err != nil {
		// *url.Error repeats method and URL, which the Client adds anyway.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readAnswer(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Body: data}, nil
}

// readAnswer reads an answer's body, at most maxBody bytes of it.
func readAnswer(body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return data, nil
}

// hostPort is u's host with its port (80 by default).
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// header returns fresh request headers with Basic auth, if configured.
func (t *HTTPTransport) header() http.Header {
	h := http.Header{}
	if v := basicAuth(t.username, t.password); v != "" {
		h.Set("Authorization", v)
	}
	return h
}

// basicAuth is the Authorization header's value for the credentials, or ""
// when there are none. Both REST paths and the websocket handshake use it.
func basicAuth(username string, password Secret) string {
	if username == "" && password == "" {
		return ""
	}
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(username, string(password))
	return r.Header.Get("Authorization")
}

// encodeQuery is url.Values.Encode with spaces as %20 rather than '+':
// Asterisk decodes '+' as a space too, but %20 is unambiguous everywhere.
// url.QueryEscape already turns a literal '+' into %2B.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}
