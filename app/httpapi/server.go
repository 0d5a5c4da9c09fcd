package httpapi

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"golang.org/x/net/netutil"

	"github.com/transferd/transferd/app"
)

// NewServer is the http.Server for h with the limits of c (the http.*
// configuration keys): time to send headers and body, time to read the
// answer, idle keep-alive time and header size; c.MaxConnections is
// Listen's. The event stream (SSE) lives past ReadTimeout and
// WriteTimeout: it clears its read deadline and sets a write deadline of
// WriteTimeout before each write instead, so a stream stays open while its
// client reads it and is cut when the client stops reading.
func NewServer(h http.Handler, c app.HTTPConfig) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
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
