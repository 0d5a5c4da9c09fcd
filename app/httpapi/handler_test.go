package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/transfer"
)

const callPath = "/v2/accounts/acme/channels/alice-in"

// TestAuthMatrix: every account route, with no token, a bad token, another
// account's token, a token for an account that does not exist, and the
// right token in each accepted form.
func TestAuthMatrix(t *testing.T) {
	e := newEnv(t, nil)
	e.backend.add(talkingCall("acme", "alice-in"))
	e.backend.add(talkingCall("other", "olga-in"))
	routes := []struct {
		method, path, body string
		ok                 int
	}{
		{"GET", "/v2/accounts/acme/channels", "", 200},
		{"GET", callPath, "", 200},
		{"POST", callPath, `{"data":{"action":"cancel"}}`, 200},
		{"GET", "/v2/accounts/acme/events", "", 200},
	}
	cases := []struct {
		name    string
		header  map[string]string
		account string
		status  int
		reason  string
		msg     string
	}{
		{"no token", nil, "acme", 401, ReasonUnauthorized, "missing auth token"},
		{"empty X-Auth-Token", map[string]string{"X-Auth-Token": " "}, "acme", 401, ReasonUnauthorized, "missing auth token"},
		{"bad token", map[string]string{"X-Auth-Token": unknownTok}, "acme", 401, ReasonUnauthorized, "invalid auth token"},
		{"bad bearer", map[string]string{"Authorization": "Bearer " + unknownTok}, "acme", 401, ReasonUnauthorized, "invalid auth token"},
		{"hash of the token as the token", map[string]string{"X-Auth-Token": HashToken(acmeToken)}, "acme", 401, ReasonUnauthorized, "invalid auth token"},
		{"basic scheme", map[string]string{"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "acme", 401, ReasonUnauthorized, "unsupported Authorization scheme"},
		{"two different tokens", map[string]string{"X-Auth-Token": acmeToken, "Authorization": "Bearer " + acmePlain}, "acme", 401, ReasonUnauthorized, "different tokens"},
		{"other account's token", map[string]string{"X-Auth-Token": otherToken}, "acme", 404, ReasonNotFound, `account "acme" not found`},
		{"token on an account that does not exist", map[string]string{"X-Auth-Token": acmeToken}, "nope", 404, ReasonNotFound, `account "nope" not found`},
		{"bad token on an account that does not exist", map[string]string{"X-Auth-Token": unknownTok}, "nope", 401, ReasonUnauthorized, "invalid auth token"},
		{"X-Auth-Token (hashed in config)", map[string]string{"X-Auth-Token": acmeToken}, "acme", 0, "", ""},
		{"X-Auth-Token (plain in config)", map[string]string{"X-Auth-Token": acmePlain}, "acme", 0, "", ""},
		{"Bearer", map[string]string{"Authorization": "Bearer " + acmeToken}, "acme", 0, "", ""},
		{"bearer, lower case", map[string]string{"Authorization": "bearer " + acmePlain}, "acme", 0, "", ""},
		{"both headers, same token", map[string]string{"X-Auth-Token": acmeToken, "Authorization": "Bearer " + acmeToken}, "acme", 0, "", ""},
	}
	for _, rt := range routes {
		for _, tc := range cases {
			t.Run(rt.method+" "+rt.path+"/"+tc.name, func(t *testing.T) {
				h := map[string]string{"Content-Type": "application/json"}
				for k, v := range tc.header {
					h[k] = v
				}
				path := strings.Replace(rt.path, "/acme/", "/"+tc.account+"/", 1)
				if rt.method == "GET" && strings.HasSuffix(path, "/events") && tc.status == 0 {
					// A stream: check its head only.
					res := e.stream(t, path, h)
					if res.StatusCode != 200 {
						t.Fatalf("status %d", res.StatusCode)
					}
					return
				}
				r := e.do(req{method: rt.method, path: path, body: rt.body, header: h})
				if tc.status == 0 {
					if r.status != rt.ok || r.env.Status != "success" {
						t.Fatalf("status %d, want %d: %s", r.status, rt.ok, r.body)
					}
					return
				}
				wantError(t, r, tc.status, tc.reason, "", tc.msg)
				if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
}

// stream opens an event stream and returns its response once the head
// has arrived; the stream is closed when the test ends.
func (e *env) stream(t *testing.T, path string, h map[string]string) *http.Response {
	t.Helper()
	srv := newServer(t, e.h)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestBadInput is the list of bad requests: each answer names the
// field or the reason, and nothing reaches the call.
func TestBadInput(t *testing.T) {
	big := `{"data":{"action":"transfer","target":"2600","moh":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`
	cases := []struct {
		name    string
		body    string
		header  map[string]string
		chunked bool
		status  int
		reason  string
		field   string
		msgs    []string
	}{
		{name: "malformed JSON", body: `{"data":{"action":"transfer",`, status: 400, reason: ReasonMalformedJSON, field: "body", msgs: []string{"malformed JSON", "unexpected end of input"}},
		{name: "syntax error", body: `{"data":{"action" "transfer"}}`, status: 400, reason: ReasonMalformedJSON, field: "body", msgs: []string{"malformed JSON at byte"}},
		{name: "not an object", body: `["transfer"]`, status: 400, reason: ReasonInvalidField, field: "body", msgs: []string{"must be a JSON object", "an array"}},
		{name: "trailing garbage", body: `{"data":{"action":"cancel"}} x`, status: 400, reason: ReasonMalformedJSON, field: "body"},
		{name: "two objects", body: `{"data":{"action":"cancel"}}{}`, status: 400, reason: ReasonMalformedJSON, field: "body", msgs: []string{"more data after the JSON object"}},
		{name: "empty body", body: ``, status: 400, reason: ReasonMissingField, field: "data", msgs: []string{"body is empty"}},
		{name: "missing data", body: `{}`, status: 400, reason: ReasonMissingField, field: "data", msgs: []string{"required"}},
		{name: "null data", body: `{"data":null}`, status: 400, reason: ReasonMissingField, field: "data", msgs: []string{"required"}},
		{name: "data not an object", body: `{"data":"transfer"}`, status: 400, reason: ReasonInvalidField, field: "data", msgs: []string{"must be a JSON object", "a string"}},
		{name: "unknown top-level field", body: `{"data":{"action":"cancel"},"auth_token":"x"}`, status: 400, reason: ReasonUnknownField, field: "auth_token", msgs: []string{"unknown field"}},
		{name: "unknown data field", body: `{"data":{"action":"transfer","target":"2600","colour":"red"}}`, status: 400, reason: ReasonUnknownField, field: "data.colour", msgs: []string{"unknown field", "takeback_dtmf"}},
		{name: "field names are case-sensitive", body: `{"data":{"Action":"cancel"}}`, status: 400, reason: ReasonUnknownField, field: "data.Action"},
		{name: "duplicate field", body: `{"data":{"action":"cancel","action":"transfer"}}`, status: 400, reason: ReasonDuplicateField, field: "data.action", msgs: []string{"given twice"}},
		{name: "missing action", body: `{"data":{"target":"2600"}}`, status: 400, reason: ReasonMissingField, field: "data.action", msgs: []string{"required", "transfer, blind_transfer, cancel, complete, swap, threeway"}},
		{name: "empty action", body: `{"data":{"action":""}}`, status: 400, reason: ReasonMissingField, field: "data.action"},
		{name: "unknown action", body: `{"data":{"action":"park"}}`, status: 400, reason: ReasonUnknownAction, field: "data.action", msgs: []string{`unknown action "park"`, "want one of"}},
		{name: "long unknown action is cut", body: `{"data":{"action":"` + strings.Repeat("p", 500) + `"}}`, status: 400, reason: ReasonUnknownAction, field: "data.action", msgs: []string{"…"}},
		{name: "action not a string", body: `{"data":{"action":1}}`, status: 400, reason: ReasonInvalidField, field: "data.action", msgs: []string{"must be a string", "a number"}},
		{name: "missing target", body: `{"data":{"action":"transfer"}}`, status: 400, reason: ReasonMissingField, field: "data.target", msgs: []string{"required for action transfer"}},
		{name: "missing target (blind)", body: `{"data":{"action":"blind_transfer"}}`, status: 400, reason: ReasonMissingField, field: "data.target", msgs: []string{"required for action blind_transfer"}},
		{name: "null target", body: `{"data":{"action":"transfer","target":null}}`, status: 400, reason: ReasonMissingField, field: "data.target"},
		{name: "empty target", body: `{"data":{"action":"transfer","target":""}}`, status: 400, reason: ReasonMissingField, field: "data.target", msgs: []string{"must not be empty"}},
		{name: "target not a string", body: `{"data":{"action":"transfer","target":2600}}`, status: 400, reason: ReasonInvalidField, field: "data.target", msgs: []string{"must be a string", "a number"}},
		{name: "target with a slash", body: `{"data":{"action":"transfer","target":"2600/evil"}}`, status: 400, reason: ReasonInvalidField, field: "data.target", msgs: []string{`"2600/evil" is not a dialable number`, "+ * # - _ ."}},
		{name: "target with &", body: `{"data":{"action":"transfer","target":"2600&PJSIP/3000"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target with a comma", body: `{"data":{"action":"transfer","target":"2600,30,tT"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target with @", body: `{"data":{"action":"transfer","target":"2600@other-context"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target with a parenthesis", body: `{"data":{"action":"transfer","target":"26(00)"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target with a space", body: `{"data":{"action":"transfer","target":"26 00"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target with a newline", body: `{"data":{"action":"transfer","target":"2600\n"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target with a NUL", body: `{"data":{"action":"transfer","target":"2600\u0000"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target not ASCII", body: `{"data":{"action":"transfer","target":"２６００"}}`, status: 400, reason: ReasonInvalidField, field: "data.target"},
		{name: "target too long", body: `{"data":{"action":"transfer","target":"` + strings.Repeat("1", 65) + `"}}`, status: 400, reason: ReasonInvalidField, field: "data.target", msgs: []string{"at most 64"}},
		{name: "target on cancel", body: `{"data":{"action":"cancel","target":"2600"}}`, status: 400, reason: ReasonInvalidField, field: "data.target", msgs: []string{"not used by action cancel"}},
		{name: "moh on swap", body: `{"data":{"action":"swap","moh":"default"}}`, status: 400, reason: ReasonInvalidField, field: "data.moh", msgs: []string{"not used by action swap"}},
		{name: "bad takeback_dtmf", body: `{"data":{"action":"transfer","target":"2600","takeback_dtmf":"*1x"}}`, status: 400, reason: ReasonInvalidField, field: "data.takeback_dtmf", msgs: []string{"DTMF"}},
		{name: "bad moh", body: `{"data":{"action":"transfer","target":"2600","moh":"../etc"}}`, status: 400, reason: ReasonInvalidField, field: "data.moh", msgs: []string{"music on hold class"}},
		{name: "moh not a string", body: `{"data":{"action":"transfer","target":"2600","moh":{}}}`, status: 400, reason: ReasonInvalidField, field: "data.moh", msgs: []string{"an object"}},
		{name: "bad ringback", body: `{"data":{"action":"transfer","target":"2600","ringback":"http://evil/x.wav"}}`, status: 400, reason: ReasonInvalidField, field: "data.ringback", msgs: []string{"media URI"}},
		{name: "zero no_answer_timeout", body: `{"data":{"action":"transfer","target":"2600","no_answer_timeout":0}}`, status: 400, reason: ReasonInvalidField, field: "data.no_answer_timeout", msgs: []string{"between 1 and 3600"}},
		{name: "fractional no_answer_timeout", body: `{"data":{"action":"transfer","target":"2600","no_answer_timeout":1.5}}`, status: 400, reason: ReasonInvalidField, field: "data.no_answer_timeout"},
		{name: "huge no_answer_timeout", body: `{"data":{"action":"transfer","target":"2600","no_answer_timeout":"2h"}}`, status: 400, reason: ReasonInvalidField, field: "data.no_answer_timeout", msgs: []string{"at most 1h0m0s"}},
		{name: "word no_answer_timeout", body: `{"data":{"action":"transfer","target":"2600","no_answer_timeout":"soon"}}`, status: 400, reason: ReasonInvalidField, field: "data.no_answer_timeout", msgs: []string{`"soon"`}},
		{name: "boolean no_answer_timeout", body: `{"data":{"action":"transfer","target":"2600","no_answer_timeout":true}}`, status: 400, reason: ReasonInvalidField, field: "data.no_answer_timeout", msgs: []string{"a boolean"}},
		{name: "body too large", body: big, status: 413, reason: ReasonBodyTooLarge, field: "body", msgs: []string{"65536 bytes"}},
		{name: "body too large, chunked", body: big, chunked: true, status: 413, reason: ReasonBodyTooLarge, field: "body", msgs: []string{"65536 bytes"}},
		{name: "no content type", body: `{"data":{"action":"cancel"}}`, header: map[string]string{"Content-Type": ""}, status: 415, reason: ReasonUnsupportedMedia, field: "Content-Type", msgs: []string{"missing", "application/json"}},
		{name: "form content type", body: `data=x`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, reason: ReasonUnsupportedMedia, field: "Content-Type", msgs: []string{"application/x-www-form-urlencoded", "not supported"}},
		{name: "text content type", body: `{"data":{"action":"cancel"}}`, header: map[string]string{"Content-Type": "text/plain"}, status: 415, reason: ReasonUnsupportedMedia, field: "Content-Type"},
		{name: "latin-1 charset", body: `{"data":{"action":"cancel"}}`, header: map[string]string{"Content-Type": "application/json; charset=iso-8859-1"}, status: 415, reason: ReasonUnsupportedMedia, field: "Content-Type", msgs: []string{"charset"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.backend.add(talkingCall("acme", "alice-in"))
			h := jsonAuth(acmeToken)
			for k, v := range tc.header {
				h[k] = v
			}
			if h["Content-Type"] == "" {
				delete(h, "Content-Type")
			}
			r := e.do(req{method: "POST", path: callPath, body: tc.body, header: h, chunked: tc.chunked})
			wantError(t, r, tc.status, tc.reason, tc.field, tc.msgs...)
			if n := len(c.calls()); n != 0 {
				t.Errorf("the call got %d actions; a refused request must change nothing", n)
			}
		})
	}
}

// TestGoodRequests: what reaches the call for valid bodies.
func TestGoodRequests(t *testing.T) {
	cases := []struct {
		body   string
		want   doArgs
		status int
	}{
		{`{"data":{"action":"transfer","target":"2600","takeback_dtmf":"*1","moh":"jazz"}}`,
			doArgs{"transfer", "alice-in", "2600", map[string]string{"takeback_dtmf": "*1", "moh": "jazz"}}, 202},
		{`{"data":{"action":"blind_transfer","target":"+1-555.0100#","ringback":"tone:ring","no_answer_timeout":20}}`,
			doArgs{"blind_transfer", "alice-in", "+1-555.0100#", map[string]string{"ringback": "tone:ring", "no_answer_timeout": "20s"}}, 202},
		{`{"data":{"action":"transfer","target":"2600","no_answer_timeout":"1m30s","moh":null,"ringback":""}}`,
			doArgs{"transfer", "alice-in", "2600", map[string]string{"no_answer_timeout": "1m30s"}}, 202},
		{` {"data":{"action":"cancel"}} ` + "\n", doArgs{"cancel", "alice-in", "", map[string]string{}}, 200},
		{`{"data":{"action":"complete","target":null}}`, doArgs{"complete", "alice-in", "", map[string]string{}}, 200},
		{`{"data":{"action":"swap"}}`, doArgs{"swap", "alice-in", "", map[string]string{}}, 200},
		{`{"data":{"action":"threeway"}}`, doArgs{"threeway", "alice-in", "", map[string]string{}}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.want.action, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.backend.add(talkingCall("acme", "alice-in"))
			c.do = func(_ context.Context, a doArgs) (app.CallInfo, error) {
				info := c.info
				info.Transfer = &app.TransferInfo{ID: "alice-in-x1", State: "CallingTarget", Target: a.target, Transferor: "alice-in", Transferee: "alice-in-b"}
				return info, nil
			}
			r := e.do(req{method: "POST", path: callPath, body: tc.body, header: map[string]string{
				"Authorization": "Bearer " + acmeToken, "Content-Type": "application/json; charset=utf-8"}})
			if r.status != tc.status || r.env.Status != "success" {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			got := c.calls()
			if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(tc.want) {
				t.Fatalf("Do got %+v, want %+v", got, tc.want)
			}
			var res ActionResult
			if err := json.Unmarshal(r.env.Data, &res); err != nil {
				t.Fatal(err)
			}
			if res.ID != "alice-in" || res.Action != tc.want.action || res.TransferID != "alice-in-x1" || res.TransferState != "CallingTarget" || len(res.Parties) != 2 {
				t.Fatalf("data %s", r.env.Data)
			}
		})
	}
}

// TestActionOnOtherParty: call_id may be any party's channel: the action
// is done for that channel (Bob transfers Alice).
func TestActionOnOtherParty(t *testing.T) {
	e := newEnv(t, nil)
	c := e.backend.add(talkingCall("acme", "alice-in"))
	r := e.do(req{method: "POST", path: "/v2/accounts/acme/channels/alice-in-b", body: `{"data":{"action":"transfer","target":"2600"}}`, header: jsonAuth(acmeToken)})
	if r.status != 202 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := c.calls(); len(got) != 1 || got[0].channel != "alice-in-b" {
		t.Fatalf("Do got %+v", got)
	}
}

// TestNotFoundIsTheSame: an unknown call, another account's call and a
// call that ended under the action get the same answer.
func TestNotFoundIsTheSame(t *testing.T) {
	e := newEnv(t, nil)
	e.backend.add(talkingCall("other", "olga-in"))
	ended := e.backend.add(talkingCall("acme", "gone-in"))
	ended.do = func(context.Context, doArgs) (app.CallInfo, error) {
		return app.CallInfo{}, app.ErrUnknownCall
	}
	h := jsonAuth(acmeToken)
	h["X-Request-ID"] = "fixed-id"
	body := `{"data":{"action":"cancel"}}`
	var bodies []string
	for _, id := range []string{"nobody-in", "olga-in", "olga-in-b"} {
		for _, method := range []string{"GET", "POST"} {
			r := e.do(req{method: method, path: "/v2/accounts/acme/channels/" + id, body: body, header: h})
			wantError(t, r, 404, ReasonNotFound, "", `call "`+id+`" not found in account "acme"`)
			bodies = append(bodies, strings.ReplaceAll(string(r.body), id, "ID"))
		}
	}
	r := e.do(req{method: "POST", path: "/v2/accounts/acme/channels/gone-in", body: body, header: h})
	bodies = append(bodies, strings.ReplaceAll(string(r.body), "gone-in", "ID"))
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("answers differ:\n%s\n%s", bodies[0], b)
		}
	}
	// Another account's call is not listed either.
	r = e.do(req{method: "GET", path: "/v2/accounts/acme/channels", header: auth(acmeToken)})
	if r.status != 200 || strings.Contains(string(r.env.Data), "olga") {
		t.Fatalf("list: %d %s", r.status, r.env.Data)
	}
}

// TestConflicts: the app's refusals map to 409 with a reason, the app's
// message and the call as the action found it.
func TestConflicts(t *testing.T) {
	cases := []struct {
		err    error
		status int
		reason string
		field  string
		msg    string
	}{
		{app.ErrTransferInProgress, 409, ReasonTransferInProgress, "", "already in progress"},
		{app.ErrNoTransfer, 409, ReasonNoTransfer, "", "no transfer in progress"},
		{app.ErrNotBridged, 409, ReasonNotBridged, "", "not bridged"},
		{fmt.Errorf("%w: 2001", app.ErrTargetOnCall), 409, ReasonTargetOnCall, "", "already a party"},
		{app.ErrNotTransferor, 409, ReasonNotTransferor, "", "only the transferor"},
		{&transfer.StateError{State: transfer.Blond, Command: transfer.CommandSwap}, 409, ReasonInvalidState, "", "cannot swap in state Blond"},
		{fmt.Errorf(`%w: "x/y"`, app.ErrInvalidTarget), 400, ReasonInvalidField, "data.target", "invalid target"},
		{fmt.Errorf("%w: not a cancel code", app.ErrInvalidTakeback), 400, ReasonInvalidField, "data.takeback_dtmf", "not a cancel code"},
		{fmt.Errorf("%w: nothing was changed", app.ErrAsteriskUnavailable), 503, ReasonUnavailable, "", "nothing was changed"},
		{errors.New("ari: connection refused to 127.0.0.1:8088 password=hunter2"), 500, ReasonInternal, "", "internal error"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.backend.add(talkingCall("acme", "alice-in"))
			c.do = func(context.Context, doArgs) (app.CallInfo, error) { return c.info, tc.err }
			r := e.do(req{method: "POST", path: callPath, body: `{"data":{"action":"swap"}}`, header: jsonAuth(acmeToken)})
			wantError(t, r, tc.status, tc.reason, tc.field, tc.msg)
			if (tc.status == 409 || tc.status == 503) && (r.errData.Call == nil || r.errData.Call.ID != "alice-in") {
				t.Errorf("%d without the call: %s", tc.status, r.body)
			}
			if tc.status == 503 && r.header.Get("Retry-After") != "2" {
				t.Errorf("503 Retry-After = %q, want 2", r.header.Get("Retry-After"))
			}
			if tc.status == 500 && bytes.Contains(r.body, []byte("hunter2")) {
				t.Errorf("internal error leaked: %s", r.body)
			}
		})
	}
}

// TestCommandTimeout: a call that does not take the action in time.
func TestCommandTimeout(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.CommandTimeout = 50 * time.Millisecond })
	c := e.backend.add(talkingCall("acme", "alice-in"))
	c.do = func(ctx context.Context, _ doArgs) (app.CallInfo, error) {
		<-ctx.Done()
		return app.CallInfo{}, ctx.Err()
	}
	r := e.do(req{method: "POST", path: callPath, body: `{"data":{"action":"swap"}}`, header: jsonAuth(acmeToken)})
	wantError(t, r, 504, ReasonTimeout, "", "in time")
}

func TestMethodsAndPaths(t *testing.T) {
	e := newEnv(t, nil)
	e.backend.add(talkingCall("acme", "alice-in"))
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"PUT", callPath, "GET, POST"},
		{"DELETE", callPath, "GET, POST"},
		{"PATCH", callPath, "GET, POST"},
		{"POST", "/v2/accounts/acme/channels", "GET"},
		{"DELETE", "/v2/accounts/acme/events", "GET"},
		{"POST", "/v2/openapi", "GET"},
		{"POST", "/healthz", "GET"},
	} {
		r := e.do(req{method: tc.method, path: tc.path, header: jsonAuth(acmeToken)})
		wantError(t, r, 405, ReasonMethodNotAllowed, "", "method "+tc.method+" not allowed", tc.allow)
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	for _, p := range []string{"/", "/v1/accounts/acme/channels", "/v2/accounts/acme/channels/", "/v2/accounts/acme/channels/a/b", "/v2/accounts/acme"} {
		r := e.do(req{method: "GET", path: p, header: auth(acmeToken)})
		wantError(t, r, 404, ReasonNotFound, "", "no such endpoint")
	}
}

func TestListAndGet(t *testing.T) {
	e := newEnv(t, nil)
	e.backend.add(talkingCall("acme", "a1"))
	e.backend.add(talkingCall("acme", "a2"))
	e.backend.add(talkingCall("other", "o1"))
	r := e.do(req{method: "GET", path: "/v2/accounts/acme/channels", header: auth(acmeToken)})
	var calls []app.CallInfo
	if err := json.Unmarshal(r.env.Data, &calls); err != nil || r.status != 200 {
		t.Fatalf("%d %v %s", r.status, err, r.body)
	}
	if len(calls) != 2 || calls[0].ID != "a1" || calls[1].ID != "a2" {
		t.Fatalf("calls %+v", calls)
	}
	for _, id := range []string{"a2", "a2-b"} {
		r = e.do(req{method: "GET", path: "/v2/accounts/acme/channels/" + id, header: auth(acmeToken)})
		var c app.CallInfo
		if err := json.Unmarshal(r.env.Data, &c); err != nil || r.status != 200 || c.ID != "a2" {
			t.Fatalf("%s: %d %v %s", id, r.status, err, r.body)
		}
	}
	r = e.do(req{method: "GET", path: "/v2/accounts/other/channels", header: auth(otherToken)})
	if r.status != 200 || !strings.Contains(string(r.env.Data), `"o1"`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(req{method: "GET", path: "/v2/accounts/acme/channels", header: map[string]string{"X-Auth-Token": acmeToken, "X-Request-ID": "abc-123"}})
	if r.env.RequestID != "abc-123" || r.header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id %q / %q", r.env.RequestID, r.header.Get("X-Request-ID"))
	}
	r = e.do(req{method: "GET", path: "/v2/accounts/acme/channels", header: map[string]string{"X-Auth-Token": acmeToken, "X-Request-ID": "bad id\r\n"}})
	if r.env.RequestID == "" || strings.Contains(r.env.RequestID, " ") {
		t.Fatalf("request id %q", r.env.RequestID)
	}
	r2 := e.do(req{method: "GET", path: "/v2/accounts/acme/channels", header: auth(acmeToken)})
	if r2.env.RequestID == r.env.RequestID {
		t.Fatal("request ids repeat")
	}
}

// TestReadiness: /readyz is 200 when Ready says so, else 503 with every
// reason; /healthz stays 200 either way.
func TestReadiness(t *testing.T) {
	var problem error
	e := newEnv(t, func(o *Options) { o.Ready = func(context.Context) error { return problem } })
	r := e.do(req{method: "GET", path: "/readyz"})
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ready"}` {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}
	problem = errors.Join(errors.New("ARI: not connected yet"), errors.New("draining: no new calls"))
	r = e.do(req{method: "GET", path: "/readyz"})
	if r.status != 503 || r.header.Get("Retry-After") == "" ||
		strings.TrimSpace(string(r.body)) != `{"reasons":["ARI: not connected yet","draining: no new calls"],"status":"not ready"}` {
		t.Fatalf("not ready: %d %v %s", r.status, r.header, r.body)
	}
	if r := e.do(req{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Fatalf("healthz while not ready: %d", r.status)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Health = func() any { return map[string]any{"status": "ok", "live_calls": 3} } })
	r := e.do(req{method: "GET", path: "/healthz"})
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"live_calls":3,"status":"ok"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = e.do(req{method: "GET", path: "/metrics"})
	if r.status != 200 || string(r.body) != "# metrics\n" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Without a metrics handler there is no /metrics.
	e = newEnv(t, func(o *Options) { o.Metrics = nil })
	r = e.do(req{method: "GET", path: "/metrics"})
	if r.status != 404 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// TestTokenTable: configuration errors name the entry, never the token.
func TestTokenTable(t *testing.T) {
	_, err := NewTokens(map[string][]string{
		"a": {"sha256:abc", "", "ok-token"},
		"b": {"SHA256:" + strings.Repeat("zz", 32)},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"accounts.a.tokens[0]", "accounts.a.tokens[1]: empty token", "accounts.b.tokens[0]", "64 hex digits"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok-token") || strings.Contains(err.Error(), "abc") {
		t.Errorf("error shows a token: %v", err)
	}
	tok, err := NewTokens(map[string][]string{"a": {strings.ToUpper(HashToken("t1"))[:7] + HashToken("t1")[7:]}, "b": {"t2"}})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := tok.check("t1", "a"); !k || !ok {
		t.Error("t1 not accepted for a")
	}
	if k, ok := tok.check("t1", "b"); !k || ok {
		t.Error("t1 accepted for b")
	}
	if k, ok := tok.check("t3", "a"); k || ok {
		t.Error("t3 accepted")
	}
	if tok.Accounts() != 2 {
		t.Error("accounts")
	}
}
