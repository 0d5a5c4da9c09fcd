package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/service"
)

const proxyUsage = `transferd proxy — serve one Asterisk's ARI on NATS (the ari-proxy v5 protocol)

Usage:
  transferd proxy --config FILE [--node NAME] [--nats URL]

Run one per Asterisk (and Stasis application). It connects to ari.url of the
configuration, publishes that Asterisk's events and answers ARI requests on
NATS for any number of transferd instances started with nats.url set.

`

// runProxy is the `transferd proxy` subcommand.
func runProxy(args []string) int {
	cmd := newCommand("transferd proxy", proxyUsage, "configuration file (YAML): ari, nats and log sections")
	cmd.set("nats", "nats.url", "NATS URL (overrides nats.url)", func(c *app.Config) *string { return &c.NATS.URL })
	node := cmd.fs.String("node", "", "node name announced for this Asterisk (default: its entity id)")
	cmd.set("ari-url", "ari.url", "ARI base URL (overrides ari.url)", func(c *app.Config) *string { return &c.ARI.URL })
	if code, done := cmd.parse(args); done {
		return code
	}
	cfg, err := cmd.load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "transferd proxy:", err)
		return 2
	}
	if !cfg.NATS.Enabled() {
		fmt.Fprintln(os.Stderr, "transferd proxy: nats.url (or --nats, or nats.embedded) is required")
		return 2
	}
	log := service.Logger(cfg.Log, service.InstanceID(cfg)) // natsproxy adds component and node itself
	srv, nc, err := service.ConnectNATS(cfg.NATS, "transferd-proxy-"+*node, log, nil)
	if err != nil {
		log.Error().Err(err).Msg("nats")
		return 1
	}
	defer func() {
		nc.Close()
		if srv != nil {
			srv.Shutdown()
		}
	}()
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: cfg.ARI.URL, Username: cfg.ARI.Username, Password: cfg.ARI.Password})
	if err != nil {
		log.Error().Err(err).Msg("ari")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info().Str("ari_url", cfg.ARI.URL).Str("app", cfg.ARI.App).Msg("proxy starting")
	err = natsproxy.Run(ctx, natsproxy.Options{NC: nc, App: cfg.ARI.App, Transport: tr, Node: *node, Logger: log})
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error().Err(err).Msg("proxy stopped")
		return 1
	}
	return 0
}
