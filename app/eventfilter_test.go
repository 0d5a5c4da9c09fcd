package app

import (
	"testing"

	"github.com/transferd/transferd/ari"
)

// TestEventTypesKnown: every type the filter lets through is one the ari
// package decodes (a misspelt name would silently filter the type out).
func TestEventTypesKnown(t *testing.T) {
	for _, typ := range eventTypes {
		ev, err := ari.Decode([]byte(`{"type":"` + typ + `"}`))
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if _, unknown := ev.(*ari.Unknown); unknown {
			t.Errorf("%s: not an ARI event type the ari package knows", typ)
		}
	}
}
