package ari

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// connPool sends REST requests over plain-HTTP/1.1 kept-alive connections
// on the calling goroutine. net/http's client runs two goroutines per
// connection and hands every request and answer between them and the
// caller; for ARI's small, frequent requests those hand-offs were most of
// transferd's own CPU (BENCHMARKS.md, issue 15). Here the caller writes the
// request and reads the answer itself (http.ReadResponse), and a
// connection is only checked for a close by Asterisk when it is taken
// from the pool (stillOpen).
//
// It serves plain http only; https and a caller's own http.Client go
// through net/http.
type connPool struct {
	addr    string // host:port
	host    string // the Host header
	prefix  string // the base URL's path, e.g. "/ari"
	auth    string // the Authorization header's value, or ""
	max     int
	dialer  net.Dialer
	slots   chan struct{} // one per connection, idle or busy
	mu      sync.Mutex
	idle    []*poolConn // most recently used last
	maxIdle time.Duration
}

// poolConn is one kept-alive connection.
type poolConn struct {
	net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time // when it went back to the pool
}

// idleLimit is how long an unused connection is kept: below the time
// Asterisk waits for the next request on a kept-alive connection (http.conf
// session_keep_alive, 15 s by default), so that Asterisk rarely closes one
// while a request is on its way (stillOpen catches the closes before).
const idleLimit = 10 * time.Second

// newConnPool: auth is the Authorization header's value (basicAuth), or "".
func newConnPool(addr, host, prefix, auth string, max int) *connPool {
	return &connPool{addr: addr, host: host, prefix: prefix, auth: auth, max: max,
		slots: make(chan struct{}, max), maxIdle: idleLimit}
}

// errNoAnswer marks a request written on a connection that closed before
// any answer came: Asterisk may or may not have carried it out.
var errNoAnswer = errors.New("connection closed before an answer")

// errNotWritten marks a request that could not be written on a kept-alive
// connection Asterisk had closed: Asterisk never read it.
var errNotWritten = errors.New("connection closed before the request was written")

func (p *connPool) roundTrip(ctx context.Context, req *Request) (*Response, error) {
	// A request whose context has ended is never sent, as with net/http:
	// callers rely on it (a dial cut short by a stop must not reach
	// Asterisk after the stop). select alone would not ensure it: it picks
	// at random between a free slot and the ended context.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()
	// A kept-alive connection Asterisk closed meanwhile is retried once on
	// a new one: any request that could not be written, and a GET that got
	// no answer (any other request may have been carried out).
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, keep, err := p.exchange(ctx, c, req)
		if err == nil && keep {
			p.put(c)
		} else {
			c.Close()
		}
		retry := errors.Is(err, errNotWritten) || (errors.Is(err, errNoAnswer) && req.Method == http.MethodGet)
		if retry && reused && attempt == 0 && ctx.Err() == nil {
			continue
		}
		return resp, err
	}
}

// get takes the most recently used open connection, or dials one.
func (p *connPool) get(ctx context.Context) (*poolConn, bool, error) {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if now.Sub(c.used) < p.maxIdle && stillOpen(c) {
			return c, true, nil
		}
		c.Close()
	}
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	return &poolConn{Conn: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 1024)}, false, nil
}

// put returns c to the pool, and closes the connections that have sat
// unused for too long at its bottom.
func (p *connPool) put(c *poolConn) {
	// The request's deadline must not outlive it: stillOpen's peek would
	// fail on it.
	_ = c.SetDeadline(time.Time{})
	c.used = time.Now()
	var stale []*poolConn
	p.mu.Lock()
	for len(p.idle) > 0 && c.used.Sub(p.idle[0].used) >= p.maxIdle {
		stale = append(stale, p.idle[0])
		p.idle[0] = nil
		p.idle = p.idle[1:]
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	for _, s := range stale {
		s.Close()
	}
}

// exchange writes req on c and reads its answer. keep says whether c may
// carry another request.
func (p *connPool) exchange(ctx context.Context, c *poolConn, req *Request) (*Response, bool, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Time{})
	}
	// A cancel without a deadline unblocks the read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := ctx.Err(); err != nil {
		// Ended while the connection was taken (or dialled): not sent.
		return nil, false, err
	}

	w := c.bw
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(p.prefix)
	w.WriteString(req.Path)
	if q := encodeQuery(req.Query); q != "" {
		w.WriteByte('?')
		w.WriteString(q)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(p.host)
	w.WriteString("\r\nAccept: application/json\r\n")
	if p.auth != "" {
		w.WriteString("Authorization: ")
		w.WriteString(p.auth)
		w.WriteString("\r\n")
	}
	if req.Body != nil {
		w.WriteString("Content-Type: application/json\r\n")
	}
	if req.Body != nil || req.Method == http.MethodPost || req.Method == http.MethodPut {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(req.Body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(req.Body)
	if err := w.Flush(); err != nil {
		if isClosed(err) {
			return nil, false, fmt.Errorf("%w: %v", errNotWritten, err)
		}
		return nil, false, p.failed(ctx, err)
	}
	if _, err := c.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || isClosed(err) {
			return nil, false, errNoAnswer
		}
		return nil, false, p.failed(ctx, err)
	}
	hr, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, false, p.failed(ctx, fmt.Errorf("read answer: %w", err))
	}
	data, err := readAnswer(hr.Body)
	hr.Body.Close()
	if err != nil {
		return nil, false, p.failed(ctx, err)
	}
	// stop is false when the cancel fired meanwhile and spoiled the
	// connection's deadline: the answer itself is whole, the connection
	// is not kept.
	return &Response{Status: hr.StatusCode, Body: data}, stop() && !hr.Close, nil
}

// failed reports a connection error as the ctx's error when the ctx ended
// (its deadline is the connection's).
func (p *connPool) failed(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// isClosed says whether err is the peer's close or reset of a connection.
func isClosed(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}
