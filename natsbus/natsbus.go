// Package natsbus runs and reaches the NATS server of transferd's NATS
// mode: an embedded nats-server with JetStream, for tests and a one-node
// cluster with no extra process, and a client connection that reconnects
// forever, so a NATS restart in the middle of a call is ridden out.
package natsbus

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Options configures StartEmbedded.
type Options struct {
	// Dir holds JetStream's storage. Empty means a new temporary directory,
	// removed by Shutdown. Reuse a Dir to keep streams and key-value
	// buckets across a restart.
	Dir string
	// Host to listen on; default 127.0.0.1.
	Host string
	// Port to listen on; 0 means a free one (nats-server's -1). Give a
	// fixed port to restart a server where its clients reconnect.
	Port int
	// Name is the server's name; default "transferd".
	Name string
	// Logger gets the server's warnings and errors (its notices at Debug).
	Logger zerolog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 10s.
	ReadyTimeout time.Duration
	// Cluster, when its Name is set, joins the server to a NATS cluster
	// (JetStream then replicates streams over the cluster's servers; each
	// needs its own Name).
	Cluster ClusterOptions
}

// ClusterOptions make an embedded server one of a cluster.
type ClusterOptions struct {
	Name string // the cluster's name, the same on every server
	Host string // where routes from the other servers arrive; default Options.Host
	Port int    // route port; 0 means a free one
	// Routes are the other servers' route URLs, nats-route://host:port.
	Routes []string
}

// Server is a running embedded nats-server.
type Server struct {
	ns     *server.Server
	url    string
	tmpDir string // removed by Shutdown when StartEmbedded made it
}

// StartEmbedded starts a nats-server with JetStream in this process and
// waits until it accepts connections.
func StartEmbedded(opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	if opts.Name == "" {
		opts.Name = "transferd"
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	s := &Server{}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "transferd-nats-")
		if err != nil {
			return nil, fmt.Errorf("natsbus: jetstream directory: %w", err)
		}
		opts.Dir, s.tmpDir = d, d
	}
	sopts := &server.Options{
		ServerName: opts.Name,
		Host:       opts.Host,
		Port:       opts.Port,
		JetStream:  true,
		StoreDir:   opts.Dir,
		NoSigs:     true, // the embedding process owns its signals
	}
	if c := opts.Cluster; c.Name != "" {
		if c.Host == "" {
			c.Host = opts.Host
		}
		if c.Port == 0 {
			c.Port = -1
		}
		sopts.Cluster = server.ClusterOpts{Name: c.Name, Host: c.Host, Port: c.Port}
		if len(c.Routes) > 0 {
			sopts.Routes = server.RoutesFromStr(strings.Join(c.Routes, ","))
		}
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("natsbus: new server: %w", err)
	}
	ns.SetLoggerV2(serverLog{opts.Logger.With().Str("component", "nats-server").Logger()}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(opts.ReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		s.cleanup()
		return nil, fmt.Errorf("natsbus: server on %s:%d not ready within %s", opts.Host, opts.Port, opts.ReadyTimeout)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		s.cleanup()
		return nil, errors.New("natsbus: JetStream did not start")
	}
	s.ns = ns
	s.url = ns.ClientURL()
	return s, nil
}

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:4222.
func (s *Server) ClientURL() string { return s.url }

// RouteURL is where the other servers of its cluster reach it, or "".
func (s *Server) RouteURL() string {
	if a := s.ns.ClusterAddr(); a != nil {
		return "nats-route://" + a.String()
	}
	return ""
}

// NATS returns the server itself, for what this package does not wrap.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits until it is down. Clients see the
// connection drop and reconnect when a server comes back on the same port.
func (s *Server) Shutdown() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	s.cleanup()
}

func (s *Server) cleanup() {
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
		s.tmpDir = ""
	}
}

// serverLog adapts zerolog to nats-server's Logger.
type serverLog struct{ l zerolog.Logger }

func (s serverLog) Noticef(format string, v ...any) { s.l.Debug().Msgf(format, v...) }
func (s serverLog) Warnf(format string, v ...any)   { s.l.Warn().Msgf(format, v...) }
func (s serverLog) Fatalf(format string, v ...any)  { s.l.Error().Msgf(format, v...) }
func (s serverLog) Errorf(format string, v ...any)  { s.l.Error().Msgf(format, v...) }
func (s serverLog) Debugf(format string, v ...any)  {}
func (s serverLog) Tracef(format string, v ...any)  {}

// ReconnectWait is the pause between two reconnect attempts (plus up to
// 100ms of jitter, so a fleet does not reconnect in step).
const ReconnectWait = 250 * time.Millisecond

// writeAtOnce is the write buffer's flush threshold that makes nats.go
// write every message as it is published (any message is ≥ 1 byte).
const writeAtOnce = 1

// Connect connects to url as name, reconnecting forever after a drop (the
// publishes made meanwhile are buffered, up to nats.go's 8 MiB, and sent
// on reconnect; subscriptions are restored). Disconnects, reconnects,
// asynchronous errors (a slow consumer) and the final close are logged.
// The first connection is not retried: a wrong URL fails at once. extra
// options are applied last.
//
// Each publish is written to the socket at once (WriteBufferSize), not
// left in nats.go's buffer for its flusher goroutine: an ARI request waits
// for its answer, and handing the write to another goroutine cost it about
// 30-40 µs p50 on the loaded 2-core machine (BENCHMARKS.md, issue 15).
// Batching would save write calls only when many messages are queued at
// once; at transferd's rates (hundreds to a few thousand a second) the
// flusher was writing nearly every message on its own anyway.
func Connect(url, name string, log zerolog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	log = log.With().Str("component", "nats").Str("conn", name).Logger()
	opts := []nats.Option{
		nats.Name(name),
		nats.WriteBufferSize(writeAtOnce),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(ReconnectWait),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn().Err(err).Msg("NATS disconnected; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("NATS reconnected")
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			log.Info().Err(nc.LastError()).Msg("NATS connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("NATS asynchronous error")
		}),
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect %s: %w", url, err)
	}
	return nc, nil
}
