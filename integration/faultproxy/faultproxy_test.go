package faultproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer is a real TCP echo server on loopback.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T, upstream string) *Proxy {
	t.Helper()
	p, err := New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip writes a line and reads it back through the echo server.
func roundTrip(c net.Conn, r *bufio.Reader, line string, timeout time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if got != line+"\n" {
		return errors.New("echo mismatch: " + got)
	}
	return nil
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestPassAndCutAndHeal(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c, r := dial(t, p)
	if err := roundTrip(c, r, "hello", 5*time.Second); err != nil {
		t.Fatalf("through a healthy proxy: %v", err)
	}

	p.Cut()
	// The open connection is reset.
	if err := roundTrip(c, r, "after cut", 5*time.Second); err == nil {
		t.Fatal("an open connection survived Cut")
	}
	// A new connection is accepted by the kernel, then reset at once: the
	// reset reaches the client at connect or at its first read.
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		defer c2.Close()
		if err := roundTrip(c2, bufio.NewReader(c2), "new during cut", 5*time.Second); err == nil {
			t.Fatal("a new connection worked during Cut")
		}
	}
	if s := p.Stats(); s.Refused < 1 {
		t.Errorf("stats %+v: want at least one refused connection", s)
	}

	p.Heal()
	c3, r3 := dial(t, p)
	if err := roundTrip(c3, r3, "healed", 5*time.Second); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	if p.Mode() != Pass {
		t.Errorf("mode %s after Heal", p.Mode())
	}
}

func TestDelayAddsLatency(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c, r := dial(t, p)
	const d = 150 * time.Millisecond
	p.Delay(d)
	start := time.Now()
	if err := roundTrip(c, r, "slow", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// One delay each way.
	if took := time.Since(start); took < 2*d {
		t.Fatalf("round trip took %s with a one-way delay of %s", took, d)
	}
	p.Delay(0)
	start = time.Now()
	if err := roundTrip(c, r, "fast", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= d {
		t.Errorf("round trip took %s after the delay was removed", took)
	}
}

func TestBlackholeHangsThenHealCloses(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c, r := dial(t, p)
	if err := roundTrip(c, r, "before", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Blackhole()
	err := roundTrip(c, r, "into the hole", 300*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("in a black hole the request must time out, got %v", err)
	}
	p.Heal()
	// The damaged connection is closed by Heal.
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("a connection that lost bytes was kept open after Heal")
	}
	c2, r2 := dial(t, p)
	if err := roundTrip(c2, r2, "fresh", 5*time.Second); err != nil {
		t.Fatalf("new connection after Heal: %v", err)
	}
	if s := p.Stats(); s.Damaged < 1 {
		t.Errorf("stats %+v: want a damaged connection", s)
	}
}

// LoseReplies on a real HTTP server: the request is served, the client
// never hears the answer.
func TestLoseRepliesHTTP(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(srv.Close)
	p := newProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	client := &http.Client{Transport: &http.Transport{}, Timeout: 400 * time.Millisecond}
	url := p.RewriteURL(srv.URL + "/ari/channels")
	if !strings.HasPrefix(url, "http://"+p.Addr()+"/ari/channels") {
		t.Fatalf("RewriteURL gave %s", url)
	}
	get := func() (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(); err != nil || body != "done" {
		t.Fatalf("healthy: %q %v", body, err)
	}
	p.LoseReplies()
	if _, err := get(); err == nil {
		t.Fatal("an answer came through LoseReplies")
	}
	if n := served.Load(); n != 2 {
		t.Fatalf("server saw %d requests, want 2 (the lost one was served)", n)
	}
	p.Heal()
	if body, err := get(); err != nil || body != "done" {
		t.Fatalf("after Heal: %q %v", body, err)
	}
}

// HTTP keep-alive connections (as ARI clients hold them) are cut too.
func TestCutHTTPKeepAlive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	p := newProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.RewriteURL(srv.URL), nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	ctx := context.Background()
	if err := get(ctx); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Active != 1 {
		t.Fatalf("stats %+v: want the kept-alive connection open", s)
	}
	p.Cut()
	if err := get(ctx); err == nil {
		t.Fatal("request succeeded during Cut")
	}
	p.Heal()
	if err := get(ctx); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	c, r := dial(t, p)
	if err := roundTrip(c, r, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c, r, "y", 2*time.Second); err == nil {
		t.Fatal("connection alive after Close")
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("still listening after Close")
	}
}
