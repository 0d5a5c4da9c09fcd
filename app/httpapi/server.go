package httpapi

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// ServerLimits bound what a client, authenticated or not, can hold of
// transferd's HTTP server: time to send headers and body, time to read
// the answer, idle keep-alive time, header size and open connections. The
// event stream (SSE) lives past ReadTimeout and WriteTimeout: it clears
// its read deadline and sets a write deadline of WriteTimeout before each
// write instead, so a stream stays open while its client reads it and is
// cut when the client stops reading.
type ServerLimits struct {
	ReadHeaderTimeout time.Duration // request line and headers
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // the answer (per write on the event stream)
	IdleTimeout       time.Duration // a kept-alive connection between requests
	MaxHeaderBytes    int
	MaxConnections    int // open connections; more wait in the listen backlog
}

// DefaultServerLimits are the defaults of the http.* configuration keys.
var DefaultServerLimits = ServerLimits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       15 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxHeaderBytes:    32 << 10,
	MaxConnections:    256,
}

// NewServer is the http.Server for h with the limits l.
func NewServer(h http.Handler, l ServerLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// Listen listens on addr (TCP) and accepts at most maxConns connections
// at a time (golang.org/x/net/netutil.LimitListener); maxConns <= 0: no
// cap.
func Listen(addr string, maxConns int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 {
		ln = netutil.LimitListener(ln, maxConns)
	}
	return ln, nil
}

// bodyWatch tells whether a request's body was read to its end. An answer
// written before that (a 401 before the body, a 413, ...) closes the
// connection: else net/http would first read the rest of the body to keep
// the connection alive, and a client that never sends the body it
// announced would wait for an answer that never comes.
type bodyWatch struct {
	io.ReadCloser
	eof atomic.Bool
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}
