package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

// Billing records (CDRs and CELs, cdr_custom/cel_custom JSON) of the same
// scripts run through transferd and through Asterisk's native atxfer /
// blindxfer (the benchmark's native context). Alice (1001) calls Bob
// (2001); Carol is 2600. Each script has short talk times; the expected
// talk of each pair is computed from when the script acted, and the records
// must match it within a second.
//
// Both paths are checked with the same rules. Native breaks some of them
// (it bills a ringing target as talking, and writes no CEL for a transfer
// that did not happen); those differences are listed per script in
// nativeDiffers, and the test fails if native's records change either way.
// The README ("Billing records") explains each.

// party names a channel of the call by its Local channel's extension.
func party(channel string) string {
	switch {
	case channel == "":
		return ""
	case strings.HasPrefix(channel, "Local/alice@"), strings.HasPrefix(channel, "Local/1001@"):
		return "alice" // her phone, and the recall of her number
	case strings.HasPrefix(channel, "Local/2001@"):
		return "bob"
	case strings.HasPrefix(channel, "Local/2600@"):
		return "carol"
	case strings.Contains(channel, "@transferd-cel"):
		return "cel"
	}
	return "?" + channel
}

func pairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + "-" + b
}

// billExpect is what a script's records must say.
type billExpect struct {
	talk          map[string]float64 // seconds each pair talked
	carolAnswered bool
	outcome       string // transferd's outcome in TRANSFERD_END
	nativeEvent   string // the CEL event native writes: ATTENDEDTRANSFER, BLINDTRANSFER or ""
}

// billCheck says how to read one call's records.
type billCheck struct {
	linkedid string // the call's linkedid: Alice's uniqueid
	native   bool
	party    func(channel string) string // alice, bob, carol or cel
	// held says whether a uniqueid is a channel transferd holds (it carries
	// billing.accountcode).
	held func(uniqueid string) bool
}

// localCheck reads the records of the Local-channel phones' call tag.
func localCheck(tag string, native bool) billCheck {
	return billCheck{linkedid: tag + "-alice", native: native, party: party,
		held: func(id string) bool { return strings.HasPrefix(id, tag+"-alice-in") }}
}

// billViolations checks the records of one call and returns the rules
// they break, each with what was seen.
func billViolations(recs CallRecords, want billExpect, ck billCheck) map[string]string {
	linkedid, native, party := ck.linkedid, ck.native, ck.party
	bad := map[string]string{}
	add := func(rule, format string, args ...any) {
		bad[rule] += fmt.Sprintf(format, args...) + "; "
	}
	// Who talked to whom, for how long.
	talk := map[string]float64{}
	billsec := map[string]int64{}
	for _, r := range recs.CDRs {
		a, b := party(r.Channel), party(r.DstChannel)
		if a == "cel" || b == "cel" {
			add("cel-side-trip-cdr", "the CEL side trip wrote a CDR: %s", r)
		}
		if b == "" || a == b || r.Answer == 0 {
			continue
		}
		k := pairKey(a, b)
		talk[k] += r.Talk()
		billsec[k] += r.Billsec
		// src and dst read right: party A's caller id and the extension
		// it dialled (or reaches), not empty and not the "s" of a channel
		// created outside the dialplan.
		if r.Src == "" || r.Dst == "" || r.Dst == "s" {
			add("src-dst", "row %s -> %s has src %q dst %q", r.Channel, r.DstChannel, r.Src, r.Dst)
		}
	}
	for k, w := range want.talk {
		// billsec is whole seconds, truncated: compared with the expected
		// talk rounded.
		if math.Abs(talk[k]-w) > 1 || math.Abs(float64(billsec[k])-math.Round(w)) > 1 {
			add("talk:"+k, "%s talked %.2fs (billsec %d), want %.2fs ±1s", k, talk[k], billsec[k], w)
		}
	}
	for k, got := range talk {
		if _, ok := want.talk[k]; !ok && got > 0.5 {
			add("talk:"+k, "%s talked %.2fs (billsec %d), want no talk", k, got, billsec[k])
		}
	}
	// A target that never answered: no row but NO ANSWER (or BUSY,
	// FAILED) with no billed time.
	if !want.carolAnswered {
		for _, r := range recs.CDRs {
			if party(r.Channel) != "carol" && party(r.DstChannel) != "carol" {
				continue
			}
			if r.Disposition == "ANSWERED" || r.Billsec != 0 {
				add("unanswered-target", "row for Carol, who never answered: %s", r)
			}
		}
	}
	// One linkedid per call, the caller's.
	if ids := recs.LinkedIDs(); len(ids) != 1 || ids[0] != linkedid {
		add("linkedid", "linkedids %v, want only %s", ids, linkedid)
	}
	// The account code is on every channel transferd holds (ids <call>...).
	if !native {
		for _, r := range recs.CDRs {
			if ck.held(r.UniqueID) && r.AccountCode != billAccountCode {
				add("accountcode", "row of %s has accountcode %q, want %q", r.UniqueID, r.AccountCode, billAccountCode)
			}
		}
	}
	// The transfer is marked.
	var types []string
	for _, e := range recs.CELs {
		types = append(types, e.EventType)
	}
	if native {
		if want.nativeEvent == "" || !slices.Contains(types, want.nativeEvent) {
			add("transfer-mark", "no %q CEL event (native writes one only for a transfer that happened)", want.nativeEvent)
		}
	} else {
		var start, end bool
		for _, e := range recs.CELs {
			start = start || (e.EventType == "TRANSFERD_START" && e.EventEnum == "USER_DEFINED")
			end = end || (e.EventType == "TRANSFERD_END" && strings.Contains(e.Extra, ";outcome="+want.outcome+";"))
		}
		if !start || !end {
			add("transfer-mark", "CEL TRANSFERD_START %v, TRANSFERD_END with outcome %s %v", start, want.outcome, end)
		}
		marked := false
		for _, r := range recs.CDRs {
			if party(r.Channel) == "alice" && strings.Contains(r.UserField, "role=transferor") {
				marked = true
			}
		}
		if !marked {
			add("transfer-mark", "no CDR of Alice's with userfield role=transferor")
		}
	}
	return bad
}

// billAccountCode is the transferd path's billing.accountcode.
const billAccountCode = "acme-7"

// billCall drives one script on one path.
type billCall struct {
	t      *testing.T
	ctx    context.Context
	tag    string
	native bool
	s      *scenario // the transferd path's instance
	sip    *sipBill  // the call's SIP phones (billing_sip_test.go), nil for Local phones
	alice  billPhone
	bob    billPhone
	carol  billPhone
	at     map[string]time.Time
}

// billPhone is one party's phone in a script: a Local-channel handset
// (*Phone) or a SIP phone's call (sipParty).
type billPhone interface {
	Answer(ctx context.Context) error
	Hangup(ctx context.Context, reason string) error
	Press(ctx context.Context, digits string) error
	Gone() bool
}

func newBillCall(t *testing.T, tag string, native bool) *billCall {
	b := &billCall{t: t, tag: tag, native: native, at: map[string]time.Time{}}
	if native {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		t.Cleanup(func() { checkNoLeaks(t, phones.Client, tag) })
		b.ctx = ctx
	} else {
		b.s = newScenario(t, tag, func(a *app.AccountConfig) { a.Billing.AccountCode = billAccountCode })
		b.ctx = b.s.ctx
	}
	return b
}

func (b *billCall) mark(name string) { b.at[name] = time.Now() }

func (b *billCall) since(from, to string) float64 { return b.at[to].Sub(b.at[from]).Seconds() }

func (b *billCall) sleep(d time.Duration) {
	select {
	case <-time.After(d):
	case <-b.ctx.Done():
		b.t.Fatal(b.ctx.Err())
	}
}

func (b *billCall) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// start: Alice calls Bob, Bob answers (mark "answer").
func (b *billCall) start() {
	b.t.Helper()
	if b.sip != nil {
		b.startSIP()
		return
	}
	p := CallParams{Tag: b.tag, Name: "alice", Dest: "2001", Callback: "1001"}
	if b.native {
		p.Context = "transferd-native-caller"
	} else {
		p.App, p.Account = b.s.cfg.ARI.App, account
	}
	alice, err := phones.Call(b.ctx, p)
	b.must(err)
	b.alice = alice
	b.bob = b.ring("2001")
	b.mark("answer")
	b.must(b.bob.Answer(b.ctx))
	ev, err := alice.WaitEvent(b.ctx, 0, "StasisStart", nil)
	b.must(err)
	// Alice's handset answered when Bob's answer reached her: Asterisk's
	// time of it is when the two were connected.
	if at, err := ari.ParseTime(ev.GetTimestamp()); err == nil && at.After(b.at["answer"]) {
		b.at["answer"] = at
	}
}

func (b *billCall) ring(number string) *Phone {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	ph, err := phones.WaitRing(ctx, b.tag, number)
	b.must(err)
	return ph
}

// carolNumber is the number Alice transfers to.
func (b *billCall) carolNumber() string {
	if b.sip != nil {
		return b.sip.s.num(2)
	}
	return "2600"
}

// transfer presses code (e.g. *22600#) and waits for Carol to ring (mark
// "ring": the transfer has started).
func (b *billCall) transfer(code string) billPhone {
	b.t.Helper()
	if b.sip != nil {
		return b.transferSIP(code)
	}
	b.must(b.alice.Press(b.ctx, code))
	carol := b.ring("2600")
	b.mark("ring")
	// Asterisk's own time of the ring (its StasisStart): on a loaded
	// machine the event reaches the test a while later.
	for _, ev := range carol.Events() {
		if st, ok := ev.(*ari.StasisStart); ok {
			if at, err := ari.ParseTime(st.GetTimestamp()); err == nil && at.Before(b.at["ring"]) {
				b.at["ring"] = at
			}
		}
	}
	return carol
}

// phone is the named party's phone.
func (b *billCall) phone(who string) billPhone {
	ph := map[string]billPhone{"alice": b.alice, "bob": b.bob, "carol": b.carol}[who]
	if ph == nil {
		b.t.Fatalf("no phone %q in this call", who)
	}
	return ph
}

// records waits until every channel of the call is gone (LINKEDID_END of
// each linkedid) and returns the call's records.
func (b *billCall) records() CallRecords {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	var recs CallRecords
	var since time.Time
	waitFor(b.t, ctx, func() error {
		cdrs, err := ReadCDRs(sandbox.CDRPath())
		if err != nil {
			return err
		}
		cels, err := ReadCELs(sandbox.CELPath())
		if err != nil {
			return err
		}
		got := RecordsOf(cdrs, cels, b.tag+"-")
		if b.sip != nil {
			got = RecordsMatching(cdrs, cels, b.sip.mine)
		}
		if !got.Complete() {
			return fmt.Errorf("records of %s not complete yet (linkedids %v, %d CDRs)", b.tag, got.LinkedIDs(), len(got.CDRs))
		}
		// A last row may still be on its way: the count must hold still
		// for two seconds. Complete cannot see every row coming: a channel
		// seen in one row (Bob as Alice's party B) may have rows of its own
		// still to come (Bob-Carol), and Asterisk's CDR engine writes them
		// on its own thread, behind the CELs, later still on a loaded
		// machine (a native run once read no Bob-Carol row at all).
		if len(got.CDRs) != len(recs.CDRs) || len(got.CELs) != len(recs.CELs) || since.IsZero() {
			recs, since = got, time.Now()
		}
		if time.Since(since) < 2*time.Second {
			return fmt.Errorf("records of %s still arriving", b.tag)
		}
		return nil
	})
	if b.s != nil {
		b.s.callGone()
	}
	return recs
}

// billScript is one transfer script: what happens after Alice and Bob
// are talking (mark "answer"), and what its records must say.
type billScript struct {
	name  string
	steps []billStep
	// talk: for each pair that talked, the marks its talk runs between
	// (from, to[, from, to ...]).
	talk          map[string][]string
	transferdOnly bool // no native run (see the script)
	carolAnswered bool
	outcome       string // transferd's outcome in TRANSFERD_END
	nativeEvent   string // the CEL event native writes: ATTENDEDTRANSFER, BLINDTRANSFER or ""
	// nativeDiffers lists the rules native atxfer breaks for this script
	// (see docs/billing.md, "Where transferd and native atxfer still
	// differ").
	nativeDiffers []string
}

// billStep: after a pause, mark the moment and act.
type billStep struct {
	after time.Duration
	mark  string
	act   billAct
}

// billAct is what a step does, and the CEL event that says when Asterisk
// saw it happen (the step's mark is moved to that event's time once the
// records are read: on a loaded machine an action reaches Asterisk a while
// after the test starts it).
type billAct struct {
	do         func(b *billCall) error
	event, who string // "" when the action has no event of its own
	// held is the event of the moment the code holds the transferee (its
	// prefix's last digit, "DTMF2" for *2: prehold.go), for a transfer
	// code; the mark "<step>:held" is that moment through transferd and
	// the step's own through native atxfer (which holds him in the call
	// bridge while the number is typed, so his record with the
	// transferor runs on until the final digit).
	held string
}

// Actions of a script's steps.

// dtmfEnd is the anchor event of a transfer code: its final # received on
// Alice's channel, the moment the transfer starts.
const dtmfEnd = "DTMF#"

// transferTo presses feature code (*2 or *7), Carol's number and # on
// Alice's phone and waits for Carol to ring.
func transferTo(code string) billAct {
	return billAct{do: func(b *billCall) error { b.carol = b.transfer(code + b.carolNumber() + "#"); return nil },
		event: dtmfEnd, who: "alice", held: "DTMF" + code[len(code)-1:]}
}

func answers(who string) billAct {
	return billAct{do: func(b *billCall) error { return b.phone(who).Answer(b.ctx) }, event: "ANSWER", who: who}
}

func hangsUp(who, reason string) billAct {
	return billAct{do: func(b *billCall) error { return b.phone(who).Hangup(b.ctx, reason) }, event: "HANGUP", who: who}
}

func presses(who, digits string) billAct {
	return billAct{do: func(b *billCall) error { return b.phone(who).Press(b.ctx, digits) }}
}

// carolGone waits until Carol's phone has hung up.
var carolGone = billAct{do: func(b *billCall) error {
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	waitFor(b.t, ctx, func() error {
		if !b.carol.Gone() {
			return fmt.Errorf("carol still rings")
		}
		return nil
	})
	return nil
}}

// recallRings waits for the recall of Alice's number (1001) to ring her
// phone again: that phone is Alice's from then on.
var recallRings = billAct{do: func(b *billCall) error {
	b.alice = b.ring("1001")
	return nil
}}

var billScripts = []billScript{
	{
		// Attended transfer completed: Alice consults Carol, then hangs up.
		name: "completed",
		steps: []billStep{
			{2 * time.Second, "code", transferTo("*2")},
			{time.Second, "carol-answers", answers("carol")},
			{2 * time.Second, "alice-hangs-up", hangsUp("alice", "normal")},
			{2 * time.Second, "bob-hangs-up", hangsUp("bob", "normal")},
		},
		talk: map[string][]string{
			"alice-bob": {"answer", "code:held"},
			// Alice's own channel is billed from the transfer's start,
			// Carol's ringing included: Asterisk's CDRs bill party A's
			// time (native does the same).
			"alice-carol": {"code:held", "alice-hangs-up"},
			"bob-carol":   {"alice-hangs-up", "bob-hangs-up"},
		},
		carolAnswered: true, outcome: "completed", nativeEvent: "ATTENDEDTRANSFER",
		nativeDiffers: []string{"src-dst"},
	},
	{
		// Takeback while Carol rings: Alice is back with Bob. Her time
		// while Carol rang is billed with Bob, to whom she returns.
		name: "takeback",
		steps: []billStep{
			{2 * time.Second, "code", transferTo("*2")},
			{2 * time.Second, "takeback", presses("alice", "*1")},
			{0, "carol-gone", carolGone},
			{2 * time.Second, "alice-hangs-up", hangsUp("alice", "normal")},
		},
		talk:          map[string][]string{"alice-bob": {"answer", "alice-hangs-up"}},
		outcome:       "cancelled",
		nativeDiffers: []string{"talk:alice-bob", "talk:alice-carol", "unanswered-target", "transfer-mark"},
	},
	{
		// Partial transfer: Alice hangs up while Carol rings; Carol answers
		// and talks with Bob. Alice's wait alone is billed to nobody.
		name: "partial",
		steps: []billStep{
			// Two seconds: native bills Alice's wait with Carol, and its
			// check ("no talk" above half a second) needs a clear margin.
			{2 * time.Second, "code", transferTo("*2")},
			{2 * time.Second, "alice-hangs-up", hangsUp("alice", "normal")},
			{2 * time.Second, "carol-answers", answers("carol")},
			{2 * time.Second, "bob-hangs-up", hangsUp("bob", "normal")},
		},
		talk: map[string][]string{
			"alice-bob": {"answer", "code:held"},
			"bob-carol": {"carol-answers", "bob-hangs-up"},
		},
		carolAnswered: true, outcome: "partial-completed", nativeEvent: "ATTENDEDTRANSFER",
		nativeDiffers: []string{"talk:alice-carol", "src-dst"},
	},
	{
		// Blind transfer: Alice is gone at once, Carol answers Bob.
		name: "blind",
		steps: []billStep{
			{2 * time.Second, "code", transferTo("*7")},
			{2 * time.Second, "carol-answers", answers("carol")},
			{2 * time.Second, "bob-hangs-up", hangsUp("bob", "normal")},
		},
		talk: map[string][]string{
			"alice-bob": {"answer", "code:held"},
			"bob-carol": {"carol-answers", "bob-hangs-up"},
		},
		carolAnswered: true, outcome: "partial-completed", nativeEvent: "BLINDTRANSFER",
		nativeDiffers: []string{"talk:bob-carol"},
	},
	{
		// Recall: Alice hangs up while Carol rings, Carol is busy, so
		// Alice's number is called back for Bob; she answers. The recall
		// leg is created for Bob (its originator: the party still up), so
		// the call keeps one linkedid; Bob's wait is billed to nobody.
		// transferd only: native atxfer's recall (atxferdropcall=no) calls
		// back the transferer's original device (Local/alice@...), which
		// the harness's phones do not answer as a new call.
		name: "recall",
		steps: []billStep{
			{2 * time.Second, "code", transferTo("*2")},
			{2 * time.Second, "alice-hangs-up", hangsUp("alice", "normal")},
			{time.Second, "carol-busy", hangsUp("carol", "busy")},
			{0, "recall-rings", recallRings},
			{time.Second, "alice-answers", answers("alice")},
			{2 * time.Second, "bob-hangs-up", hangsUp("bob", "normal")},
		},
		talk:    map[string][]string{"alice-bob": {"answer", "code:held", "alice-answers", "bob-hangs-up"}},
		outcome: "recalled", transferdOnly: true,
	},
	{
		// Failed transfer: Carol is busy; Alice is back with Bob.
		name: "failed",
		steps: []billStep{
			{2 * time.Second, "code", transferTo("*2")},
			{2 * time.Second, "carol-busy", hangsUp("carol", "busy")},
			{2 * time.Second, "alice-hangs-up", hangsUp("alice", "normal")},
		},
		talk:          map[string][]string{"alice-bob": {"answer", "alice-hangs-up"}},
		outcome:       "failed:busy",
		nativeDiffers: []string{"talk:alice-bob", "talk:alice-carol", "unanswered-target", "transfer-mark"},
	},
}

// play plays the script on b.
func (sc billScript) play(b *billCall) {
	b.t.Helper()
	b.start()
	for _, st := range sc.steps {
		b.sleep(st.after)
		b.mark(st.mark)
		b.must(st.act.do(b))
	}
}

// expect says what the records must say, from the moments Asterisk saw
// the script's actions (their CEL events in recs).
func (sc billScript) expect(b *billCall, recs CallRecords, party func(string) string) billExpect {
	b.t.Helper()
	for _, st := range sc.steps {
		if st.act.event == "" {
			continue
		}
		at, ok := eventAfter(recs, st.act.event, st.act.who, party, b.at[st.mark])
		if !ok {
			b.t.Fatalf("no CEL %s of %s after step %q", st.act.event, st.act.who, st.mark)
		}
		if st.act.held != "" {
			b.at[st.mark+":held"] = at
			if !b.native {
				held, ok := eventAfter(recs, st.act.held, st.act.who, party, b.at[st.mark])
				if !ok || held.After(at) {
					b.t.Fatalf("no CEL %s of %s between step %q and its %s", st.act.held, st.act.who, st.mark, st.act.event)
				}
				b.at[st.mark+":held"] = held
			}
		}
		b.at[st.mark] = at
	}
	want := billExpect{talk: map[string]float64{}, carolAnswered: sc.carolAnswered, outcome: sc.outcome, nativeEvent: sc.nativeEvent}
	for pair, marks := range sc.talk {
		for i := 0; i+1 < len(marks); i += 2 {
			want.talk[pair] += b.since(marks[i], marks[i+1])
		}
	}
	return want
}

// eventAfter is the time of the first CEL event of who's channels after
// from (less a little: the two clocks are the same, the test's mark is
// taken just before it acts). dtmfEnd is a received #.
func eventAfter(recs CallRecords, event, who string, party func(string) string, from time.Time) (time.Time, bool) {
	since := float64(from.UnixMicro())/1e6 - 0.2
	for _, e := range recs.CELs {
		if e.EventTime < since || party(e.ChanName) != who {
			continue
		}
		match := e.EventType == event
		if strings.HasPrefix(event, "DTMF") && len(event) == len("DTMF#") {
			match = e.EventType == "DTMF" && e.UserDefType == "Received" && strings.Contains(e.Extra, `"digit":"`+event[4:]+`"`)
		}
		if match {
			sec := math.Floor(e.EventTime)
			return time.Unix(int64(sec), int64((e.EventTime-sec)*1e9)), true
		}
	}
	return time.Time{}, false
}

// billRuns counts the runs of TestBillingRecords in this process.
var billRuns int

// TestBillingRecords runs every script through transferd and through native
// atxfer, in parallel, and checks the records of each call.
func TestBillingRecords(t *testing.T) {
	t.Parallel()
	// Each run has its own tags: the records of an earlier run (-count)
	// stay in the same files and must not be taken for this run's.
	billRuns++
	for i, sc := range billScripts {
		for _, native := range []bool{false, true} {
			if native && sc.transferdOnly {
				continue
			}
			path, tag := "transferd", fmt.Sprintf("bt%c%d", 'a'+i, billRuns)
			if native {
				path, tag = "native", fmt.Sprintf("bn%c%d", 'a'+i, billRuns)
			}
			t.Run(sc.name+"/"+path, func(t *testing.T) {
				t.Parallel()
				b := newBillCall(t, tag, native)
				sc.play(b)
				recs := b.records()
				want := sc.expect(b, recs, party)
				var differs []string
				if native {
					differs = sc.nativeDiffers
				}
				checkBilling(t, sc.name, path, recs, want, localCheck(tag, native), differs)
			})
		}
	}
}

// checkBilling logs a call's records and fails the test unless they break
// exactly the rules wantRules (those the path is known to break).
func checkBilling(t *testing.T, script, path string, recs CallRecords, want billExpect, ck billCheck, wantRules []string) {
	t.Helper()
	got := billViolations(recs, want, ck)
	for _, r := range recs.CDRs {
		t.Logf("CDR %s", r)
	}
	for _, e := range recs.CELs {
		if e.EventType != "DTMF" {
			t.Logf("CEL %s", e)
		}
	}
	t.Logf("expected talk: %v", want.talk)
	saveSample(t, script, path, recs)
	wantRules = slices.Clone(wantRules)
	var gotRules []string
	for rule := range got {
		gotRules = append(gotRules, rule)
	}
	sort.Strings(gotRules)
	sort.Strings(wantRules)
	if !slices.Equal(gotRules, wantRules) {
		t.Errorf("%s: rules broken %v, want %v", path, gotRules, wantRules)
		for _, rule := range gotRules {
			t.Errorf("  %s: %s", rule, got[rule])
		}
	}
}

// saveSample writes the records to $BILLING_SAMPLES/<script>-<path>.json
// when set (how docs/billing-samples/ was made).
func saveSample(t *testing.T, script, path string, recs CallRecords) {
	dir := os.Getenv("BILLING_SAMPLES")
	if dir == "" {
		return
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteString("# CDRs (cdr_custom JSON)\n")
	for _, r := range recs.CDRs {
		_ = enc.Encode(r)
	}
	b.WriteString("# CELs (cel_custom JSON; DTMF events left out)\n")
	for _, e := range recs.CELs {
		if e.EventType != "DTMF" {
			_ = enc.Encode(e)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, script+"-"+path+".jsonl"), b.Bytes(), 0o644); err != nil {
		t.Errorf("sample: %v", err)
	}
}
