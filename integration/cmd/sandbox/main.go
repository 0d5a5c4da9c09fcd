// Command sandbox starts and stops the sandbox Asterisk that `make run` uses.
//
//	sandbox up   [-port 8088] [-run dev]   start it detached and print how to reach it
//	sandbox down [-run dev]                stop it
//	sandbox cli  [-run dev] <command>      run an Asterisk CLI command in it
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/transferd/transferd/integration"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	port := fs.Int("port", 8088, "ARI HTTP port on 127.0.0.1")
	run := fs.String("run", "dev", "run id: names the sandbox's directories")
	password := fs.String("password", "transferd", "ARI password")
	_ = fs.Parse(os.Args[2:])
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	root := integration.RootFromEnv()
	switch verb {
	case "up":
		_ = integration.StopByRunID(ctx, root, *run) // a previous `make run` may still be up
		s, err := integration.StartSandbox(ctx, integration.SandboxOptions{
			Root: root, RunID: *run, HTTPPort: *port, Password: *password, Detach: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(1)
		}
		fmt.Printf("Asterisk is up: ARI %s (user %s, password %s)\n", s.URL(), integration.ARIUser, s.Password)
		fmt.Printf("  CLI:  chroot %s /usr/sbin/asterisk -C %s/asterisk.conf -r\n", root, s.ConfDir)
		fmt.Printf("  log:  %s\n", s.LogPath())
		fmt.Printf("  stop: go run ./integration/cmd/sandbox down -run %s\n", *run)
	case "down":
		if err := integration.StopByRunID(ctx, root, *run); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(1)
		}
	case "cli":
		s := &integration.Sandbox{Root: root, RunID: *run, ConfDir: "/etc/transferd/" + *run}
		out, err := s.CLI(ctx, strings.Join(fs.Args(), " "))
		fmt.Print(out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sandbox up|down|cli [-run id] [-port n] [command]")
	os.Exit(2)
}
