package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is the load run.
type loadResult struct {
	path        string
	conc        int
	window      time.Duration // the measured window
	ok, errs    int           // scripts that ended inside the window
	totalOK     int           // over the whole run, ramp and drain included
	totalErrs   int
	firstErrs   []string
	outcomes    map[string]float64 // transferd's transfers by outcome, in the window
	holds       []time.Duration    // app-side deciding digit → transferee held, in the window
	cpu         map[string]time.Duration
	loadAvg     [2]string // the machine's load average when the window started and ended
	tcp         map[string]int
	peakCalls   float64
	ariLoad     []time.Duration
	leakChans   []string
	leakBridges []string
	leakAnn     []string
	profile     string
	ariSlow     []ariPath
	events      float64            // ARI events transferd received in the window
	eventTypes  map[string]float64 // ARI events transferd received in the window, by type
	offered     float64            // a step's rate asked for (transfers a second; 0: not a step)
	talk        time.Duration      // a step's mean talk time
}

// ariPath is one ARI request path of transferd over the window.
type ariPath struct {
	name     string // METHOD /path/{template}
	count    int
	p50, p99 time.Duration
	over100m int // requests slower than 100 ms
}

func pathStats(m map[string][]time.Duration) []ariPath {
	var out []ariPath
	for name, ds := range m {
		p := ariPath{name: name, count: len(ds), p50: p50(ds), p99: p99(ds)}
		for _, d := range ds {
			if d > 100*time.Millisecond {
				p.over100m++
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].p99 > out[j].p99 })
	return out
}

// loadRun keeps conc calls going, each making one transfer, for the
// window (after a ramp at o.rampPerSec calls a second and a few seconds
// to settle); every worker starts a new call as soon as its last one ended.
func loadRun(ctx context.Context, e *env, o options, path string, duration time.Duration) (*loadResult, error) {
	res := &loadResult{path: path, conc: o.conc, outcomes: map[string]float64{}}
	td := path == pathTransferd
	prefix := 'l'
	if !td {
		prefix = 'm'
	}
	var seq atomic.Int64
	type end struct {
		at  time.Time
		err error
	}
	var mu sync.Mutex
	var ends []end
	ramp := time.Duration(float64(o.conc) / float64(o.rampPerSec) * float64(time.Second))
	lt := o.loadTiming
	lt.dtmfBetween, lt.dtmfDuration = o.timing.dtmfBetween, o.timing.dtmfDuration
	// Measure once every worker has finished a first call: steady state.
	settle := lt.talk + lt.ring + lt.consult + lt.after + 2*time.Second
	start := time.Now()
	winStart := start.Add(ramp + settle)
	deadline := winStart.Add(duration)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < o.conc; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := sleep(ctx, time.Duration(i)*time.Second/time.Duration(o.rampPerSec)); err != nil {
				return
			}
			rnd := rand.New(rand.NewPCG(uint64(i), 5))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				tm := lt
				tm.talk = time.Duration(float64(lt.talk) * (0.5 + rnd.Float64()))
				s := &script{sim: e.sim, path: path, app: e.td.app, key: fmt.Sprintf("%c%06d", prefix, seq.Add(1)),
					timing: tm, timeout: 60 * time.Second, stop: stop}
				smp := s.run(ctx)
				if smp.aborted {
					return
				}
				mu.Lock()
				ends = append(ends, end{time.Now(), smp.err})
				mu.Unlock()
			}
		}(i)
	}
	fmt.Printf("bench: load (%s): %d calls (ramp %s, settle %s), measuring %s\n", path, o.conc, ramp.Round(time.Second), settle, duration)

	// The window.
	if err := sleep(ctx, time.Until(winStart)); err != nil {
		return nil, err
	}
	// transferd's figures are read on its debug and metrics listeners; a
	// failure there loses those figures, not the run.
	m0, err := e.td.metrics(ctx)
	if err != nil {
		res.firstErrs = append(res.firstErrs, "transferd metrics: "+err.Error())
	}
	_, _ = e.td.holds(ctx, true)
	_, _ = e.td.requests(ctx, true)
	_, _ = e.td.eventCounts(ctx, true)
	var peakCalls func() float64
	if td {
		peakCalls = func() float64 {
			m, err := e.td.metrics(ctx)
			if err != nil {
				return 0
			}
			return m["transferd_active_calls"]
		}
	} else {
		peakCalls = func() float64 {
			chans, err := e.cl.Channels.List(ctx)
			if err != nil {
				return 0
			}
			n := 0
			for _, c := range chans {
				if strings.HasSuffix(string(c.ID), "-a-in") {
					n++
				}
			}
			return float64(n)
		}
	}
	pids := map[string]int{"transferd": e.td.pid(), "asterisk": e.astPID, "bench": os.Getpid()}
	meter := newCPUMeter(pids)
	res.loadAvg[0] = loadAvg()
	sampler := e.sampleARI(ctx, 50*time.Millisecond)
	var profErr error
	profDone := make(chan struct{})
	if o.profile && td {
		res.profile = filepath.Join(e.dir, "transferd-load.cpu.pprof")
		go func() {
			defer close(profDone)
			d := duration - time.Second
			if d > 30*time.Second {
				d = 30 * time.Second
			}
			profErr = e.td.profile(ctx, "profile", d, res.profile)
		}()
	} else {
		close(profDone)
	}
	peakDone := make(chan struct{})
	go func() {
		defer close(peakDone)
		for time.Now().Before(deadline) {
			if n := peakCalls(); n > res.peakCalls {
				res.peakCalls = n
			}
			if sleep(ctx, time.Second) != nil {
				return
			}
		}
	}()
	if err := sleep(ctx, time.Until(deadline)); err != nil {
		return nil, err
	}
	cpu, wall := meter.read()
	res.loadAvg[1] = loadAvg()
	res.cpu = cpu
	res.window = wall
	res.tcp = tcpStates(e.sb.HTTPPort)
	res.ariLoad = sampler.finish()
	if res.holds, err = e.td.holds(ctx, true); err != nil {
		res.firstErrs = append(res.firstErrs, "transferd holds: "+err.Error())
	}
	m1, err := e.td.metrics(ctx)
	if err != nil {
		res.firstErrs = append(res.firstErrs, "transferd metrics: "+err.Error())
	}
	if reqs, err := e.td.requests(ctx, true); err == nil {
		res.ariSlow = pathStats(reqs)
	}
	if evs, err := e.td.eventCounts(ctx, true); err == nil {
		res.eventTypes = evs
	}
	res.events = m1["transferd_ari_events_received_total"] - m0["transferd_ari_events_received_total"]
	for k, v := range m1 {
		if strings.HasPrefix(k, "transferd_transfers_total{") {
			if d := v - m0[k]; d > 0 {
				res.outcomes[outcomeOf(k)] += d
			}
		}
	}
	<-peakDone
	<-profDone
	if profErr != nil {
		fmt.Printf("bench: load: profile: %v\n", profErr)
		res.profile = ""
	}
	fmt.Printf("bench: load (%s): window over, draining\n", path)
	// Calls still talking end without a transfer; transfers under way finish.
	close(stop)
	wg.Wait()
	for _, x := range ends {
		in := !x.at.Before(winStart) && !x.at.After(deadline)
		if x.err != nil {
			res.totalErrs++
			if in {
				res.errs++
			}
			if len(res.firstErrs) < 5 {
				res.firstErrs = append(res.firstErrs, x.err.Error())
			}
		} else {
			res.totalOK++
			if in {
				res.ok++
			}
		}
	}
	res.leakChans, res.leakBridges, res.leakAnn, err = e.waitClean(ctx, 30*time.Second)
	if err != nil {
		res.firstErrs = append(res.firstErrs, "leak check: "+err.Error())
	}
	if len(res.leakChans)+len(res.leakBridges)+len(res.leakAnn) > 0 || err != nil {
		fmt.Printf("bench: load (%s): clearing what was left on Asterisk\n", path)
		e.purge(ctx)
	}
	return res, nil
}

// outcomeOf extracts the outcome label of a transferd_transfers_total series.
func outcomeOf(series string) string {
	_, rest, ok := strings.Cut(series, `outcome="`)
	if !ok {
		return "?"
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
