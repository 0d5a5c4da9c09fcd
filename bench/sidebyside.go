package main

import (
	"context"
	"fmt"
	"time"
)

// sbsResult is the side-by-side comparison.
type sbsResult struct {
	samples map[string][]sample // by path, successful runs
	errors  map[string][]error
}

// sideBySide runs the script n times on each path, alternating (and
// swapping which path goes first every round), one call at a time, with the
// observer watching. A first round on each path warms up and is discarded.
func sideBySide(ctx context.Context, e *env, o options) (*sbsResult, error) {
	obs, stop, err := e.observe(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	if o.trace {
		obs.trace = traceEvent
	}
	res := &sbsResult{samples: map[string][]sample{}, errors: map[string][]error{}}
	for i := 0; i <= o.n; i++ {
		order := []string{pathTransferd, pathNative}
		if i%2 == 1 {
			order = []string{pathNative, pathTransferd}
		}
		for _, path := range order {
			if o.trace {
				fmt.Printf("--- %s run %d\n", path, i)
			}
			s := &script{sim: e.sim, obs: obs, path: path, app: e.td.app, key: fmt.Sprintf("%c%04d", path[0], i),
				timing: o.timing, timeout: 60 * time.Second}
			smp := s.run(ctx)
			if i > 0 {
				if smp.err != nil {
					res.errors[path] = append(res.errors[path], smp.err)
				} else {
					res.samples[path] = append(res.samples[path], smp)
				}
			}
			if smp.err != nil {
				fmt.Printf("bench: side by side: %v\n", smp.err)
			}
			// The next run starts on an empty Asterisk.
			if chans, bridges, _, err := e.waitClean(ctx, 10*time.Second); err != nil || len(chans)+len(bridges) > 0 {
				fmt.Printf("bench: side by side: Asterisk not empty after %s run %d: %v %v %v\n", path, i, chans, bridges, err)
			}
		}
		if i > 0 && i%10 == 0 {
			fmt.Printf("bench: side by side: %d/%d rounds\n", i, o.n)
		}
	}
	return res, nil
}
