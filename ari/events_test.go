package ari

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testAsteriskID = "02:42:ac:11:00:02"

func base(typ, ts string) EventBase {
	return EventBase{Type: typ, Application: "transferd", Timestamp: ts, AsteriskID: testAsteriskID}
}

var alice = Channel{
	ID:         "1763897738.12",
	Name:       "PJSIP/alice-00000005",
	State:      "Up",
	ProtocolID: "3c2a8f2e-b7a1-4c77-9a4f-3d3c0e1f6b0a",
	Caller:     CallerID{Name: "Alice", Number: "100"},
	Connected:  CallerID{Number: "201"},
	Dialplan: DialplanCEP{Context: "transferd", Exten: "201", Priority: 2, AppName: "Stasis",
		AppData: "transferd"},
	CreationTime: "2026-11-23T11:35:37.998+0000",
	Language:     "en",
}

var target = Channel{
	ID:           "xfer1-target",
	Name:         "Local/201@phones-00000002;1",
	State:        "Up",
	Caller:       CallerID{Number: "201"},
	Connected:    CallerID{Name: "Alice", Number: "100"},
	Dialplan:     DialplanCEP{Context: "phones", Exten: "201", Priority: 1},
	CreationTime: "2026-11-23T11:35:40.001+0000",
	Language:     "en",
}

func withChannel(c Channel, f func(*Channel)) Channel {
	f(&c)
	return c
}

// TestDecodeGolden decodes the hand-written testdata files (shaped after
// events.json and real Asterisk 22 output) and checks every field, plus
// the ids ChannelsOf and BridgesOf find.
func TestDecodeGolden(t *testing.T) {
	tests := []struct {
		file         string
		want         Event
		wantChannels []ChannelID
		wantBridges  []BridgeID
	}{
		{
			file: "StasisStart.json",
			want: &StasisStart{
				EventBase: base("StasisStart", "2026-11-23T11:35:38.123+0000"),
				Args:      []string{"transferee", "xfer1"},
				Channel: withChannel(alice, func(c *Channel) {
					c.AccountCode = "acct-7"
					c.Dialplan.AppData = "transferd,transferee,xfer1"
					c.ChannelVars = map[string]string{"TRANSFERD_ACCOUNT": "acct-7"}
				}),
			},
			wantChannels: []ChannelID{"1763897738.12"},
		},
		{
			file: "Dial.json",
			want: &Dial{
				EventBase:  base("Dial", "2026-11-23T11:35:41.502+0000"),
				Caller:     ptr(withChannel(alice, func(c *Channel) { c.ProtocolID = "" })),
				Peer:       target,
				Dialstring: "201@phones",
				Dialstatus: "ANSWER",
			},
			wantChannels: []ChannelID{"xfer1-target", "1763897738.12"},
		},
		{
			file: "ChannelDtmfReceived.json",
			want: &ChannelDtmfReceived{
				EventBase:  base("ChannelDtmfReceived", "2026-11-23T11:36:02.044+0000"),
				Digit:      "#",
				DurationMs: 120,
				Channel:    alice,
			},
			wantChannels: []ChannelID{"1763897738.12"},
		},
		{
			file: "ChannelHangupRequest.json",
			want: &ChannelHangupRequest{
				EventBase: base("ChannelHangupRequest", "2026-11-23T11:36:10.000+0000"),
				Cause:     16,
				Soft:      true,
				Channel:   target,
			},
			wantChannels: []ChannelID{"xfer1-target"},
		},
		{
			file: "ChannelVarset-global.json",
			want: &ChannelVarset{
				EventBase: base("ChannelVarset", "2026-11-23T11:36:11.5+0000"),
				Variable:  "TRANSFERD_EPOCH",
				Value:     "7",
			},
		},
		{
			file: "ChannelEnteredBridge.json",
			want: &ChannelEnteredBridge{
				EventBase: base("ChannelEnteredBridge", "2026-11-23T11:35:42.010+0000"),
				Bridge: Bridge{
					ID: "xfer1-hold", Technology: "holding_bridge", BridgeType: "holding", BridgeClass: "stasis",
					Creator: "Stasis", Channels: []ChannelID{"1763897738.12", "1763897738.14"},
					CreationTime: "2026-11-23T11:35:41.900+0000", VideoMode: "none",
				},
				Channel: &Channel{
					ID: "1763897738.14", Name: "PJSIP/bob-00000006", State: "Up",
					Caller:       CallerID{Name: "Bob", Number: "101"},
					Dialplan:     DialplanCEP{Context: "transferd", Exten: "s", Priority: 1, AppName: "Stasis", AppData: "transferd"},
					CreationTime: "2026-11-23T11:35:30.000+0000", Language: "en",
				},
			},
			wantChannels: []ChannelID{"1763897738.14", "1763897738.12"},
			wantBridges:  []BridgeID{"xfer1-hold"},
		},
		{
			file: "PlaybackFinished.json",
			want: &PlaybackFinished{
				EventBase: base("PlaybackFinished", "2026-11-23T11:35:45.000+0000"),
				Playback: Playback{ID: "xfer1-ringback", MediaURI: "tone:ring", TargetURI: "bridge:xfer1-hold",
					Language: "en", State: "done"},
			},
			wantBridges: []BridgeID{"xfer1-hold"},
		},
		{
			file: "unknown.json",
			want: &Unknown{
				EventBase: base("ChannelTeleported", "2031-01-01T00:00:00.000+0000"),
				Raw:       readTestdata(t, "unknown.json"),
			},
			wantChannels: []ChannelID{"1763897738.12"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Decode(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
			if diff := cmp.Diff(tt.wantChannels, ChannelsOf(got)); diff != "" {
				t.Errorf("ChannelsOf(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
			if diff := cmp.Diff(tt.wantBridges, BridgesOf(got)); diff != "" {
				t.Errorf("BridgesOf(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
			if _, err := ParseTime(got.GetTimestamp()); err != nil {
				t.Errorf("ParseTime(%q): %v", got.GetTimestamp(), err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, raw string
		want      string // substring of the error
	}{
		{"not JSON", `{"type":`, "ari: decode event"},
		{"not an object", `[1,2]`, "ari: decode event"},
		{"no type", `{"application":"transferd"}`, "missing type"},
		{"wrong field type", `{"type":"ChannelDestroyed","cause":"sixteen","channel":{"id":"x"}}`, "decode ChannelDestroyed event"},
	}
	for _, tt := range tests {
		ev, err := Decode([]byte(tt.raw))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %v, %v; want error containing %q", tt.name, ev, err, tt.want)
		}
	}
}

// TestDecodeEveryType decodes a minimal message of every known type and
// checks the concrete type's name is the ARI type name.
func TestDecodeEveryType(t *testing.T) {
	for _, typ := range sortedKeys(eventTypes) {
		ev, err := Decode([]byte(`{"type":"` + typ + `","application":"a"}`))
		if err != nil {
			t.Errorf("Decode(%s): %v", typ, err)
			continue
		}
		if got := typeName(ev); got != typ {
			t.Errorf("Decode(%s) returned %s", typ, got)
		}
		if ev.GetType() != typ || ev.GetApplication() != "a" {
			t.Errorf("Decode(%s): GetType() = %q, GetApplication() = %q", typ, ev.GetType(), ev.GetApplication())
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-23T11:35:38.123+0000", time.Date(2026, 11, 23, 11, 35, 38, 123e6, time.UTC)},
		{"2026-11-23T12:35:38.123+0100", time.Date(2026, 11, 23, 11, 35, 38, 123e6, time.UTC)},
		{"2026-11-23T11:35:38+0000", time.Date(2026, 11, 23, 11, 35, 38, 0, time.UTC)},
		{"2026-11-23T11:35:38.5Z", time.Date(2026, 11, 23, 11, 35, 38, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error(`ParseTime("yesterday") = nil error, want an error`)
	}
}

// FuzzDecode: Decode never panics, and what it accepts is a usable Event.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for typ := range eventTypes {
		f.Add([]byte(`{"type":"` + typ + `"}`))
	}
	f.Add([]byte(`{"type":"Dial","peer":null,"caller":{"id":7}}`))
	f.Add([]byte(`{"type":"Unknown","channel":"x","bridge":[]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"type":"Dial","type":"StasisEnd"}`))
	f.Add([]byte(` { "type" : "Dial" , "dialstatus":"ANSWER"}`))
	f.Add([]byte(`{"type":"Di\u0061l"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := Decode(raw)
		// The one-pass path gives what the general one does.
		slow, slowErr := decodeTwice(raw)
		if (err == nil) != (slowErr == nil) || !reflect.DeepEqual(ev, slow) {
			t.Fatalf("Decode(%q) = %#v, %v; the general path gives %#v, %v", raw, ev, err, slow, slowErr)
		}
		if err != nil {
			if ev != nil {
				t.Fatalf("Decode returned %T and error %v", ev, err)
			}
			return
		}
		if ev == nil || ev.GetType() == "" {
			t.Fatalf("Decode(%q) = %#v with no error", raw, ev)
		}
		ChannelsOf(ev)
		BridgesOf(ev)
		// What decoded must encode again (no NaN, no cycles, …).
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("re-encode %T: %v", ev, err)
		}
	})
}

// TestChannelsOfIsComplete fills every Channel and Bridge field of every
// event type (found by reflection) with distinct ids and checks ChannelsOf
// and BridgesOf report them all: a field added to an event cannot be
// forgotten by the dispatcher.
func TestChannelsOfIsComplete(t *testing.T) {
	for _, typ := range sortedKeys(eventTypes) {
		ev := eventTypes[typ]()
		var f filler
		f.fill(reflectValue(ev))
		if len(f.channels)+len(f.bridges) == 0 {
			continue // e.g. ApplicationReplaced, DeviceStateChanged
		}
		if diff := cmp.Diff(sorted(f.channels), sorted(ChannelsOf(ev))); diff != "" {
			t.Errorf("ChannelsOf(*%s) mismatch (-want +got):\n%s", typ, diff)
		}
		if diff := cmp.Diff(sorted(f.bridges), sorted(BridgesOf(ev))); diff != "" {
			t.Errorf("BridgesOf(*%s) mismatch (-want +got):\n%s", typ, diff)
		}
	}
}

func sorted[T ~string](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s) == 0 {
		return nil
	}
	return s
}

// BenchmarkDecode compares the one-pass path with the general one on a
// StasisStart as Asterisk writes it.
func BenchmarkDecode(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "StasisStart.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("one-pass", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twice", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeTwice(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
