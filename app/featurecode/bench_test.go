package featurecode_test

import (
	"testing"

	"github.com/transferd/transferd/app/featurecode"
)

// BenchmarkLongSequence feeds *2 followed by 30 digits and # (the longest
// code of the default configuration that still needs the terminator).
func BenchmarkLongSequence(b *testing.B) {
	m := must(b, featurecode.Default())
	c := m.NewCollector()
	for b.Loop() {
		c.Feed("*")
		c.Feed("2")
		for range 30 {
			c.Feed("5")
		}
		if r := c.Feed("#"); r.Kind != featurecode.Matched {
			b.Fatal(r)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		must(b, featurecode.Default())
	}
}
