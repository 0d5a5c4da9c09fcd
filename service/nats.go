package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natstransport"
	"github.com/transferd/transferd/cluster"
	"github.com/transferd/transferd/natsbus"
)

// natsSetup is what NATS mode adds around the app: the connection (and the
// embedded server, when asked for), the ARI transport over NATS and the
// shared call state.
type natsSetup struct {
	// reconnected runs after NATS comes back (set once the app exists).
	reconnected atomic.Pointer[func()]
	server      *natsbus.Server
	conn        *nats.Conn
	transport   *natstransport.Transport
	cluster     *cluster.Cluster
}

// ConnectNATS starts the embedded server when configured and connects
// (name is the connection's name on the server). onReconnect, if set, runs
// after each reconnect to the NATS server. The caller closes the
// connection and shuts the server (when not nil) down.
func ConnectNATS(cfg app.NATSConfig, name string, log zerolog.Logger, onReconnect func()) (*natsbus.Server, *nats.Conn, error) {
	url := cfg.URL
	var srv *natsbus.Server
	if cfg.Embedded {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("nats.listen: %w", err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil, fmt.Errorf("nats.listen: port %q: %w", port, err)
		}
		srv, err = natsbus.StartEmbedded(natsbus.Options{Host: host, Port: p, Dir: cfg.StoreDir, Name: name, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("embedded nats-server: %w", err)
		}
		if url == "" {
			url = srv.ClientURL()
		}
		log.Info().Str("url", srv.ClientURL()).Msg("embedded nats-server with JetStream started")
	}
	var extra []nats.Option
	if onReconnect != nil {
		extra = append(extra, nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats: reconnected")
			onReconnect()
		}))
	}
	nc, err := natsbus.Connect(url, name, log, extra...)
	if err != nil {
		if srv != nil {
			srv.Shutdown()
		}
		return nil, nil, fmt.Errorf("connect to NATS %s: %w", url, err)
	}
	return srv, nc, nil
}

// setupNATS prepares NATS mode for the app.
func setupNATS(ctx context.Context, cfg app.Config, log zerolog.Logger) (*natsSetup, error) {
	n := &natsSetup{}
	srv, nc, err := ConnectNATS(cfg.NATS, "transferd-"+InstanceID(cfg), log, func() {
		if f := n.reconnected.Load(); f != nil {
			(*f)()
		}
	})
	if err != nil {
		return nil, err
	}
	tr, err := natstransport.New(nc, natstransport.Options{App: cfg.ARI.App, DialogsOnly: true, StockServer: cfg.NATS.StockServer,
		Logger: log}) // the transport names itself (component=natstransport)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cl, err := cluster.New(ctx, nc, cluster.Options{Name: cfg.ARI.App, Instance: InstanceID(cfg), LeaseTTL: cfg.NATS.LeaseTTL,
		Replicas: cfg.NATS.Replicas})
	if err != nil {
		nc.Close()
		return nil, err
	}
	n.server, n.conn, n.transport, n.cluster = srv, nc, tr, cl
	return n, nil
}

// ready is the readiness condition of NATS mode: connected, and both
// key-value buckets answer.
func (n *natsSetup) ready(ctx context.Context) error {
	if !n.conn.IsConnected() {
		return fmt.Errorf("NATS: not connected (%s)", n.conn.Status())
	}
	if err := n.cluster.Ping(ctx); err != nil {
		return fmt.Errorf("NATS: %w", err)
	}
	return nil
}

func (n *natsSetup) close() {
	_ = n.transport.Close()
	n.conn.Close()
	if n.server != nil {
		n.server.Shutdown()
	}
}

// InstanceID is this instance's id in call leases and on every log line:
// nats.instance when set, else host-pid.
func InstanceID(cfg app.Config) string {
	if cfg.NATS.Instance != "" {
		return cfg.NATS.Instance
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// dialogs adapts the NATS transport to app.Dialogs.
type dialogs struct{ t *natstransport.Transport }

func (d dialogs) Join(ctx context.Context, dialog string, channels []ari.ChannelID, bridges []ari.BridgeID) error {
	if err := d.t.JoinDialog(dialog); err != nil {
		return err
	}
	var errs []error
	for _, ch := range channels {
		errs = append(errs, d.t.BindDialog(ctx, dialog, "channel", string(ch)))
	}
	for _, b := range bridges {
		errs = append(errs, d.t.BindDialog(ctx, dialog, "bridge", string(b)))
	}
	return errors.Join(errs...)
}

func (d dialogs) Leave(dialog string) { d.t.LeaveDialog(dialog) }
