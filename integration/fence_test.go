package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/transferd/transferd/ari"
)

// A stalled owner is fenced (issue 13): the owner of three calls in
// transfer states (two with the target ringing, one consulting) is frozen
// with SIGSTOP for longer than the lease time. Another instance takes the
// calls over, and while the old owner is still frozen they move on under
// the new owner (a ringing target answers; the consulting transferor hangs
// up, which completes that transfer, then the call ends; the other ringing
// transfer's no-answer timer runs out), so the frozen process has events
// and a fired timer waiting for it. Then it is woken with SIGCONT. It must
// give every call up without acting on them: no ARI request on their
// channels or bridges, Asterisk's bridges as the new owner left them, no
// lease write after the takeover; the new owner finishes the transfers, and
// nothing leaks.

// leaseWrite is one write of the leases bucket, as a watcher saw it.
type leaseWrite struct {
	key     string
	owner   string
	rev     uint64
	op      jetstream.KeyValueOp
	created time.Time
}

// recordLeases records every write of the leases bucket of the rig's one
// NATS server (a KV watcher sees each write, a purge too) until ctx ends.
func (r *clusterRig) recordLeases(ctx context.Context) func() []leaseWrite {
	js, err := jetstream.New(r.observerNC)
	if err != nil {
		r.t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bucketPrefix()+"_leases")
	if err != nil {
		r.t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []leaseWrite
	go func() {
		for e := range w.Updates() {
			if e == nil { // the end of the initial values
				continue
			}
			mu.Lock()
			seen = append(seen, leaseWrite{key: e.Key(), owner: string(e.Value()), rev: e.Revision(), op: e.Operation(), created: e.Created()})
			mu.Unlock()
		}
	}()
	r.t.Cleanup(func() { _ = w.Stop() })
	return func() []leaseWrite {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// checkLeaseHandover judges one call's lease writes: from owns it until
// the lease lapses (its last write at least a lease time before to's first
// one: never two live leases), then only to writes it while it holds it;
// from renews nothing once woken.
func checkLeaseHandover(writes []leaseWrite, call ari.ChannelID, from, to string, woke time.Time) (string, error) {
	var mine []leaseWrite
	for _, w := range writes {
		if w.key == string(call) {
			mine = append(mine, w)
		}
	}
	first := slices.IndexFunc(mine, func(w leaseWrite) bool { return w.op == jetstream.KeyValuePut && w.owner == to })
	if first < 0 {
		return "", fmt.Errorf("%s: %s never wrote the lease: %v", call, to, mine)
	}
	var last *leaseWrite
	for i := range mine[:first] {
		if w := mine[i]; w.op == jetstream.KeyValuePut {
			if w.owner != from {
				return "", fmt.Errorf("%s: lease written by %q before the takeover: %v", call, w.owner, mine)
			}
			last = &mine[i]
		}
	}
	if last == nil {
		return "", fmt.Errorf("%s: %s never held the lease before the takeover: %v", call, from, mine)
	}
	if gap := mine[first].created.Sub(last.created); gap < leaseTTL-250*time.Millisecond {
		return "", fmt.Errorf("%s: %s took the lease %s after %s's last renewal, within the lease time %s: %v",
			call, to, gap, from, leaseTTL, mine)
	}
	if !last.created.Before(woke) {
		return "", fmt.Errorf("%s: %s renewed the lease after waking: %v", call, from, mine)
	}
	// From the takeover on, nobody else may write the lease while it is
	// to's. Once to released it (the call ended), any instance may claim
	// it from the index like any lease nobody holds (a compare-and-set
	// create; seen once under load: the woken instance claimed the ended
	// call, found no snapshot and released it at once).
	held := to
	for _, w := range mine[first:] {
		switch {
		case w.op != jetstream.KeyValuePut:
			held = ""
		case held == to && w.owner != to:
			return "", fmt.Errorf("%s: %q wrote the lease (revision %d) while %s held it: %v", call, w.owner, w.rev, to, mine)
		default:
			held = w.owner
		}
	}
	n := map[string]int{}
	for _, w := range mine {
		if w.op == jetstream.KeyValuePut {
			n[w.owner]++
		} else {
			n[w.op.String()]++
		}
	}
	return fmt.Sprintf("writes %v; %s took it %s after %s's last renewal (revision %d → %d)", n, to,
		mine[first].created.Sub(last.created).Round(time.Millisecond), from, last.rev, mine[first].rev), nil
}

// frozen waits until the kernel reports the process stopped.
func frozen(ctx context.Context, pid int) error {
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		// pid (comm) state ...: comm may hold spaces, the state follows its ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == 'T' {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("process %d never stopped: %s", pid, s)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logLine is what the fence test reads of an instance's log lines.
type logLine struct {
	Message  string    `json:"message"`
	Time     time.Time `json:"time"`
	CallID   string    `json:"call_id"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Duration float64   `json:"duration"` // milliseconds (zerolog's default)
}

// logSince reads an instance's log lines written after offset.
func logSince(path string, offset int64) ([]logLine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < offset {
		return nil, fmt.Errorf("%s shrank", path)
	}
	var out []logLine
	for _, s := range strings.Split(string(b[offset:]), "\n") {
		var l logLine
		if json.Unmarshal([]byte(s), &l) == nil && l.Message != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// bridgeSet is Asterisk's bridges: id → its channels, sorted.
func bridgeSet(ctx context.Context, c *ari.Client) (map[ari.BridgeID]string, error) {
	bs, err := c.Bridges.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[ari.BridgeID]string{}
	for _, b := range bs {
		chs := make([]string, len(b.Channels))
		for i, ch := range b.Channels {
			chs[i] = string(ch)
		}
		sort.Strings(chs)
		out[b.ID] = strings.Join(chs, ",")
	}
	return out, nil
}

func TestFrozenOwnerIsFenced(t *testing.T) {
	t.Parallel()
	ctx := within(t, 5*time.Minute)
	r := newClusterRig(t, ctx, "fz-node-a")
	node := r.nodes[0]
	r.cfgPath = r.writeTakeoverConfig() // debug: every ARI request is logged
	leases := r.recordLeases(ctx)

	i1 := r.startInstance("i1")
	ringing, err := r.talking(ctx, node, 81)
	if err != nil {
		t.Fatal(err)
	}
	consulting, err := r.talking(ctx, node, 82)
	if err != nil {
		t.Fatal(err)
	}
	timed, err := r.talking(ctx, node, 83)
	if err != nil {
		t.Fatal(err)
	}
	calls := []*clusterCall{ringing, consulting, timed}
	for _, c := range calls {
		if strings.ContainsFunc(string(c.id), func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			t.Fatalf("call id %q is not its own lease key; the lease check needs one", c.id)
		}
	}
	for _, c := range []*clusterCall{ringing, consulting} {
		if err := r.startTransfer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := consulting.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, consulting.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, ringing.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}
	i2 := r.startInstance("i2")
	for id, o := range r.owners(ctx, calls) {
		if o != "i1" {
			t.Fatalf("call %s owned by %q before the freeze, want i1", id, o)
		}
	}
	// The third transfer's no-answer timer runs out while i1 is frozen: i1
	// finds it fired when it wakes (i2 carries it out: Bob back with Alice).
	const noAnswer = 10 * time.Second
	timedAt := time.Now()
	if err := apiTransfer(ctx, i1, timed, noAnswer); err != nil {
		t.Fatal(err)
	}
	if timed.carol, err = node.phones.WaitRing(ctx, clusterTag, timed.carolNum); err != nil {
		t.Fatal(err)
	}
	timed.carolLegID = ari.ChannelID(strings.TrimSuffix(string(timed.carol.ID), "-2"))
	if err := r.waitState(ctx, timed.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}

	// i1 listens to each call's dialog (checked again once it gave them up).
	waitFor(t, ctx, func() error {
		_, subs, err := dialogSubscriptions(r.ns.NATS())
		if err != nil {
			return err
		}
		for _, c := range calls {
			if !slices.Contains(subs, "transferd-i1:ari.dialogevent."+string(c.id)) {
				return fmt.Errorf("i1 does not listen to %s's dialog: %v", c.name, subs)
			}
		}
		return nil
	})

	// Freeze i1. Its log from here on is what it wrote after waking (a
	// request in flight at the freeze is logged then too: told apart by its
	// start, before the freeze).
	st, err := os.Stat(i1.log)
	if err != nil {
		t.Fatal(err)
	}
	offset := st.Size()
	stoppedAt := time.Now()
	if err := i1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := frozen(ctx, i1.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// Woken in any case, so the rig's cleanup (SIGKILL) and i1's log work.
	t.Cleanup(func() { _ = i1.cmd.Process.Signal(syscall.SIGCONT) })
	if d := stoppedAt.Sub(timedAt); d > noAnswer-time.Second {
		t.Fatalf("the machine took %s from the third transfer's start to the freeze: its %s timer was not left to run out during the freeze", d.Round(time.Millisecond), noAnswer)
	}

	// i2 takes the calls over once their leases lapse.
	waitFor(t, ctx, func() error {
		for _, c := range calls {
			info, err := reportOf(ctx, i2, c.id)
			// (the timed transfer may have run out under i2 already)
			if err != nil || info == nil || info.Transfer == nil && c != timed {
				return fmt.Errorf("%s not carried by i2 yet (%v, %+v); owners %v", c.name, err, info, r.owners(ctx, calls))
			}
		}
		for id, o := range r.owners(ctx, calls) {
			if o != "i2" {
				return fmt.Errorf("call %s owned by %q", id, o)
			}
		}
		return nil
	})
	took := time.Since(stoppedAt)

	// The calls move on under i2 while i1 is frozen: events i1 will find
	// waiting when it wakes. The ringing target answers. The consulting
	// transferor hangs up, completing that transfer; then the transferee
	// hangs up too and that call ends under i2 (its lease released, its
	// snapshot deleted).
	if err := ringing.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, ringing.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	completeByHangup(t, ctx, i2, consulting)
	waitFor(t, ctx, func() error {
		info, err := reportOf(ctx, i2, consulting.id)
		switch {
		case err != nil:
			return err
		case info != nil && info.State != "ended":
			// (nil: gone from the API, ended)
			return fmt.Errorf("%s not ended under i2: %+v", consulting.name, info)
		}
		if o, err := r.observer.Owner(ctx, string(consulting.id)); err != nil || o != "" {
			return fmt.Errorf("%s ended, its lease still held by %q (%v)", consulting.name, o, err)
		}
		if _, err := r.observer.Load(ctx, string(consulting.id)); err == nil {
			return fmt.Errorf("%s ended, its snapshot still there", consulting.name)
		}
		return nil
	})
	// Asterisk as i2 has it now: the consulting call gone, the other one
	// consulting (its snapshot is written ahead of its effects, so wait
	// for Asterisk to match i2's report).
	waitFor(t, ctx, func() error {
		info, err := reportOf(ctx, i2, ringing.id)
		if err != nil || info == nil {
			return fmt.Errorf("i2's report of %s: %+v (%v)", ringing.name, info, err)
		}
		l, err := readLayout(ctx, node.direct, ringing.id)
		if err != nil {
			return err
		}
		if d := mismatch(info, l); d != "" {
			return fmt.Errorf("%s: %s; Asterisk: %s", ringing.name, d, l)
		}
		if l, err := readLayout(ctx, node.direct, consulting.id); err != nil || len(l.bridges) > 0 || len(l.chans) > 0 {
			return fmt.Errorf("%s ended, Asterisk still has %s (%v)", consulting.name, l, err)
		}
		return nil
	})
	// The third transfer runs out of time under i2: Carol is let go, Bob
	// is back with Alice.
	waitOutcome(t, ctx, i2, timed, "failed:no-answer")
	if err := together(ctx, node.direct, timed.id, timed.bobLeg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() error {
		info, err := reportOf(ctx, i2, timed.id)
		if err != nil || info == nil {
			return fmt.Errorf("i2's report of %s: %+v (%v)", timed.name, info, err)
		}
		l, err := readLayout(ctx, node.direct, timed.id)
		if err != nil {
			return err
		}
		if d := mismatch(info, l); d != "" {
			return fmt.Errorf("%s: %s; Asterisk: %s", timed.name, d, l)
		}
		return nil
	})
	before, err := bridgeSet(ctx, node.direct)
	if err != nil {
		t.Fatal(err)
	}

	// Wake i1: it gives every call up.
	wokeAt := time.Now()
	if err := i1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("i1 frozen for %s; i2 carried the three calls %s after the freeze", wokeAt.Sub(stoppedAt).Round(time.Millisecond), took.Round(time.Millisecond))
	// Each call either given up (right) or carried on to its end (wrong:
	// judged below, with what i1 sent meanwhile).
	gctx, gcancel := context.WithTimeout(ctx, 60*time.Second)
	defer gcancel()
	carried := map[string]bool{}
	waitFor(t, gctx, func() error {
		lines, err := logSince(i1.log, offset)
		if err != nil {
			return err
		}
		for _, c := range calls {
			if slices.ContainsFunc(lines, func(l logLine) bool { return l.CallID == string(c.id) && l.Message == "call ended" }) {
				carried[c.name] = true
				continue
			}
			if !slices.ContainsFunc(lines, func(l logLine) bool {
				return l.CallID == string(c.id) && l.Message == "call left in Stasis for another instance or the next start"
			}) {
				return fmt.Errorf("i1 has not given %s up yet", c.name)
			}
		}
		return nil
	})
	for name := range carried {
		t.Errorf("i1 carried %s on to its end after waking", name)
	}
	// Calls given up leave their dialogs: i1 no longer listens to them.
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	waitFor(t, sctx, func() error {
		_, subs, err := dialogSubscriptions(r.ns.NATS())
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if strings.HasPrefix(sub, "transferd-i1:") {
				return fmt.Errorf("i1 still subscribed after giving its calls up: %v", subs)
			}
		}
		return nil
	})
	// Asterisk stays as i2 left it while i1 runs on.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		now, err := bridgeSet(ctx, node.direct)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(now, before) {
			t.Errorf("Asterisk's bridges changed after i1 woke:\nbefore %v\nnow    %v", before, now)
			break
		}
	}
	// i1 did nothing to any call once woken: no ARI request on their
	// channels or bridges (all named under the call id) started after the
	// freeze, and it said why it let them go.
	lines, err := logSince(i1.log, offset)
	if err != nil {
		t.Fatal(err)
	}
	var fences []string
	acted := map[string][]string{} // call → the requests i1 sent for it
	refused := 0                   // requests its lease guard kept back
	for _, l := range lines {
		if l.Message == "ari request" {
			start := l.Time.Add(-time.Duration(l.Duration * float64(time.Millisecond)))
			for _, c := range calls {
				if strings.Contains(l.Path, string(c.id)) && start.After(stoppedAt.Add(time.Second)) {
					acted[c.name] = append(acted[c.name], l.Time.Format("15:04:05.000 ")+l.Method+" "+l.Path)
				}
			}
		}
		if l.Message == "ari request not sent" {
			refused++
		}
		if l.CallID != "" && strings.Contains(l.Message, "giving") {
			fences = append(fences, l.CallID+": "+l.Message)
		}
	}
	for name, reqs := range acted {
		t.Errorf("i1 acted on %s after waking: %d requests: %s", name, len(reqs), strings.Join(reqs[:min(len(reqs), 8)], "; "))
	}
	t.Logf("i1 after waking: %d log lines, %d requests kept back by the lease guard; %s", len(lines), refused, strings.Join(fences, "; "))
	for _, c := range calls {
		if !slices.ContainsFunc(fences, func(f string) bool { return strings.HasPrefix(f, string(c.id)+": ") }) {
			t.Errorf("i1 never said it gave %s up", c.name)
		}
	}
	for _, c := range calls {
		if info, err := reportOf(ctx, i1, c.id); err != nil || info != nil {
			t.Errorf("i1 still reports %s after waking: %+v (%v)", c.name, info, err)
		}
	}

	// i2 finishes the other transfer: the transferor hangs up, the
	// transferee and the target talk.
	completeByHangup(t, ctx, i2, ringing)
	for _, ph := range node.phones.PhonesOf(clusterTag) {
		if !ph.Gone() {
			_ = ph.Hangup(ctx, "normal")
		}
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() error {
		for id, o := range r.owners(ctx, calls) {
			if o != "" {
				return fmt.Errorf("call %s over, its lease still held by %q", id, o)
			}
		}
		return nil
	})

	writes := leases()
	for _, c := range calls {
		summary, err := checkLeaseHandover(writes, c.id, "i1", "i2", wokeAt)
		if err != nil {
			t.Error(err)
		}
		t.Logf("%s's lease: %s", c.name, summary)
	}
}

// completeByHangup has the transferor hang up during the consultation:
// the transferee and the target must then talk, and the instance report
// the transfer completed (asked before the call ends: an ended call is
// gone from the API).
func completeByHangup(t *testing.T, ctx context.Context, in *instance, c *clusterCall) {
	t.Helper()
	if err := c.alice.Hangup(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
	if err := together(ctx, c.node.direct, c.bobLeg, c.carolLegID); err != nil {
		t.Fatal(err)
	}
	waitOutcome(t, ctx, in, c, "completed")
	if err := c.bob.Hangup(ctx, "normal"); err != nil {
		t.Fatal(err)
	}
}

// waitOutcome waits until an instance reports the call's last transfer
// with the outcome.
func waitOutcome(t *testing.T, ctx context.Context, in *instance, c *clusterCall, want string) {
	t.Helper()
	waitFor(t, ctx, func() error {
		info, err := reportOf(ctx, in, c.id)
		switch {
		case err != nil:
			return err
		case info == nil || info.LastTransfer == nil || info.LastTransfer.Outcome != want:
			return fmt.Errorf("%s: %s reports %+v, want the last transfer %s", c.name, in.id, info, want)
		}
		return nil
	})
}

// apiTransfer starts an attended transfer of c to its Carol through an
// instance's API, with a no-answer timeout.
func apiTransfer(ctx context.Context, in *instance, c *clusterCall, noAnswer time.Duration) error {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{
		"action": "transfer", "target": c.carolNum, "no_answer_timeout": noAnswer.String()}})
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+in.http+channelPath(account, c.id), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", takeoverToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: POST transfer %s: %d %s", c.name, body, res.StatusCode, b)
	}
	return nil
}

func (w leaseWrite) String() string {
	if w.op != jetstream.KeyValuePut {
		return fmt.Sprintf("%d %s at %s", w.rev, w.op, w.created.Format("15:04:05.000"))
	}
	return fmt.Sprintf("%d %s at %s", w.rev, w.owner, w.created.Format("15:04:05.000"))
}

// freeze stops an instance's process with SIGSTOP and waits until the
// kernel has stopped it; it is woken at the test's end in any case.
func freeze(t *testing.T, ctx context.Context, in *instance) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := frozen(ctx, in.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.cmd.Process.Signal(syscall.SIGCONT) })
}

// A lone owner frozen past its leases gives its calls up when woken (it
// cannot know nobody took them meanwhile) and takes them back from their
// snapshots as orphans: the transfers go on and finish.
func TestFrozenLoneOwnerTakesItsCallsBack(t *testing.T) {
	t.Parallel()
	ctx := within(t, 4*time.Minute)
	r := newClusterRig(t, ctx, "fl-node-a")
	node := r.nodes[0]
	r.cfgPath = r.writeTakeoverConfig()
	i1 := r.startInstance("i1")
	ringing, err := r.talking(ctx, node, 86)
	if err != nil {
		t.Fatal(err)
	}
	consulting, err := r.talking(ctx, node, 87)
	if err != nil {
		t.Fatal(err)
	}
	calls := []*clusterCall{ringing, consulting}
	for _, c := range calls {
		if err := r.startTransfer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := consulting.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, consulting.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, ringing.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(i1.log)
	if err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	freeze(t, ctx, i1)
	// Frozen until both leases have lapsed.
	waitFor(t, ctx, func() error {
		for id, o := range r.owners(ctx, calls) {
			if o != "" {
				return fmt.Errorf("call %s still leased to %q", id, o)
			}
		}
		return nil
	})
	wokeAt := time.Now()
	if err := i1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// i1 gives each call up, then claims it back as an orphan.
	waitFor(t, ctx, func() error {
		lines, err := logSince(i1.log, st.Size())
		if err != nil {
			return err
		}
		for _, c := range calls {
			gaveUp := slices.IndexFunc(lines, func(l logLine) bool {
				return l.CallID == string(c.id) && l.Message == "call left in Stasis for another instance or the next start"
			})
			took := slices.IndexFunc(lines, func(l logLine) bool {
				return l.CallID == string(c.id) && l.Message == "took over a call whose owner stopped"
			})
			if gaveUp < 0 || took < gaveUp {
				return fmt.Errorf("%s: given up at line %d, taken back at line %d of i1's log since the freeze", c.name, gaveUp, took)
			}
		}
		for id, o := range r.owners(ctx, calls) {
			if o != "i1" {
				return fmt.Errorf("call %s leased to %q", id, o)
			}
		}
		return nil
	})
	t.Logf("i1 frozen for %s; it had both calls back %s after waking", wokeAt.Sub(stoppedAt).Round(time.Millisecond), time.Since(wokeAt).Round(time.Millisecond))

	// The transfers go on: the ringing target answers, then both
	// transferors hang up, and each transferee talks with its target.
	if err := ringing.carol.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.waitState(ctx, ringing.id, "Consulting"); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		completeByHangup(t, ctx, i1, c)
	}
	for _, ph := range node.phones.PhonesOf(clusterTag) {
		if !ph.Gone() {
			_ = ph.Hangup(ctx, "normal")
		}
	}
	if err := r.noLeaks(ctx); err != nil {
		t.Fatal(err)
	}
}

// The judge of lease writes, on the sequences the fence test met.
func TestCheckLeaseHandover(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	put := func(owner string, rev uint64, ms int) leaseWrite {
		return leaseWrite{key: "c", owner: owner, rev: rev, op: jetstream.KeyValuePut, created: at(ms)}
	}
	purge := func(rev uint64, ms int) leaseWrite {
		return leaseWrite{key: "c", rev: rev, op: jetstream.KeyValuePurge, created: at(ms)}
	}
	woke := at(15000)
	base := []leaseWrite{put("i1", 2, 0), put("i1", 6, 1000), put("i2", 14, 6000), put("i2", 18, 7000)}
	for _, tc := range []struct {
		name   string
		writes []leaseWrite
		ok     bool
	}{
		{"takeover", base, true},
		{"claimed after to released it", append(slices.Clone(base), purge(19, 7100), put("i1", 26, 16000), purge(27, 16030)), true},
		{"written while to held it", append(slices.Clone(base), put("i1", 19, 16000)), false},
		{"taken within the lease time", []leaseWrite{put("i1", 2, 0), put("i2", 3, 1000)}, false},
		{"renewed after waking", []leaseWrite{put("i1", 2, 0), put("i1", 3, 16000), put("i2", 4, 30000)}, false},
	} {
		_, err := checkLeaseHandover(tc.writes, "c", "i1", "i2", woke)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
