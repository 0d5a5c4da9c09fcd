package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
)

// Kill during takeover behind NATS (issue 10): transferd instances share
// calls over NATS in front of one Asterisk node. The owner of four calls
// (ringing, consulting, a transfer code just pressed, a completion just
// pressed) is killed with SIGKILL; a second instance starts taking them
// over and is itself killed as soon as it owns the first of them; a third
// instance takes everything over. Every call must then converge: Asterisk
// (read directly) matches what the new owner's API reports, nobody is
// stranded or dropped, and nothing leaks at the end.

const takeoverToken = "kt-token"

func (r *clusterRig) writeTakeoverConfig() string {
	cfg := fmt.Sprintf(`ari:
  app: %s
log:
  level: debug
nats:
  url: %s
  lease_ttl: %s
defaults:
  dial_template: Local/{number}@transferd-test-phones/n
  variables: {TD_TEST: %s}
  metaflows:
    digit_timeout: 3s
  transfer:
    no_answer_timeout: 120s
    loop_delay: 1s
accounts:
  acct:
    tokens: [%q]
`, clusterApp, r.url, leaseTTL, clusterTag, takeoverToken)
	p := filepath.Join(r.t.TempDir(), "transferd.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// reportOf GETs a call from an instance's API: nil when it says the call
// is over.
func reportOf(ctx context.Context, in *instance, call ari.ChannelID) (*app.CallInfo, error) {
	return apiCallInfo(ctx, "http://"+in.http, takeoverToken, call)
}

func TestKillDuringTakeover(t *testing.T) {
	t.Parallel()
	ctx := within(t, 6*time.Minute)
	r := newClusterRig(t, ctx, "kt-node-a")
	node := r.nodes[0]
	r.cfgPath = r.writeTakeoverConfig()

	r.startInstance("i1")
	calls := make([]*clusterCall, 4)
	for k := range calls {
		c, err := r.talking(ctx, node, 61+k)
		if err != nil {
			t.Fatal(err)
		}
		calls[k] = c
	}
	ringing, consulting, coding, completing := calls[0], calls[1], calls[2], calls[3]
	for _, c := range []*clusterCall{ringing, consulting, completing} {
		if err := r.startTransfer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*clusterCall{consulting, completing} {
		if err := c.carol.Answer(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.waitState(ctx, c.id, "Consulting"); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.waitState(ctx, ringing.id, "CallingTarget"); err != nil {
		t.Fatal(err)
	}
	// The code's digits but the last, and the complete code's binding key.
	if err := coding.alice.Press(ctx, "*2"+coding.carolNum); err != nil {
		t.Fatal(err)
	}
	if err := completing.alice.Press(ctx, "*"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	r.startInstance("i2")
	for _, d := range []struct {
		c     *clusterCall
		digit string
	}{{coding, "#"}, {completing, "4"}} {
		if err := node.direct.Channels.SendDTMF(ctx, d.c.alice.ID, ari.DTMFParams{DTMF: d.digit, Duration: 80}); err != nil {
			t.Fatal(err)
		}
	}
	// Asterisk stamps a single digit's event about 200ms after SendDTMF
	// returns (the sweep's calibration); transferd's effects follow within
	// tens of ms: kill i1 in the middle of them.
	time.Sleep(215 * time.Millisecond)
	r.kill(r.insts["i1"])
	killed := time.Now()

	// i2 takes over once the leases expire; kill it as soon as it owns one
	// call: the takeover is under way.
	var firstTaken time.Duration
	waitFor(t, ctx, func() error {
		for _, o := range r.owners(ctx, calls) {
			if o == "i2" {
				firstTaken = time.Since(killed)
				return nil
			}
		}
		return fmt.Errorf("i2 owns nothing yet: %v", r.owners(ctx, calls))
	})
	r.kill(r.insts["i2"])
	t.Logf("i1 killed; i2 owned its first call after %s and was killed then (owners %v)", firstTaken.Round(time.Millisecond), r.owners(ctx, calls))

	i3 := r.startInstance("i3")
	waitFor(t, ctx, func() error {
		for id, o := range r.owners(ctx, calls) {
			if o != "i3" {
				return fmt.Errorf("call %s owned by %q", id, o)
			}
		}
		return nil
	})
	took := time.Since(killed)
	t.Logf("every call owned by i3 %s after i1's kill", took.Round(time.Millisecond))

	// Each call converges under i3.
	for _, c := range calls {
		var diff string
		var info *app.CallInfo
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			var err error
			info, err = reportOf(ctx, i3, c.id)
			l, lerr := readLayout(ctx, node.direct, c.id)
			switch {
			case err != nil:
				diff = err.Error()
			case lerr != nil:
				diff = lerr.Error()
			default:
				diff = mismatch(info, l)
				if st := stranded(l, c.id); len(st) > 0 {
					diff += " stranded: " + strings.Join(st, "; ")
				}
				if diff != "" {
					diff += " Asterisk: " + l.String()
				}
			}
			if diff == "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if diff != "" {
			t.Errorf("%s (%s) after the takeover: %s", c.id, c.name, diff)
			continue
		}
		state := "none"
		if info.Transfer != nil {
			state = info.Transfer.State
		}
		last := ""
		if info.LastTransfer != nil {
			last = info.LastTransfer.Outcome
		}
		t.Logf("%s converged under i3 in %s: transfer %s, last outcome %q", c.name, time.Since(start).Round(time.Millisecond), state, last)
		for _, ph := range []*Phone{c.bob} {
			if ph.Gone() {
				t.Errorf("%s: %s dropped by the takeover", c.name, ph.ID)
			}
		}
	}
	// Specific outcomes: the ringing and consulting transfers are still
	// running; the completion pressed before the kill either completed
	// (known to the API) or did not happen (still Consulting).
	if info, err := reportOf(ctx, i3, ringing.id); err == nil && (info == nil || info.Transfer == nil || info.Transfer.State != "CallingTarget") {
		t.Errorf("ringing transfer after the takeover: %+v", info)
	}
	if info, err := reportOf(ctx, i3, consulting.id); err == nil && (info == nil || info.Transfer == nil || info.Transfer.State != "Consulting") {
		t.Errorf("consulting transfer after the takeover: %+v", info)
	}
	if info, err := reportOf(ctx, i3, completing.id); err == nil {
		done := info != nil && info.LastTransfer != nil && info.LastTransfer.Outcome == "completed"
		still := info != nil && info.Transfer != nil && info.Transfer.State == "Consulting"
		if !done && !still {
			t.Errorf("completion pressed before the kill: the API says %+v", info)
		}
	}

	// The end: everyone hangs up, nothing stays in Asterisk or in NATS.
	for _, c := range calls {
		for _, ph := range node.phones.PhonesOf(clusterTag) {
			if strings.HasPrefix(string(ph.ID), string(c.id)) || ph == c.alice {
				if !ph.Gone() {
					_ = ph.Hangup(ctx, "normal")
				}
			}
		}
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
