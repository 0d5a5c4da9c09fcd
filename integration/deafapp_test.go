package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestDeafApplicationRecovers: Asterisk keeps one event session per
// application name and unregisters the name when a session ends. A second
// event session of transferd's application (a stray client here; in life
// also a restarted transferd's old connection that Asterisk closes late)
// takes the application over, and when it ends Asterisk forgets the
// application: transferd's own session stays up but deaf, and Stasis()
// refuses every new call. transferd must notice, register again, and take
// calls.
func TestDeafApplicationRecovers(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "deaf", nil)
	app, ctx := s.cfg.ARI.App, s.ctx
	if _, err := s.client.Applications.Get(ctx, app); err != nil {
		t.Fatalf("transferd's application not registered at the start: %v", err)
	}
	before := s.ariOfApp.Stats().Reconnects

	url := strings.Replace(sandbox.URL(), "http://", "ws://", 1) + "/events?subscribeAll=false&app=" + app
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(ARIUser, sandbox.Password)
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: req.Header, Subprotocols: []string{"ari"}})
	if err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	// Asterisk moves the application to the newest session.
	waitFor(t, ctx, func() error { return sessionHas(ctx, app, 1) })
	ws.Close(websocket.StatusNormalClosure, "")
	<-readDone

	// transferd registers the application again (its stream redialled).
	waitFor(t, ctx, func() error {
		if n := s.ariOfApp.Stats().Reconnects; n <= before {
			return fmt.Errorf("transferd has not redialled its event stream (reconnects %d)", n)
		}
		_, err := s.client.Applications.Get(ctx, app)
		return err
	})
	alice, bob := s.talking("alice", "1001", "2001")
	s.hangup(alice)
	s.gone(bob)
	s.callGone()
}

// sessionHas checks that exactly n of Asterisk's event sessions list app.
func sessionHas(ctx context.Context, app string, n int) error {
	// A CLI command was once seen hanging until killed (twice 15 s, the
	// whole wait): each try gets 5 s, and the waits retry.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := sandbox.CLI(cctx, "ari show websocket sessions")
	if err != nil {
		return err
	}
	got := 0 // one line per session, its applications last (comma-separated)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && slices.Contains(strings.Split(f[len(f)-1], ","), app) {
			got++
		}
	}
	if got != n {
		return fmt.Errorf("%d event sessions list %s, want %d:\n%s", got, app, n, out)
	}
	return nil
}
