package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/transfer"
)

// FuzzDecode: Decode never panics; a refusal is always a 400 whose message
// starts with the field it names; an accepted request is valid by the
// rules (a dialable target for transfers, nothing but the action for the
// others) and reads back unchanged from its own encoding. The seed corpus
// is in testdata/fuzz/FuzzDecode; run with
//
//	go test -run=^$ -fuzz=FuzzDecode -fuzztime=30s ./app/httpapi/
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"data":{"action":"transfer","target":"2600","takeback_dtmf":"*1","moh":"default"}}`,
		`{"data":{"action":"blind_transfer","target":"+15550100","ringback":"tone:ring","no_answer_timeout":20}}`,
		`{"data":{"action":"cancel"}}`,
		`{"data":{"action":"transfer","target":"2600/evil"}}`,
		`{"data":{"action":"transfer","target":"2600","no_answer_timeout":"1m"}}`,
		`{"data":{"action":"cancel","action":"cancel"}}`,
		`{"data":null}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := Decode(body)
		if e != nil {
			if e.Status != 400 || e.Reason == "" || e.Field == "" || !strings.HasPrefix(e.Message, e.Field+": ") {
				t.Fatalf("bad refusal %+v", e)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("message not UTF-8: %q", e.Message)
			}
			if len(e.Message) > 400 {
				t.Fatalf("message of %d bytes grows with the input: %q", len(e.Message), e.Message)
			}
			return
		}
		known := false
		for _, a := range transfer.Actions {
			known = known || a == req.Action
		}
		if !known {
			t.Fatalf("accepted unknown action %q", req.Action)
		}
		if transfer.StartsTransfer(req.Action) {
			if !app.ValidNumber(req.Target) {
				t.Fatalf("accepted target %q", req.Target)
			}
		} else if req != (Request{Action: req.Action}) {
			t.Fatalf("%s carries options: %+v", req.Action, req)
		}
		if req.NoAnswerTimeout < 0 || req.NoAnswerTimeout > time.Hour {
			t.Fatalf("timeout %s", req.NoAnswerTimeout)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, e := Decode(b)
		if e != nil || again != req {
			t.Fatalf("round trip of %s: %+v %v, want %+v", b, again, e, req)
		}
	})
}

func TestDecodeTimeouts(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`20`: 20 * time.Second, `"20"`: 20 * time.Second, `"20s"`: 20 * time.Second,
		`"1m30s"`: 90 * time.Second, `3600`: time.Hour, `"1h"`: time.Hour, `"1500ms"`: 1500 * time.Millisecond,
	} {
		req, e := Decode([]byte(`{"data":{"action":"transfer","target":"1","no_answer_timeout":` + in + `}}`))
		if e != nil || req.NoAnswerTimeout != want {
			t.Errorf("%s: %v %v, want %v", in, req.NoAnswerTimeout, e, want)
		}
	}
	for _, in := range []string{`0`, `-1`, `3601`, `"0"`, `"-5s"`, `"61m"`, `1e3`, `"x"`, `[]`, `{}`, `false`} {
		if _, e := Decode([]byte(`{"data":{"action":"transfer","target":"1","no_answer_timeout":` + in + `}}`)); e == nil || e.Field != "data.no_answer_timeout" {
			t.Errorf("%s: accepted or wrong field: %+v", in, e)
		}
	}
}
