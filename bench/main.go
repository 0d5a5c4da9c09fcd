// Command bench is transferd's benchmark (`make bench`, `make bench-quick`):
// a load generator of simulated phones against a sandbox Asterisk 22 it
// starts itself, with transferd running as a child process.
//
// It measures, in one run:
//   - one ARI request (GET /channels/{id}) measured directly, and through
//     NATS (natstransport → natsproxy, and → a stock ari-proxy when one is
//     given: -stock-ari-proxy or $STOCK_ARI_PROXY);
//   - load: C concurrent calls each making one transfer, for a fixed time,
//     through transferd and then through native atxfer;
//   - transferd's heap per idle call;
//   - side by side: the same attended-transfer script through transferd and
//     through Asterisk's native atxfer, alternating, with per-phase latency;
//   - load steps at fixed rates through both paths, then raising the rate
//     until each path fails, for the highest rate each sustains (steps.go);
//
// prints one table with the targets of issue 15 beside the figures, and
// appends it to BENCHMARKS.md. See BENCHMARKS.md for how to read it.
//
// `bench serve-transferd` is the transferd child process (serve.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transferd/transferd/ari"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-transferd" {
		os.Exit(serveTransferd(os.Args[2:]))
	}
	os.Exit(benchMain(os.Args[1:]))
}

type options struct {
	quick          bool
	n              int
	conc           int
	duration       time.Duration
	idle           int
	ariN           int
	stockProxy     string // a stock ari-proxy binary, or ""
	timing         timing
	out            string
	dir            string
	only           string
	profile        bool
	trace          bool
	command        string
	target         string
	rampPerSec     int
	tdPool         int
	tdLog          string
	nativeDuration time.Duration
	loadTiming     timing
	idleRamp       int
	steps          string        // rates of the fixed load steps, comma list
	stepWindow     time.Duration // each fixed step's measured window
	maxFrom        float64       // the max search's first rate
	maxStep        float64
	maxTo          float64
}

func benchMain(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.BoolVar(&o.quick, "quick", false, "smoke run (about a minute): fewer runs, calls and seconds")
	fs.IntVar(&o.n, "n", 30, "side-by-side runs per path")
	fs.IntVar(&o.conc, "c", 200, "concurrent calls of the load run")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "length of the load run's measured window")
	fs.DurationVar(&o.nativeDuration, "native-duration", 30*time.Second, "length of the same load run through native atxfer, for Asterisk's CPU per transfer on each path (0: skip)")
	fs.IntVar(&o.idle, "idle", 1000, "idle calls held for the heap-per-call figure")
	fs.IntVar(&o.ariN, "ari-n", 2000, "GET /channels/{id} requests for the direct ARI latency")
	fs.StringVar(&o.stockProxy, "stock-ari-proxy", os.Getenv("STOCK_ARI_PROXY"), "a stock CyCoreSystems ari-proxy server binary: ARI over NATS is measured through it too (default $STOCK_ARI_PROXY; \"\" for none)")
	fs.IntVar(&o.rampPerSec, "ramp", 20, "calls started per second while ramping up the load run")
	fs.IntVar(&o.idleRamp, "idle-ramp", 100, "calls started per second while setting up the idle calls")
	fs.DurationVar(&o.timing.talk, "talk", 300*time.Millisecond, "Alice and Bob talk before the code")
	fs.DurationVar(&o.timing.ring, "ring", 500*time.Millisecond, "Carol's phone rings this long before she answers")
	fs.DurationVar(&o.timing.consult, "consult", 300*time.Millisecond, "Alice talks to Carol before hanging up")
	fs.DurationVar(&o.timing.after, "after", 300*time.Millisecond, "Bob and Carol talk before Bob hangs up")
	fs.IntVar(&o.timing.dtmfBetween, "dtmf-between", 60, "ms between Alice's digits")
	fs.IntVar(&o.timing.dtmfDuration, "dtmf-duration", 80, "ms each of Alice's digits lasts")
	fs.DurationVar(&o.loadTiming.talk, "load-talk", 20*time.Second, "load run: mean talk before the code (each call draws from 0.5× to 1.5×, so the calls do not move in step)")
	fs.DurationVar(&o.loadTiming.ring, "load-ring", time.Second, "load run: Carol rings this long")
	fs.DurationVar(&o.loadTiming.consult, "load-consult", time.Second, "load run: Alice talks to Carol this long")
	fs.DurationVar(&o.loadTiming.after, "load-after", time.Second, "load run: Bob and Carol talk this long")
	fs.IntVar(&o.tdPool, "td-pool", 0, "if > 0: give transferd an HTTP client with at most this many connections to ARI, kept alive (0: as cmd/transferd ships)")
	fs.StringVar(&o.tdLog, "td-log", "info", "transferd's log level (info as shipped; debug logs every ARI event and request)")
	fs.StringVar(&o.steps, "steps", "14,20", "load steps at these rates (transfers a second, comma list; \"\" for none), each through transferd and native atxfer")
	fs.DurationVar(&o.stepWindow, "step-window", 20*time.Second, "measured window of each load step")
	fs.Float64Var(&o.maxFrom, "max-from", 14, "without -steps, the search for the highest rate each path sustains starts here (0: no search)")
	fs.Float64Var(&o.maxStep, "max-step", 6, "after the steps, the search raises the rate by this much until each path fails")
	fs.Float64Var(&o.maxTo, "max-to", 80, "but not beyond this rate")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "append the results here (\"\" to skip)")
	fs.StringVar(&o.dir, "dir", "", "directory for logs and profiles (default bin/bench-out/<time>)")
	fs.StringVar(&o.target, "target", "", "the make target that ran this (for the report)")
	fs.StringVar(&o.only, "only", "", "run only some parts: comma list of sbs,ari,load,nload,steps,max,idle")
	fs.BoolVar(&o.profile, "profile", true, "take a CPU and a heap profile of transferd during the load and idle runs")
	fs.BoolVar(&o.trace, "trace", false, "print every observed event of the side-by-side runs (debugging)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("n", func() { o.n = 4 })
		def("c", func() { o.conc = 40 })
		def("duration", func() { o.duration = 15 * time.Second })
		def("load-talk", func() { o.loadTiming.talk = 3 * time.Second })
		def("native-duration", func() { o.nativeDuration = 0 })
		def("idle", func() { o.idle = 200 })
		def("ari-n", func() { o.ariN = 300 })
		def("steps", func() { o.steps = "" })
		def("max-from", func() { o.maxFrom = 0 })
	}
	o.command = strings.TrimSpace("bin/bench " + strings.Join(args, " "))
	if o.dir == "" {
		o.dir = filepath.Join("bin", "bench-out", time.Now().Format("20060102-150405"))
	}
	ctx := context.Background()
	start := time.Now()
	fmt.Printf("bench: starting Asterisk and transferd (logs in %s)\n", o.dir)
	e, err := setup(ctx, o.dir, o.tdPool, o.tdLog)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer e.close()
	res, err := runAll(ctx, e, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	res.elapsed = time.Since(start)
	report := res.render(o)
	fmt.Print(report)
	if o.out != "" {
		if err := appendReport(o.out, report); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Printf("bench: appended to %s\n", o.out)
	}
	return 0
}

func (o options) want(part string) bool {
	if o.only == "" {
		return true
	}
	for _, p := range strings.Split(o.only, ",") {
		if strings.TrimSpace(p) == part {
			return true
		}
	}
	return false
}

// traceEvent prints one observed event (the -trace flag).
func traceEvent(s stamped) {
	ev := s.ev
	var parts []string
	for _, id := range ari.ChannelsOf(ev) {
		parts = append(parts, string(id))
	}
	extra := ""
	switch e := ev.(type) {
	case *ari.ChannelEnteredBridge:
		extra = fmt.Sprintf("bridge=%s(%s)", e.Bridge.ID, e.Bridge.BridgeType)
	case *ari.ChannelLeftBridge:
		extra = fmt.Sprintf("bridge=%s(%s)", e.Bridge.ID, e.Bridge.BridgeType)
	case *ari.ChannelStateChange:
		extra = e.Channel.State + " " + e.Channel.Name
	case *ari.ChannelCreated:
		extra = e.Channel.Name
	case *ari.ChannelDtmfReceived:
		extra = e.Digit
	case *ari.PlaybackStarted:
		extra = e.Playback.TargetURI + " " + e.Playback.MediaURI
	case *ari.PlaybackFinished:
		extra = e.Playback.TargetURI + " " + e.Playback.MediaURI
	case *ari.BridgeMerged:
		extra = fmt.Sprintf("%s <- %s", e.Bridge.ID, e.BridgeFrom.ID)
	case *ari.ChannelVarset:
		extra = e.Variable
	}
	fmt.Printf("  %s local=%s %-24s %s %s\n", ev.GetTimestamp(), s.at.Format("15:04:05.000000"), ev.GetType(), strings.Join(parts, ","), extra)
}
