package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSandboxRefusesTakenPort: a sandbox asked for a port that another
// program holds (here one that answers ARI's ping like an Asterisk would)
// fails at once with a message saying so, instead of reporting the other
// program's answer as its own Asterisk being up.
func TestSandboxRefusesTakenPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"asterisk_id":"00:00:00:00:00:01","ping":"pong","timestamp":"2026-11-30T12:00:00.000+0000"}`)
	})}
	go other.Serve(ln)
	defer other.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	s, err := StartSandbox(ctx, SandboxOptions{RunID: fmt.Sprintf("taken-%d", os.Getpid()), HTTPPort: port})
	if err == nil {
		s.Stop(ctx)
		t.Fatalf("the sandbox started on port %d held by another program", port)
	}
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", port)) || !strings.Contains(err.Error(), "ARI_PORT") {
		t.Fatalf("error does not say the port is taken and how to choose another: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %s", d)
	}
}

// TestReadyOnlyFromItsOwnAsterisk: when another program takes the port
// after the sandbox checked it was free (so the Asterisk could not bind
// it), the other program's answer to the ping does not count as the
// sandbox being up. Here the running test Asterisk is watched while a
// stand-in answers ARI's ping on another port.
func TestReadyOnlyFromItsOwnAsterisk(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ping":"pong"}`)
	})}
	go other.Serve(ln)
	defer other.Close()
	s := &Sandbox{Root: sandbox.Root, RunID: sandbox.RunID, ConfDir: sandbox.ConfDir, Password: sandbox.Password,
		HTTPPort: ln.Addr().(*net.TCPAddr).Port, cmd: sandbox.cmd, done: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.waitReady(ctx); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("waitReady with another program answering on the port: %v", err)
	}
}

// TestListensFindsTheOwner: the check that the sandbox's own Asterisk
// holds its port tells the owner from any other process.
func TestListensFindsTheOwner(t *testing.T) {
	mine, err := listens(sandbox.cmd.Process.Pid, sandbox.HTTPPort)
	if err != nil || !mine {
		t.Fatalf("the test Asterisk (pid %d) does not hold its port %d: %v %v", sandbox.cmd.Process.Pid, sandbox.HTTPPort, mine, err)
	}
	mine, err = listens(os.Getpid(), sandbox.HTTPPort)
	if err != nil || mine {
		t.Fatalf("the test binary is said to hold Asterisk's port: %v %v", mine, err)
	}
}
