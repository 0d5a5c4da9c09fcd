package app

import (
	"testing"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// Which steps run their effects while their write-ahead is on its way.
func TestRederivable(t *testing.T) {
	legs := func(gone ...string) map[ari.ChannelID]*leg {
		m := map[ari.ChannelID]*leg{}
		for _, id := range []string{"alice", "bob", "carol"} {
			m[ari.ChannelID(id)] = &leg{id: ari.ChannelID(id)}
		}
		for _, id := range gone {
			m[ari.ChannelID(id)].gone = true
		}
		return m
	}
	complete := []transfer.Effect{
		transfer.Move{Channel: "bob", Bridge: "call"}, transfer.StopMOH{Bridge: "hold"},
		transfer.DestroyBridge{ID: "hold"}, transfer.Finish{Parties: []string{"bob", "carol"}},
	}
	for _, tc := range []struct {
		name    string
		ev      transfer.Event
		gone    []string
		effects []transfer.Effect
		want    bool
	}{
		{"the transferor hangs up: completed", transfer.Left{Channel: "alice"}, []string{"alice"}, complete, true},
		{"the same step before the leg is marked gone", transfer.Left{Channel: "alice"}, nil, complete, true},
		{"an API complete is not in Asterisk", transfer.Pressed{Command: transfer.CommandComplete}, nil, complete, false},
		{"a timer is not in Asterisk", transfer.TimerFired{Name: "noanswer"}, nil, complete, false},
		{"the start", nil, nil, complete, false},
		{"a step that hangs somebody up", transfer.Left{Channel: "bob"}, []string{"bob"},
			[]transfer.Effect{transfer.Hangup{Channel: "carol"}, transfer.Finish{Parties: []string{"alice"}}}, false},
		{"a Finish that lets a live leg go", transfer.Left{Channel: "bob"}, []string{"bob"},
			[]transfer.Effect{transfer.Finish{Parties: []string{"alice"}}}, false},
		{"a step that dials", transfer.Left{Channel: "alice"}, []string{"alice"},
			[]transfer.Effect{transfer.Dial{Channel: "x-recall-2"}}, false},
		{"the target hangs up: back to the transferee", transfer.Left{Channel: "carol"}, []string{"carol"},
			[]transfer.Effect{transfer.Move{Channel: "bob", Bridge: "call"}, transfer.DestroyBridge{ID: "hold"},
				transfer.Finish{Parties: []string{"alice", "bob"}}}, true},
	} {
		c := &Call{legs: legs(tc.gone...)}
		if got := c.rederivable(tc.ev, tc.effects); got != tc.want {
			t.Errorf("%s: rederivable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
