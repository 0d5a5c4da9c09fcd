package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// entityIDSlow is EntityID without its shortcut: the whole entity decoded.
func entityIDSlow(entity string, raw []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v.ID
}

// EntityID's shortcut for a leading "id" gives what decoding the whole
// entity gives, and leaves everything else to the decoder.
func TestEntityIDLeadingID(t *testing.T) {
	for _, c := range []struct {
		raw      string
		want     string
		shortcut bool
	}{
		{`{"id":"1764.12","name":"PJSIP/alice-00000005","state":"Up"}`, "1764.12", true},
		{` { "id" : "b-1" } `, "b-1", true},
		{"{\n  \"id\": \"b-1\",\n  \"technology\": \"simple_bridge\"\n}", "b-1", true},
		{`{"id":"","name":"x"}`, "", true},
		{`{"id":"é-ü"}`, "é-ü", true},
		{`{"name":"x","id":"late"}`, "late", false},        // not first: decoded
		{`{"id":"a\"b","name":"x"}`, `a"b`, false},         // escape: decoded
		{`{"id":"a\u0041"}`, "aA", false},                  // escape: decoded
		{`{"id":7}`, "", false},                            // not a string: decoded (an error, so "")
		{`{"id":"x"`, "", false},                           // truncated
		{`{"id":"x" "y"}`, "", false},                      // malformed
		{"{\"id\":\"\xff\"}", "\ufffd", false},             // invalid UTF-8: decoded as json does
		{`{"ID":"upper"}`, "upper", false},                 // json matches keys case-insensitively
		{`[{"id":"x"}]`, "", false},                        // not an object
		{`{"id":"tab	in"}`, "", false},                     // a raw control character is invalid JSON
		{`{"identity":"x","id":"y"}`, "y", false},          // a longer key
		{`{"id":"x","channel":{"id":"inner"}}`, "x", true}, // nested ids do not matter
	} {
		id, ok := leadingID([]byte(c.raw))
		if ok != c.shortcut || (ok && id != c.want) {
			t.Errorf("leadingID(%s) = %q, %v; want %q, %v", c.raw, id, ok, c.want, c.shortcut)
		}
		for _, kind := range []string{KindChannel, KindBridge, KindPlayback} {
			if got := EntityID(kind, json.RawMessage(c.raw)); got != c.want {
				t.Errorf("EntityID(%s, %s) = %q, want %q", kind, c.raw, got, c.want)
			}
		}
	}
	// Kinds named by something else never take the shortcut.
	if got := EntityID(KindApplication, json.RawMessage(`{"id":"no","name":"app"}`)); got != "app" {
		t.Errorf("application: %q", got)
	}
}

// The shortcut agrees with the decoder on any valid object with one "id".
func FuzzEntityIDLeadingID(f *testing.F) {
	for _, s := range []string{`{"id":"1764.12","name":"x"}`, `{ "id" : "b" }`, `{"id":"a\"b"}`, `{"name":"x","id":"y"}`, `{"id":7}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, ok := leadingID(raw)
		if !ok || !json.Valid(raw) || bytes.Count(bytes.ToLower(raw), []byte(`"id"`)) > 1 {
			return
		}
		if want := entityIDSlow(KindChannel, raw); id != want {
			t.Fatalf("leadingID(%q) = %q, decoding gives %q", raw, id, want)
		}
	})
}

// BenchmarkEntityID: a channel as Asterisk answers GET /channels/{id},
// through EntityID and through the decoder it replaces.
func BenchmarkEntityID(b *testing.B) {
	raw := json.RawMessage(`{"id":"probe-1","name":"Local/probe@transferd-native-caller-00000000;1","state":"Down","protocol_id":"","caller":{"name":"","number":""},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"transferd-native-caller","exten":"probe","priority":1,"app_name":"","app_data":""},"creationtime":"2026-11-30T17:32:16.123+0000","language":"en","tenantid":""}`)
	b.Run("EntityID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = EntityID(KindChannel, raw)
		}
	})
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = entityIDSlow(KindChannel, raw)
		}
	})
}
