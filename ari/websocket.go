package ari

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Events dials the ARI event websocket for apps, with subscribeAll=false so
// Asterisk sends only what those applications own or subscribed to.
func (t *HTTPTransport) Events(ctx context.Context, apps []string) (EventStream, error) {
	conn, resp, err := websocket.Dial(ctx, t.eventsURL(apps), &websocket.DialOptions{
		HTTPClient: t.client,
		HTTPHeader: t.header(),
		// events.json declares websocketProtocol "ari"; Asterisk also
		// accepts no protocol, and coder/websocket accepts an answer without one.
		Subprotocols: []string{"ari"},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			// The usual misconfigurations (401 bad password, 404 no
			// res_ari) are clearer as a status than as a handshake error.
			// As an *Error, so errors.Is(err, ErrUnauthorized) works.
			return nil, fmt.Errorf("dial events: %w (%v)", &Error{Method: http.MethodGet, Path: "/events",
				Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}, err)
		}
		return nil, fmt.Errorf("dial events: %w", err)
	}
	conn.SetReadLimit(maxBody)
	s := &wsStream{conn: conn, done: make(chan struct{})}
	if t.pingInterval > 0 {
		s.wg.Add(1)
		go s.keepalive(t.pingInterval)
	}
	return s, nil
}

// eventsURL is ws(s)://host/prefix/events?app=a,b&subscribeAll=false. The
// commas stay literal (ARI splits allowMultiple values on them); each name is
// escaped. Credentials never go here: they travel in the Authorization header.
func (t *HTTPTransport) eventsURL(apps []string) string {
	u := *t.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/events"
	escaped := make([]string, len(apps))
	for i, a := range apps {
		escaped[i] = strings.ReplaceAll(url.QueryEscape(a), "+", "%20") // as encodeQuery
	}
	u.RawQuery = "app=" + strings.Join(escaped, ",") + "&subscribeAll=false"
	return u.String()
}

// wsStream is an EventStream over one websocket connection.
type wsStream struct {
	conn      *websocket.Conn
	done      chan struct{} // closed by Close; stops keepalive
	closeOnce sync.Once
	wg        sync.WaitGroup // keepalive
}

// Read returns the next message. coder/websocket closes the connection if
// ctx ends during a read, which is what we want: the stream is over.
func (s *wsStream) Read(ctx context.Context) ([]byte, error) {
	_, data, err := s.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Close closes the connection and waits for the keepalive goroutine. It is
// idempotent. It does not wait for a close handshake: coder/websocket's
// Close waits up to 5 s for the peer's close frame and nothing can cut that
// wait short (CloseNow during it only waits too), and a peer that stopped
// reading (a hung Asterisk, a dead link the keepalive has not caught yet)
// never sends one, so every stop or redial would wait that long. Asterisk
// ends the session on the connection's close just the same.
func (s *wsStream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.conn.CloseNow()
		s.wg.Wait()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// keepalive pings every interval. A ping not answered within the interval
// means the peer is gone; closing the connection makes the pending Read fail,
// and Client.Run redials. A pong is only processed while someone reads,
// which Run always does.
func (s *wsStream) keepalive(interval time.Duration) {
	defer s.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := s.conn.Ping(ctx)
		cancel()
		if err != nil {
			// CloseNow, not Close: the peer is not answering, so a close
			// handshake would only wait for its timeout.
			_ = s.conn.CloseNow() // the failed Ping is the news; Read reports it
			return
		}
	}
}
