package ari

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers every request with handler and counts the
// connections it accepted and the requests it got.
type countingServer struct {
	*httptest.Server
	conns, reqs atomic.Int32
	open        atomic.Int32 // connections open now
	maxOpen     atomic.Int32
}

func newCountingServer(t *testing.T, idle time.Duration, handler http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reqs.Add(1)
		handler(w, r)
	}))
	s.Config.IdleTimeout = idle
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
			n := s.open.Add(1)
			for m := s.maxOpen.Load(); n > m && !s.maxOpen.CompareAndSwap(m, n); m = s.maxOpen.Load() {
			}
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func poolTransport(t *testing.T, url string) *HTTPTransport {
	t.Helper()
	tr, err := NewHTTPTransport(HTTPOptions{URL: url + "/ari", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.pool == nil {
		t.Fatal("a plain-http transport with no client of its own does not use its connection pool")
	}
	return tr
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ok":true}`)
}

// Requests one after another share one kept-alive connection.
func TestPoolKeepsConnectionAlive(t *testing.T) {
	s := newCountingServer(t, 0, ok)
	tr := poolTransport(t, s.URL)
	for i := 0; i < 50; i++ {
		resp, err := tr.RoundTrip(context.Background(), &Request{Method: "POST", Path: "/channels/c1/answer"})
		if err != nil || resp.Status != 200 || string(resp.Body) != `{"ok":true}` {
			t.Fatalf("request %d: %+v %v", i, resp, err)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("50 requests in a row opened %d connections, want 1", n)
	}
}

// A connection the server closed while idle is not used: the request goes
// out once, on a new connection, and succeeds.
func TestPoolSkipsConnectionClosedWhileIdle(t *testing.T) {
	s := newCountingServer(t, 50*time.Millisecond, ok)
	tr := poolTransport(t, s.URL)
	if _, err := tr.RoundTrip(context.Background(), &Request{Method: "POST", Path: "/channels/c1/answer"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.open.Load() != 0 { // the server closed the idle connection
		if time.Now().After(deadline) {
			t.Fatal("the server never closed its idle connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := tr.RoundTrip(context.Background(), &Request{Method: "POST", Path: "/channels/c1/answer"})
	if err != nil || resp.Status != 200 {
		t.Fatalf("after the server's close: %+v %v", resp, err)
	}
	if n := s.reqs.Load(); n != 2 {
		t.Errorf("the server got %d requests, want 2", n)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// An answer with Connection: close, a chunked answer and an empty one are
// read whole, and the request after each still succeeds.
func TestPoolAnswerForms(t *testing.T) {
	s := newCountingServer(t, 0, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ari/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, `{"a":1}`)
		case "/ari/chunked":
			fl := w.(http.Flusher)
			fmt.Fprint(w, `{"b":`)
			fl.Flush()
			fmt.Fprint(w, `2}`)
		case "/ari/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	})
	tr := poolTransport(t, s.URL)
	for _, tc := range []struct{ path, body string }{
		{"/close", `{"a":1}`}, {"/chunked", `{"b":2}`}, {"/empty", ``}, {"/close", `{"a":1}`}, {"/empty", ``},
	} {
		resp, err := tr.RoundTrip(context.Background(), &Request{Method: "GET", Path: tc.path})
		if err != nil || string(resp.Body) != tc.body {
			t.Fatalf("%s: %+v %v, want body %q", tc.path, resp, err, tc.body)
		}
	}
	if n := s.conns.Load(); n != 3 { // one, closed twice by the server
		t.Errorf("%d connections, want 3", n)
	}
}

// The request carries the base path, the query (spaces as %20), Basic auth,
// and a JSON body with its length.
func TestPoolRequestOnTheWire(t *testing.T) {
	var got *http.Request
	var body string
	s := newCountingServer(t, 0, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(b)
		body = string(b)
		ok(w, r)
	})
	tr := poolTransport(t, s.URL)
	q := map[string][]string{"media": {"sound:hello world"}}
	if _, err := tr.RoundTrip(context.Background(), &Request{Method: "POST", Path: "/channels/c1/play", Query: q, Body: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/ari/channels/c1/play" || got.URL.RawQuery != "media=sound%3Ahello%20world" {
		t.Errorf("path %q query %q", got.URL.Path, got.URL.RawQuery)
	}
	if u, p, ok := got.BasicAuth(); !ok || u != "u" || p != "p" {
		t.Errorf("auth %q %q %v", u, p, ok)
	}
	if got.Header.Get("Content-Type") != "application/json" || body != `{"x":1}` {
		t.Errorf("content type %q body %q", got.Header.Get("Content-Type"), body)
	}
}

// A cancel or a deadline ends a request whose answer does not come, with
// the context's error, and the pool goes on working.
func TestPoolContextEndsRequest(t *testing.T) {
	release := make(chan struct{})
	s := newCountingServer(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ari/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		ok(w, r)
	})
	defer close(release)
	tr := poolTransport(t, s.URL)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := tr.RoundTrip(ctx, &Request{Method: "GET", Path: "/slow"})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled: %v after %v", err, time.Since(start))
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err = tr.RoundTrip(ctx, &Request{Method: "GET", Path: "/slow"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past its deadline: %v", err)
	}
	if resp, err := tr.RoundTrip(context.Background(), &Request{Method: "GET", Path: "/fast"}); err != nil || resp.Status != 200 {
		t.Errorf("after: %+v %v", resp, err)
	}
}

// Concurrent requests open at most DefaultMaxConns connections; the rest
// wait for one.
func TestPoolBoundsConnections(t *testing.T) {
	s := newCountingServer(t, 0, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		ok(w, r)
	})
	tr := poolTransport(t, s.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 3*DefaultMaxConns)
	for i := 0; i < 3*DefaultMaxConns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tr.RoundTrip(context.Background(), &Request{Method: "GET", Path: "/x"}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.maxOpen.Load(); n > DefaultMaxConns {
		t.Errorf("%d connections open at once, want at most %d", n, DefaultMaxConns)
	}
}

// A request whose connection closes after it was written, with no answer,
// is not sent again unless it is a GET: Asterisk may have carried it out.
func TestPoolNoAnswerRetriesOnlyGET(t *testing.T) {
	var dropped atomic.Int32 // requests whose connection was closed unanswered
	var seen sync.Map        // method → count
	s := newCountingServer(t, 0, func(w http.ResponseWriter, r *http.Request) {
		n, _ := seen.LoadOrStore(r.Method+r.URL.Path, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 && strings.HasSuffix(r.URL.Path, "/drop") {
			dropped.Add(1)
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		ok(w, r)
	})
	tr := poolTransport(t, s.URL)
	warm := func() { // a kept-alive connection to reuse
		if _, err := tr.RoundTrip(context.Background(), &Request{Method: "GET", Path: "/warm"}); err != nil {
			t.Fatal(err)
		}
	}
	warm()
	if resp, err := tr.RoundTrip(context.Background(), &Request{Method: "GET", Path: "/get/drop"}); err != nil || resp.Status != 200 {
		t.Errorf("GET dropped once: %+v %v, want answered on its retry", resp, err)
	}
	warm()
	if _, err := tr.RoundTrip(context.Background(), &Request{Method: "POST", Path: "/post/drop"}); err == nil {
		t.Error("POST dropped unanswered: no error, want one")
	}
	n, _ := seen.Load("POST/ari/post/drop")
	if c := n.(*atomic.Int32).Load(); c != 1 {
		t.Errorf("the unanswered POST reached the server %d times, want 1", c)
	}
}

// rawServer serves each connection with serve on a TCP listener of its
// own, below net/http's server, and returns its address.
func rawServer(t *testing.T, serve func(c net.Conn)) string {
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
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// The pool's request parses as HTTP/1.1 (checked with net/http's reader).
func TestPoolRequestParses(t *testing.T) {
	got := make(chan *http.Request, 1)
	addr := rawServer(t, func(c net.Conn) {
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			got <- nil
			return
		}
		got <- r
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	})
	tr := poolTransport(t, "http://"+addr)
	if _, err := tr.RoundTrip(context.Background(), &Request{Method: "DELETE", Path: "/bridges/b1"}); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r == nil || r.Method != "DELETE" || r.RequestURI != "/ari/bridges/b1" || r.Host != addr {
		t.Errorf("parsed %+v", r)
	}
}

// A connection whose last request had a deadline, long passed, is used
// again: the deadline ended with its request.
func TestPoolReusesAfterDeadlinePassed(t *testing.T) {
	s := newCountingServer(t, 0, ok)
	tr := poolTransport(t, s.URL)
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		if _, err := tr.RoundTrip(ctx, &Request{Method: "GET", Path: "/x"}); err != nil {
			t.Fatal(err)
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections for three requests in a row, want 1", n)
	}
}

// A request whose context has already ended never reaches the server, even
// with a kept-alive connection free to carry it: callers take "cancelled"
// for "not sent" (a dial cut short by a stop must not ring after it). The
// server counts the request lines it reads off the wire.
func TestPoolEndedContextSendsNothing(t *testing.T) {
	var posts, gets atomic.Int32
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(l, "POST "):
				posts.Add(1)
			case strings.HasPrefix(l, "GET "):
				gets.Add(1)
			case l == "\r\n":
				fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
			}
		}
	})
	tr := poolTransport(t, "http://"+addr)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 200; i++ {
		// A kept-alive connection waits in the pool for each try.
		if _, err := tr.RoundTrip(context.Background(), &Request{Method: "GET", Path: "/warm"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.RoundTrip(ended, &Request{Method: "POST", Path: "/channels/c1/dial"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("request %d with an ended context: %v", i, err)
		}
	}
	if n := posts.Load(); n != 0 {
		t.Errorf("%d of 200 requests with an ended context reached the server", n)
	}
	if n := gets.Load(); n != 200 {
		t.Errorf("the server read %d of the 200 other requests", n)
	}
}
