// Package faultproxy is a TCP proxy for fault injection: put it between
// transferd and Asterisk's ARI (HTTP requests and the events WebSocket are
// both plain TCP to it) and, from a test, cut every connection, hold them in
// a black hole, lose only the answers, add latency, and heal.
//
// It works on bytes, not on HTTP: a fault hits whatever is in flight, as a
// real network fault would.
//
//	p, err := faultproxy.New("127.0.0.1:8088") // Asterisk's HTTP port
//	cfg.ARI.URL = p.RewriteURL(sandbox.URL()) // transferd talks to the proxy
//	p.Cut()                                    // ARI is gone
//	p.Heal()                                   // and back
//
// Faults:
//   - Cut resets every open connection and every new one (RST at accept:
//     "connection reset by peer") until Heal. The listening port stays
//     bound, so Heal never races with another process for it.
//   - Blackhole forwards nothing in either direction: requests hang until
//     the client's own timeout. Heal closes the connections that lost bytes.
//   - LoseReplies forwards client→upstream bytes but drops the answers:
//     Asterisk does what was asked and the client never learns it.
//     Heal closes the connections that lost bytes.
//   - Delay adds a one-way latency to every chunk in both directions (so a
//     round trip takes at least twice d); it composes with the others.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// Mode is what the proxy does with traffic.
type Mode int

const (
	Pass        Mode = iota // forward everything
	Cut                     // reset every connection, refuse new ones
	Blackhole               // accept, forward nothing
	LoseReplies             // forward requests, drop answers
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Cut:
		return "cut"
	case Blackhole:
		return "blackhole"
	case LoseReplies:
		return "lose-replies"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Stats counts what the proxy saw since it started.
type Stats struct {
	Accepted int // connections accepted from clients
	Refused  int // connections reset at accept (Cut, or upstream unreachable)
	Active   int // connections open now
	Damaged  int // connections that lost bytes and were or will be closed
}

// Proxy forwards TCP connections from its loopback listener to an upstream
// address, applying the current fault.
type Proxy struct {
	upstream string
	ln       net.Listener

	mu      sync.Mutex
	mode    Mode
	delay   time.Duration
	conns   map[*link]struct{}
	stats   Stats
	closed  bool
	changed time.Time // when the mode last changed

	wg sync.WaitGroup
}

// New listens on a free loopback port and forwards to upstream
// ("host:port").
func New(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{upstream: upstream, ln: ln, conns: map[*link]struct{}{}, changed: time.Now()}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// NewForURL is New for the host:port of an http(s) URL such as
// http://127.0.0.1:8088/ari.
func NewForURL(rawURL string) (*Proxy, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, fmt.Errorf("faultproxy: no host in %q", rawURL)
	}
	return New(u.Host)
}

// Addr is the proxy's listening address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// RewriteURL returns rawURL with its host:port replaced by the proxy's, so
// a client configured with it goes through the proxy. It panics on a URL
// that does not parse: it is meant for the test's own configuration.
func (p *Proxy) RewriteURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(fmt.Sprintf("faultproxy: %v", err))
	}
	u.Host = p.Addr()
	return u.String()
}

// Mode is the current fault.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Active = len(p.conns)
	return s
}

// Cut resets every open connection and refuses (resets) new ones until
// Heal.
func (p *Proxy) Cut() { p.set(Cut) }

// Blackhole stops forwarding in both directions: requests and events hang.
func (p *Proxy) Blackhole() { p.set(Blackhole) }

// LoseReplies forwards what clients send and drops what upstream answers.
func (p *Proxy) LoseReplies() { p.set(LoseReplies) }

// Heal forwards everything again. Connections that lost bytes during a
// Blackhole or LoseReplies are closed: their streams are broken, as they
// would be after a real fault outlasting TCP's patience.
func (p *Proxy) Heal() { p.set(Pass) }

// Delay sets the added one-way latency (0 removes it). It applies to bytes
// read from now on, in every mode that forwards.
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Since is how long the current mode has been in force.
func (p *Proxy) Since() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.changed)
}

func (p *Proxy) set(m Mode) {
	p.mu.Lock()
	p.mode = m
	p.changed = time.Now()
	var kill []*link
	for l := range p.conns {
		if m == Cut || (m == Pass && l.damaged) {
			kill = append(kill, l)
		}
	}
	p.mu.Unlock()
	for _, l := range kill {
		l.close(m == Cut)
	}
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var all []*link
	for l := range p.conns {
		all = append(all, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range all {
		l.close(false)
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		p.stats.Accepted++
		mode := p.mode
		p.mu.Unlock()
		if mode == Cut {
			p.refuse(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// refuse resets a client connection (SO_LINGER 0 makes close send RST).
func (p *Proxy) refuse(c net.Conn) {
	p.mu.Lock()
	p.stats.Refused++
	p.mu.Unlock()
	reset(c)
}

func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		p.refuse(client)
		return
	}
	l := &link{p: p, client: client, up: up}
	p.mu.Lock()
	if p.closed || p.mode == Cut {
		p.mu.Unlock()
		p.refuse(client)
		_ = up.Close()
		return
	}
	p.conns[l] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.pump(client, up, true) }()
	go func() { defer wg.Done(); l.pump(up, client, false) }()
	wg.Wait()
	l.close(false)
	p.mu.Lock()
	delete(p.conns, l)
	p.mu.Unlock()
}

// link is one proxied connection: the client's side and upstream's.
type link struct {
	p          *Proxy
	client, up net.Conn
	damaged    bool // guarded by p.mu
	once       sync.Once
}

func (l *link) close(rst bool) {
	l.once.Do(func() {
		if rst {
			reset(l.client)
		} else {
			_ = l.client.Close()
		}
		_ = l.up.Close()
	})
}

type chunk struct {
	b   []byte
	due time.Time
}

// pump copies src to dst. Chunks are read as they come and written once
// their delay has passed, so latency does not cut throughput. toUpstream
// says which direction this is (LoseReplies drops only the other one).
func (l *link) pump(src, dst net.Conn, toUpstream bool) {
	q := make(chan chunk, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(c.b); err != nil {
				l.close(false)
				for range q { // drain so the reader never blocks
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p := l.p
			p.mu.Lock()
			mode, delay := p.mode, p.delay
			drop := mode == Blackhole || mode == Cut || (mode == LoseReplies && !toUpstream)
			if drop && !l.damaged {
				l.damaged = true
				p.stats.Damaged++
			}
			p.mu.Unlock()
			if !drop {
				q <- chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(delay)}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				l.close(false)
			}
			break
		}
	}
	close(q)
	<-done
	// The source ended: end the other side too (HTTP and WebSocket clients
	// never half-close, so a full close loses nothing they wait for).
	l.close(false)
}
