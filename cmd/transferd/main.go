// Command transferd is the attended-transfer Stasis application for
// Asterisk. It reads a YAML configuration, connects to ARI, registers the
// Stasis application and serves its HTTP API.
//
// SIGTERM drains (no new calls; live calls carry on to their end, then the
// process exits; after drain_timeout it exits anyway, handing the calls to
// the other instances behind NATS, or leaving them bridged in Asterisk for
// the next start); SIGINT stops at once, leaving calls in Stasis for the
// next start to find again.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/service"
)

const usage = `transferd — in-call attended transfer for Asterisk (ARI Stasis application)

Usage:
  transferd [flags]              run the Stasis application
  transferd proxy [flags]        serve one Asterisk's ARI on NATS (transferd proxy --help)
  transferd --version            print the version and the commit it was built from

Route calls to it with one dialplan line (see dialplan/extensions_transferd.conf):
  Stasis(transferd,<account>,<destination>[,<callback>])

Configuration: defaults, then --config FILE (YAML, unknown keys are errors),
then environment (TRANSFERD_ARI_URL, TRANSFERD_ARI_USERNAME,
TRANSFERD_ARI_PASSWORD, TRANSFERD_ARI_APP, TRANSFERD_HTTP_LISTEN,
TRANSFERD_LOG_LEVEL, TRANSFERD_LOG_FORMAT), then these flags:

`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		os.Exit(runProxy(os.Args[2:]))
	}
	os.Exit(run())
}

func run() int {
	cmd := newCommand("transferd", usage, "configuration file (YAML); env TRANSFERD_CONFIG")
	cmd.set("ari-url", "ari.url", "ARI base URL, e.g. http://127.0.0.1:8088/ari", func(c *app.Config) *string { return &c.ARI.URL })
	cmd.set("ari-username", "ari.username", "ARI user (ari.conf)", func(c *app.Config) *string { return &c.ARI.Username })
	cmd.set("app", "ari.app", "Stasis application name", func(c *app.Config) *string { return &c.ARI.App })
	cmd.set("listen", "http.listen", "HTTP API listen address host:port (\"\" keeps the config's)", func(c *app.Config) *string { return &c.HTTP.Listen })
	cmd.set("log-level", "log.level", "debug, info, warn or error", func(c *app.Config) *string { return &c.Log.Level })
	cmd.set("log-format", "log.format", "json or console", func(c *app.Config) *string { return &c.Log.Format })
	cmd.set("nats", "nats.url", "talk ARI through NATS at this URL (ari-proxy protocol) and share calls with other instances; env TRANSFERD_NATS_URL", func(c *app.Config) *string { return &c.NATS.URL })
	cmd.set("instance", "nats.instance", "this instance's id in call leases (default host-pid); env TRANSFERD_INSTANCE", func(c *app.Config) *string { return &c.NATS.Instance })
	fs := cmd.fs
	natsEmbedded := fs.Bool("nats-embedded", false, "start an embedded nats-server with JetStream on nats.listen and use it")
	printConfig := fs.Bool("print-config", false, "print the effective configuration (secrets redacted) and exit")
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and the commit it was built from, and exit")
	if code, done := cmd.parse(os.Args[1:]); done {
		return code
	}
	if *showVersion {
		fmt.Println(version())
		return 0
	}

	// Problems of the file's keys and values are reported together with
	// the checks below; a file that cannot be read or is not YAML stops
	// here.
	cfg, err := cmd.load()
	var fileProblems *app.FileProblems
	if err != nil && !errors.As(err, &fileProblems) {
		fmt.Fprintln(os.Stderr, "transferd:", err)
		return 2
	}
	if *natsEmbedded {
		cfg.NATS.Embedded = true
	}
	if err = errors.Join(err, cfg.Validate()); err == nil {
		_, err = httpapi.ConfigTokens(cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "transferd: invalid configuration:\n%v\n", err)
		return 2
	}
	if *printConfig {
		out, _ := yaml.Marshal(redacted(cfg))
		os.Stdout.Write(out)
		return 0
	}
	if *check {
		fmt.Println("configuration is valid")
		return 0
	}

	log := service.Logger(cfg.Log, service.InstanceID(cfg))
	ctx := context.Background()
	svc, err := service.New(ctx, cfg, service.Options{Log: log})
	if err != nil {
		log.Error().Err(err).Msg("transferd could not start")
		return 1
	}
	if err := svc.RunWithSignals(ctx); err != nil {
		log.Error().Err(err).Msg("transferd stopped")
		return 1
	}
	log.Info().Msg("transferd stopped")
	return 0
}

// redacted hides secrets in --print-config output.
func redacted(c app.Config) app.Config {
	if c.ARI.Password != "" {
		c.ARI.Password = "***"
	}
	accts := map[string]app.AccountConfig{}
	for name, a := range c.Accounts {
		toks := make([]ari.Secret, len(a.Tokens))
		for i := range toks {
			toks[i] = "***"
		}
		a.Tokens = toks
		accts[name] = a
	}
	c.Accounts = accts
	return c
}
