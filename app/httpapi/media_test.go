package httpapi

import (
	"strings"
	"testing"
)

// TestMediaFieldsRefused: every media field of the API (ringback) and the
// music on hold class refuse path traversal, absolute paths and schemes
// the account has not allowed, with a 400 naming the field, and the call
// is never asked to do anything.
func TestMediaFieldsRefused(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.MediaAllow = func(account string) []string {
			if account == "acme" {
				return []string{"number:", "sound:/srv/sounds/welcome"}
			}
			return nil
		}
	})
	call := e.backend.add(talkingCall("acme", "alice-in"))
	attacks := []string{
		"sound:../../../../../../etc/secret",
		"sound:custom/../../secret",
		"sound:..",
		"sound:/etc/secret",
		"sound:/srv/sounds/other",
		"sound:./beep",
		"sound:custom//beep",
		"sound:beep.gsm",
		"recording:../../spool/voicemail/default/1000/INBOX/msg0000",
		"recording:other-tenant/call-1",
		"digits:1234",
		"characters:abc",
		"number:../1",
		"file:///etc/passwd",
		"http://evil.example/x.wav",
		"tone:../ring",
		"tone:440+480/2000,0/4000",
		"sound:beep\u0000",
		"../../../etc/secret",
		"sound:" + strings.Repeat("a", 200),
	}
	for _, uri := range attacks {
		for _, action := range []string{"transfer", "blind_transfer"} {
			body := `{"data":{"action":"` + action + `","target":"2600","ringback":` + jsonString(uri) + `}}`
			r := e.do(req{method: "POST", path: callPath, body: body, header: jsonAuth(acmeToken)})
			wantError(t, r, 400, ReasonInvalidField, "data.ringback")
		}
	}
	for _, class := range []string{"../etc", "/var/lib/asterisk/moh", "a b", "x;y", strings.Repeat("m", 65)} {
		body := `{"data":{"action":"transfer","target":"2600","moh":` + jsonString(class) + `}}`
		r := e.do(req{method: "POST", path: callPath, body: body, header: jsonAuth(acmeToken)})
		wantError(t, r, 400, ReasonInvalidField, "data.moh", "music on hold class")
	}
	if got := call.calls(); len(got) != 0 {
		t.Fatalf("refused requests reached the call: %+v", got)
	}

	// What the rule and the account allow goes through.
	for _, uri := range []string{"tone:ring", "sound:custom/ringing", "number:42", "sound:/srv/sounds/welcome"} {
		body := `{"data":{"action":"transfer","target":"2600","ringback":` + jsonString(uri) + `}}`
		r := e.do(req{method: "POST", path: callPath, body: body, header: jsonAuth(acmeToken)})
		if r.status != 202 {
			t.Errorf("%s: status %d: %s", uri, r.status, r.body)
		}
	}
	if got := call.calls(); len(got) != 4 || got[3].data["ringback"] != "sound:/srv/sounds/welcome" {
		t.Fatalf("allowed requests: %+v", got)
	}

	// Another account's allowances are not this account's.
	e.backend.add(talkingCall("other", "olga-in"))
	for _, uri := range []string{"number:42", "sound:/srv/sounds/welcome"} {
		body := `{"data":{"action":"transfer","target":"2600","ringback":` + jsonString(uri) + `}}`
		r := e.do(req{method: "POST", path: "/v2/accounts/other/channels/olga-in", body: body, header: jsonAuth(otherToken)})
		wantError(t, r, 400, ReasonInvalidField, "data.ringback")
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
