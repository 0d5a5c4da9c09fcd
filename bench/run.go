package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	when    time.Time
	machine machine
	sbs     *sbsResult
	ariIdle []time.Duration
	// ariNATS: the same requests direct, through natsproxy and through a
	// stock ari-proxy, alternating; the NATS overhead is the difference.
	ariNATS  *natsPaired
	maxima   *maxResult // the load steps and the highest rates sustained
	load     *loadResult
	nload    *loadResult // the same load through native atxfer
	idle     *idleResult
	warnings []string
	elapsed  time.Duration
}

type machine struct {
	cpus     int
	model    string
	kernel   string
	goVer    string
	asterisk string
	loadAvg  string
}

func runAll(ctx context.Context, e *env, o options) (*results, error) {
	res := &results{when: time.Now(), machine: describeMachine(ctx, e)}
	if err := e.startProbe(ctx); err != nil {
		return nil, fmt.Errorf("probe channel: %w", err)
	}
	defer e.stopProbe(ctx)
	if o.want("ari") {
		fmt.Printf("bench: ARI: %d GET /channels/{id}\n", o.ariN)
		_, _ = e.ariLatency(ctx, 50) // warm the connection
		ds, err := e.ariLatency(ctx, o.ariN)
		if err != nil {
			res.warn("ARI latency failed: %v", err)
		}
		res.ariIdle = ds
		through := "natsproxy"
		if o.stockProxy != "" {
			through += " and the stock ari-proxy"
		}
		fmt.Printf("bench: ARI over NATS: %d GET /channels/{id} through %s, alternating with direct ones\n", o.ariN, through)
		np, err := e.natsOverhead(ctx, o.ariN, o.stockProxy)
		if err != nil {
			res.warn("ARI latency over NATS failed: %v", err)
		}
		if np.stockErr != nil {
			res.warn("ARI latency through the stock ari-proxy not measured: %v", np.stockErr)
		}
		res.ariNATS = np
	}
	if o.want("load") {
		r, err := loadRun(ctx, e, o, pathTransferd, o.duration)
		if err != nil {
			res.warn("load run (transferd) failed: %v", err)
		}
		res.load = r
	}
	if o.want("nload") && o.nativeDuration > 0 {
		r, err := loadRun(ctx, e, o, pathNative, o.nativeDuration)
		if err != nil {
			res.warn("load run (native) failed: %v", err)
		}
		res.nload = r
	}
	if o.want("steps") || o.want("max") {
		fixed, err := parseRates(o.steps)
		if err != nil {
			return nil, err
		}
		if !o.want("steps") {
			fixed = nil
		}
		search := o.want("max") && o.maxFrom > 0
		if len(fixed) > 0 || search {
			m, err := runSteps(ctx, e, o, fixed, search)
			if err != nil {
				res.warn("load steps failed: %v", err)
			}
			res.maxima = m
		}
	}
	if o.want("idle") {
		r, err := idleHeap(ctx, e, o, o.idle, o.idleRamp)
		if err != nil {
			res.warn("idle run failed: %v", err)
		}
		res.idle = r
	}
	if o.want("sbs") {
		fmt.Printf("bench: side by side: %d runs per path, alternating\n", o.n)
		r, err := sideBySide(ctx, e, o)
		if err != nil {
			res.warn("side by side failed: %v", err)
		}
		res.sbs = r
	}
	return res, nil
}

func (r *results) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Println("bench:", msg)
	r.warnings = append(r.warnings, "Warning: "+msg)
}

func describeMachine(ctx context.Context, e *env) machine {
	m := machine{cpus: runtime.NumCPU(), goVer: runtime.Version()}
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(strings.TrimSpace(string(out)), &m.cpus)
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.loadAvg = strings.Join(f[:3], " ")
		}
	}
	if out, err := e.sb.CLI(ctx, "core show version"); err == nil {
		m.asterisk = strings.TrimSpace(strings.SplitN(out, " built ", 2)[0])
	}
	return m
}

// parseRates reads a comma list of rates ("14,20").
func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-steps: %q is not a rate (transfers a second)", f)
		}
		out = append(out, r)
	}
	return out, nil
}
