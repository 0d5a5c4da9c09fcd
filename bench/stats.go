package main

import (
	"math"
	"sort"
	"time"
)

// quantile is the nearest-rank q-quantile of ds (0 when empty). With n
// samples, p99 is the largest value below the top 1% (the maximum when
// n < 100).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}

func p50(ds []time.Duration) time.Duration { return quantile(ds, 0.50) }
func p99(ds []time.Duration) time.Duration { return quantile(ds, 0.99) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
