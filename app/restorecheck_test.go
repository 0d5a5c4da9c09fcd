package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/transfer"
)

// checkingCall is talkingCall with a transfer to 2600 caught in Checking,
// as a restart finds it when the process stopped between the transfer's
// start and the availability answer.
func checkingCall(t *testing.T, rec *recorder) *Call {
	t.Helper()
	var held []time.Duration
	c := talkingCall(t, rec, &held)
	x, _ := transfer.Start(transfer.StartParams{ID: "c1-x1", CallBridge: string(c.bridge), Transferor: "c1", Transferee: "c1-b",
		Number: "2600", Opts: transfer.Options{CheckAvailability: true}})
	if x.State != transfer.Checking {
		t.Fatalf("started in %s, want Checking", x.State)
	}
	c.xfer, c.xferCount, c.xferStarted = &x, 1, time.Now()
	c.xferLog = c.log
	return c
}

// A restored transfer in Checking asks again and goes on: nothing else
// would ever move it (the answer it waited for died with the process).
func TestRestoredCheckingTransferGoesOn(t *testing.T) {
	rec := &recorder{}
	c := checkingCall(t, rec)
	defer c.stopTimers()
	c.resumeChecking(context.Background())
	if c.xfer == nil || c.xfer.State != transfer.CallingTarget {
		t.Fatalf("transfer %+v, want CallingTarget", c.xfer)
	}
	if !strings.Contains(strings.Join(rec.requests(), "\n"), "POST /channels/create") {
		t.Fatalf("no target leg created: %q", rec.requests())
	}
}

// One an attended REFER opened waited for the consultation call's
// hand-over, lost with the restart: it is cancelled, and no target is
// dialled (the consultation call still has its own far end).
func TestRestoredReferCheckingIsCancelled(t *testing.T) {
	rec := &recorder{}
	c := checkingCall(t, rec)
	defer c.stopTimers()
	c.referXfer = c.xfer.ID
	if s := c.snapshot(nil); s.ReferXfer != "c1-x1" {
		t.Fatalf("snapshot refer_xfer %q, want c1-x1", s.ReferXfer)
	}
	c.resumeChecking(context.Background())
	if c.xfer != nil {
		t.Fatalf("transfer still running: %+v", c.xfer)
	}
	if c.lastXfer == nil || c.lastXfer.Outcome != transfer.OutcomeCancelled {
		t.Fatalf("last transfer %+v, want cancelled", c.lastXfer)
	}
	if strings.Contains(strings.Join(rec.requests(), "\n"), "/channels/create") {
		t.Fatalf("a target was dialled: %q", rec.requests())
	}
}
