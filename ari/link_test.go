package ari

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLinkTellsWhyARIIsDown: Link says the stream is down and why (a 401
// is ErrUnauthorized, logged at error level naming the keys to check);
// once the stream is up, Link says connected, and the connect is logged
// at info.
func TestLinkTellsWhyARIIsDown(t *testing.T) {
	f := startFakeEvents(t)
	for _, tc := range []struct {
		name     string
		password Secret
		wantErr  error
		wantLog  string
	}{
		{"wrong password", "wrong", ErrUnauthorized, `"level":"error"`},
		{"right password", testPassword, nil, `"message":"ari event stream connected"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewHTTPTransport(HTTPOptions{URL: f.url(), Username: testUser, Password: tc.password})
			if err != nil {
				t.Fatal(err)
			}
			logs := &lockedBuf{}
			c, err := New(Options{Transport: tr, Apps: []string{"transferd"}, Logger: zerolog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			if l := c.Link(); l.Connected || !l.Since.IsZero() || l.Err != nil {
				t.Fatalf("before Run: %+v", l)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = c.Run(ctx) }()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(logs.String(), tc.wantLog) {
				if time.Now().After(deadline) {
					t.Fatalf("no %s in the log:\n%s", tc.wantLog, logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			l := c.Link()
			if tc.wantErr != nil {
				if l.Connected || !errors.Is(l.Err, tc.wantErr) {
					t.Fatalf("Link() = %+v, want down with %v", l, tc.wantErr)
				}
				if !strings.Contains(logs.String(), "ari.username") || !strings.Contains(logs.String(), "ari.conf") {
					t.Fatalf("the 401 log does not say what to check:\n%s", logs.String())
				}
				if strings.Contains(logs.String(), "wrong") {
					t.Fatalf("the password was logged:\n%s", logs.String())
				}
				return
			}
			if !l.Connected || l.Err != nil || l.Since.IsZero() {
				t.Fatalf("Link() = %+v, want connected", l)
			}
		})
	}
}
