package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
)

// The billing scripts with real SIP phones on PJSIP endpoints (the issue's
// "PJSIP loopback"): transferd dials PJSIP/{number}, so the legs it
// creates are PJSIP channels made by ARI, not Local channels; the native
// path is the sandbox's Dial with atxfer (X-TD-Native). Same scripts, same
// rules as TestBillingRecords.

// sipBill is what a SIP billing call adds to billCall.
type sipBill struct {
	s        *sipScenario
	linkedid string // Alice's channel's uniqueid (transferd's call id)
}

// mine selects the call's records: Alice's channel, the legs transferd
// names after the call, and (RecordsMatching) all sharing their linkedid.
func (sb *sipBill) mine(id string) bool {
	return sb.linkedid != "" && (id == sb.linkedid || strings.HasPrefix(id, sb.linkedid+"-"))
}

// party names a channel of the call by the SIP phone it reaches.
func (sb *sipBill) party(channel string) string {
	for i, who := range []string{"alice", "bob", "carol"} {
		n := sb.s.num(i)
		if strings.HasPrefix(channel, "PJSIP/"+n+"-") || strings.HasPrefix(channel, "Local/"+n+"@") {
			return who
		}
	}
	return party(channel)
}

// sipParty is a SIP phone's call as a billPhone.
type sipParty struct{ c *SIPCall }

func (p sipParty) Answer(ctx context.Context) error { return p.c.Answer(ctx) }

// Hangup: "busy" on a call not answered yet is a 486 reply.
func (p sipParty) Hangup(ctx context.Context, reason string) error {
	if reason == "busy" {
		return p.c.Reject(ctx, 486, "Busy Here")
	}
	return p.c.Hangup(ctx)
}

func (p sipParty) Press(_ context.Context, digits string) error {
	p.c.Press(digits, keyDown, keyGap)
	return nil
}

func (p sipParty) Gone() bool { return p.c.isEnded() }

// startSIP: Alice's phone calls Bob's, Bob answers (mark "answer").
func (b *billCall) startSIP() {
	b.t.Helper()
	s := b.sip.s
	headers := s.headers()
	if b.native {
		headers = map[string]string{"X-TD-Native": "1"}
	}
	type res struct {
		c   *SIPCall
		err error
	}
	out := make(chan res, 1)
	go func() {
		c, err := s.alice.Dial(b.ctx, s.bob.Number, headers)
		out <- res{c, err}
	}()
	in := s.incoming(s.bob)
	b.mark("answer")
	b.must(in.Answer(b.ctx))
	var r res
	select {
	case r = <-out:
	case <-time.After(15 * time.Second):
		b.t.Fatal("the call was never answered at the caller")
	}
	b.must(r.err)
	b.alice, b.bob = sipParty{r.c}, sipParty{in}
	if !b.native {
		b.sip.linkedid = s.callOf(s.alice.Number)
		return
	}
	// Native: Alice's channel is the one named after her endpoint.
	chans, err := s.client.Channels.List(b.ctx)
	b.must(err)
	for _, ch := range chans {
		if strings.HasPrefix(ch.Name, "PJSIP/"+s.alice.Number+"-") {
			b.sip.linkedid = string(ch.ID)
		}
	}
	if b.sip.linkedid == "" {
		b.t.Fatal("no channel of Alice's phone")
	}
}

// transferSIP presses code on Alice's phone and waits for Carol's phone to
// ring (mark "ring").
func (b *billCall) transferSIP(code string) billPhone {
	b.t.Helper()
	b.must(b.alice.Press(b.ctx, code))
	c := b.sip.s.incoming(b.sip.s.carol)
	b.mark("ring")
	return sipParty{c}
}

// sipBillRuns counts the runs of TestBillingRecordsSIP (tags per run).
var sipBillRuns int

// TestBillingRecordsSIP runs the completed and partial scripts with SIP
// phones through transferd (PJSIP/{number}) and through native atxfer.
func TestBillingRecordsSIP(t *testing.T) {
	t.Parallel()
	sipBillRuns++
	for _, sc := range billScripts {
		if sc.name != "completed" && sc.name != "partial" {
			continue
		}
		for _, p := range []struct {
			path     string
			native   bool
			template string   // transferd's dial template
			differs  []string // the rules this path breaks
		}{
			// A leg ARI creates is at extension "s" (dialplan/extensions_transferd.conf,
			// [transferd-dial-pjsip]): dst reads "s" where it is party A.
			{path: "transferd-pjsip", template: "PJSIP/{number}", differs: []string{"src-dst"}},
			{path: "transferd-local", template: "Local/{number}@transferd-dial-pjsip/n"},
			{path: "native", native: true, differs: sc.nativeDiffers},
		} {
			t.Run(sc.name+"/"+p.path, func(t *testing.T) {
				t.Parallel()
				tag := fmt.Sprintf("bs%s%s%d", sc.name[:1], p.path[len(p.path)-1:], sipBillRuns)
				s := newSIPScenario(t, tag, func(a *app.AccountConfig) {
					a.Billing.AccountCode = billAccountCode
					if p.template != "" {
						a.DialTemplate = p.template
					}
				})
				b := &billCall{t: t, ctx: s.ctx, tag: tag, native: p.native, s: s.scenario, sip: &sipBill{s: s}, at: map[string]time.Time{}}
				sc.play(b)
				recs := b.records()
				want := sc.expect(b, recs, b.sip.party)
				ck := billCheck{linkedid: b.sip.linkedid, native: p.native, party: b.sip.party, held: b.sip.mine}
				checkBilling(t, sc.name, "sip-"+p.path, recs, want, ck, p.differs)
			})
		}
	}
}
