package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
)

// limitedServer serves e's handler on a real listener with the limits l,
// as transferd does.
func limitedServer(t *testing.T, e *env, l app.HTTPConfig) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", l.MaxConnections)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(e.h, l)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e.hub.Close()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the server closes it and returns how long
// that took and what was read; it fails after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s (read so far: %q)", limit, b)
	}
	return took, string(b)
}

// TestServerCutsSlowAndIdleClients: a client that sends its body too
// slowly, one that never sends a request, and one idle between requests
// are each cut off within the configured timeouts, while an event stream
// (authenticated SSE) opened at the same time stays open past all of them
// and still carries events.
func TestServerCutsSlowAndIdleClients(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Heartbeat = 100 * time.Millisecond; o.StreamWriteTimeout = 300 * time.Millisecond })
	e.backend.add(talkingCall("acme", "alice-in"))
	l := app.HTTPConfig{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond, IdleTimeout: 400 * time.Millisecond, MaxHeaderBytes: 8 << 10, MaxConnections: 16}
	addr := limitedServer(t, e, l)

	// The stream, opened first, read throughout.
	res, err := http.Get("http://" + addr + "/v2/accounts/acme/events?x=" + acmeToken) // no token: 401
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("stream without a token: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v2/accounts/acme/events", nil)
	req.Header.Set("X-Auth-Token", acmeToken)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 {
		t.Fatalf("stream: %d", stream.StatusCode)
	}
	evs := readEvents(stream.Body)
	if ev := next(t, evs); ev.event != EventSnapshot {
		t.Fatalf("first event %q", ev.event)
	}

	// Slow body: the headers, then a byte at a time, never the whole body.
	slow := dial(t, addr)
	fmt.Fprintf(slow, "POST %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n", callPath, acmeToken)
	stopDrip := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopDrip:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := slow.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	took, got := closedWithin(t, slow, 10*time.Second)
	close(stopDrip)
	if took > l.ReadTimeout+3*time.Second {
		t.Errorf("slow body cut after %s, want about read_timeout %s", took, l.ReadTimeout)
	}
	if got != "" && !strings.Contains(got, " 400 ") {
		t.Errorf("slow body answered %q", got)
	}

	// Never a request line: cut at read_header_timeout.
	silent := dial(t, addr)
	if took, got := closedWithin(t, silent, 10*time.Second); took > l.ReadHeaderTimeout+3*time.Second || got != "" {
		t.Errorf("silent client cut after %s with %q, want about read_header_timeout %s", took, got, l.ReadHeaderTimeout)
	}

	// Half a header line, then nothing.
	partial := dial(t, addr)
	fmt.Fprintf(partial, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")
	if took, _ := closedWithin(t, partial, 10*time.Second); took > l.ReadHeaderTimeout+3*time.Second {
		t.Errorf("partial headers cut after %s, want about read_header_timeout %s", took, l.ReadHeaderTimeout)
	}

	// Idle after one answer on a kept-alive connection.
	idle := dial(t, addr)
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	r1, err := http.ReadResponse(br, nil)
	if err != nil || r1.StatusCode != 200 {
		t.Fatalf("healthz on the idle connection: %v %v", r1, err)
	}
	io.Copy(io.Discard, r1.Body)
	start := time.Now()
	_ = idle.SetReadDeadline(start.Add(10 * time.Second))
	if _, err := br.ReadByte(); err == nil || time.Since(start) > l.IdleTimeout+3*time.Second {
		t.Errorf("idle connection: %v after %s, want closed after about idle_timeout %s", err, time.Since(start), l.IdleTimeout)
	}

	// Too many header bytes: 431.
	big := dial(t, addr)
	fmt.Fprintf(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", strings.Repeat("p", 16<<10))
	if r, err := http.ReadResponse(bufio.NewReader(big), nil); err != nil || r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %v %v", r, err)
	}

	// The stream is still open, well past every timeout above, and
	// carries an event published now.
	if time.Since(start) < 2*l.ReadTimeout {
		time.Sleep(2*l.ReadTimeout - time.Since(start))
	}
	info := talkingCall("acme", "late-in").info
	e.hub.Publish(info)
	for {
		ev := next(t, evs)
		if ev.event == EventCallStarted && strings.Contains(ev.data, "late-in") {
			break
		}
	}
}

// TestUnauthenticatedPostWithoutBody: a POST that announces a body and
// never sends it gets its 401 at once, and the connection is closed; it
// does not wait for the body (nor for read_timeout).
func TestUnauthenticatedPostWithoutBody(t *testing.T) {
	e := newEnv(t, nil)
	e.backend.add(talkingCall("acme", "alice-in"))
	l := app.DefaultConfig().HTTP // read_timeout 15s: the answer must not wait for it
	addr := limitedServer(t, e, l)
	for _, hdr := range []string{"", "X-Auth-Token: " + unknownTok + "\r\n", "X-Auth-Token: " + otherToken + "\r\n"} {
		c := dial(t, addr)
		start := time.Now()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", callPath, hdr)
		took, got := closedWithin(t, c, 10*time.Second)
		if took > 5*time.Second {
			t.Errorf("%q: answered and closed after %s", hdr, took)
		}
		want := " 401 "
		if strings.Contains(hdr, otherToken) {
			want = " 404 "
		}
		if !strings.Contains(got, want) {
			t.Errorf("%q: answer %q, want %s", hdr, got, want)
		}
		_ = start
	}
	// The same with chunked encoding.
	c := dial(t, addr)
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", callPath)
	if took, got := closedWithin(t, c, 10*time.Second); took > 5*time.Second || !strings.Contains(got, " 401 ") {
		t.Errorf("chunked: %q after %s", got, took)
	}
}

// TestConnectionCap: with max_connections open, the next connection is
// not served until one of them closes; then it is.
func TestConnectionCap(t *testing.T) {
	e := newEnv(t, nil)
	l := app.DefaultConfig().HTTP
	l.MaxConnections = 3
	addr := limitedServer(t, e, l)
	send := func(c net.Conn) {
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	read := func(br *bufio.Reader, c net.Conn, wait time.Duration) error {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			return fmt.Errorf("status %d", r.StatusCode)
		}
		return nil
	}
	held := make([]net.Conn, 3)
	for i := range held {
		held[i] = dial(t, addr)
		send(held[i])
		if err := read(bufio.NewReader(held[i]), held[i], 5*time.Second); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	extra := dial(t, addr) // accepted by the kernel, not by the server
	send(extra)
	br := bufio.NewReader(extra)
	_ = extra.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := br.Peek(1); err == nil {
		t.Fatal("a 4th connection was served with max_connections 3")
	}
	held[0].Close()
	if err := read(br, extra, 5*time.Second); err != nil {
		t.Fatalf("a connection was closed but the waiting one is not served: %v", err)
	}
}

// TestLargeBodyRefusedNotReset: a body somewhat over the limit, sent slowly
// by an honest client, is read and dropped so that the client gets its 413
// and not a connection reset while it is still writing (seen from a
// loaded CI machine on a 70 kB body).
func TestLargeBodyRefusedNotReset(t *testing.T) {
	e := newEnv(t, nil)
	e.backend.add(talkingCall("acme", "alice-in"))
	addr := limitedServer(t, e, app.DefaultConfig().HTTP)
	c := dial(t, addr)
	const chunk, chunks = 5000, 20 // 100 kB, over 800 ms: past net/http's 500 ms linger
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", callPath, acmeToken, chunk*chunks)
	for i := 0; i < chunks; i++ {
		if _, err := c.Write([]byte(strings.Repeat(" ", chunk))); err != nil {
			t.Fatalf("write %d of %d: %v", i+1, chunks, err)
		}
		time.Sleep(40 * time.Millisecond)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
}
