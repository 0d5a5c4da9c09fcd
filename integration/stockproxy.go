package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// StockProxyCommand is the command that runs the stock CyCoreSystems
// ari-proxy server at bin in front of sb's ARI, serving app on the NATS
// server at natsURL, with home as its HOME (so no ~/.ari-proxy.yaml of the
// machine's user is read). verbose adds -v (its debug log). The caller
// sets its output and starts it; it is killed if the caller dies.
//
// What the stock server needs, learned running it: --messagebus.url (its
// --nats.url is ignored while --messagebus.url has its default), and no
// NATS_SERVICE_* variables (NATS_SERVICE_HOST overrides the bus URL).
func StockProxyCommand(bin, app string, sb *Sandbox, natsURL, home string, verbose bool) *exec.Cmd {
	var args []string
	if verbose {
		args = append(args, "-v")
	}
	args = append(args,
		"--ari.application", app,
		"--ari.username", ARIUser,
		"--ari.password", sb.Password,
		"--ari.http_url", sb.URL(),
		"--ari.websocket_url", fmt.Sprintf("ws://127.0.0.1:%d/ari/events", sb.HTTPPort),
		"--messagebus.url", natsURL)
	cmd := exec.Command(bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATS_SERVICE_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
