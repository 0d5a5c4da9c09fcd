package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

// The sandbox Asterisk and the phones are shared by every test of the
// binary: Asterisk starts once, tests run in parallel, each with its own
// application name and id prefix (its tag).
var (
	sandbox *Sandbox
	phones  *Phones
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// `go test -short` is the only opt-out; `make test` never passes it.
		fmt.Println("integration: -short: skipping the real-Asterisk tests")
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	root := RootFromEnv()
	if err := EnsureRoot(root); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	var err error
	sandbox, err = StartSandbox(ctx, SandboxOptions{Root: root})
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: start asterisk:", err)
		return 1
	}
	defer sandbox.Stop(ctx)
	fmt.Printf("integration: Asterisk %s on %s (log %s)\n", sandbox.RunID, sandbox.URL(), sandbox.LogPath())

	client, err := newClient(PhonesApp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	phones = NewPhones(ctx, client)
	defer phones.Close()
	select {
	case <-client.Connected():
	case <-time.After(15 * time.Second):
		fmt.Fprintln(os.Stderr, "integration: the phones application never connected")
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := globalLeaks(ctx, client); err != nil {
			fmt.Fprintln(os.Stderr, "integration: leak check after all tests:", err)
			code = 1
		}
	}
	return code
}

func newClient(apps ...string) (*ari.Client, error) {
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: sandbox.URL(), Username: ARIUser, Password: ari.Secret(sandbox.Password)})
	if err != nil {
		return nil, err
	}
	return ari.New(ari.Options{Transport: tr, Apps: apps})
}

// globalLeaks checks that nothing at all is left on Asterisk: no channel
// (Announcer/ ones from bridge music included) and no bridge.
func globalLeaks(ctx context.Context, c *ari.Client) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		chans, err1 := c.Channels.List(ctx)
		bridges, err2 := c.Bridges.List(ctx)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("list: %v %v", err1, err2)
		}
		ann, err := announcerChannels(ctx)
		if err != nil {
			return err
		}
		globals, err := sandbox.CLI(ctx, "core show globals")
		if err != nil {
			return err
		}
		var vars []string
		for _, line := range strings.Split(globals, "\n") {
			if strings.Contains(line, "TRANSFERD_") {
				vars = append(vars, strings.TrimSpace(line))
			}
		}
		if len(chans) == 0 && len(bridges) == 0 && len(ann) == 0 && len(vars) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var names []string
			for _, ch := range chans {
				names = append(names, ch.Name+"("+string(ch.ID)+")")
			}
			var bs []string
			for _, b := range bridges {
				bs = append(bs, string(b.ID))
			}
			return fmt.Errorf("left behind: channels %s; bridges %s; announcers %s; global variables %s",
				strings.Join(names, " "), strings.Join(bs, " "), strings.Join(ann, " "), strings.Join(vars, " "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
