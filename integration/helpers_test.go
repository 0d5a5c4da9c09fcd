package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/transferd/transferd/ari"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// waitFor polls cond until it returns nil or ctx ends (nats.go's helper).
func waitFor(t *testing.T, ctx context.Context, cond func() error) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("condition not met: %v", last)
		case <-tick.C:
		}
	}
}

// checkNoLeaks waits until Asterisk has no channel or bridge of the tag
// (its handsets' microphones included) and every phone of the tag has hung
// up.
func checkNoLeaks(t *testing.T, c *ari.Client, tag string) {
	t.Helper()
	if t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	waitFor(t, ctx, func() error {
		chans, err := c.Channels.List(ctx)
		if err != nil {
			return err
		}
		var left []string
		for _, ch := range chans {
			if strings.HasPrefix(string(ch.ID), tag+"-") {
				left = append(left, string(ch.ID)+"("+ch.Name+")")
			}
		}
		for _, ph := range phones.PhonesOf(tag) {
			if !ph.Gone() {
				left = append(left, "phone "+string(ph.ID))
			}
		}
		bridges, err := c.Bridges.List(ctx)
		if err != nil {
			return err
		}
		for _, b := range bridges {
			if strings.HasPrefix(string(b.ID), tag+"-") || strings.HasPrefix(string(b.ID), string(MicBridge(ari.ChannelID(tag+"-")))) {
				left = append(left, "bridge "+string(b.ID))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("leaked: %s", strings.Join(left, ", "))
		}
		return nil
	})
}

// announcerChannels lists the Announcer/ channels Asterisk has (bridge
// music and bridge playbacks), which ARI does not list.
func announcerChannels(ctx context.Context) ([]string, error) {
	out, err := sandbox.CLI(ctx, "core show channels concise")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		// Each announcer is an unreal pair, <name>;1 and <name>;2: count it once.
		if strings.HasPrefix(line, "Announcer/") && strings.Contains(line, ";1!") {
			names = append(names, strings.SplitN(line, ";1!", 2)[0])
		}
	}
	return names, nil
}

// wantAnnouncers checks the number of Announcer/ channels. Only tests that
// do not run beside bridge music of other tests may use it.
func wantAnnouncers(ctx context.Context, n int) error {
	names, err := announcerChannels(ctx)
	if err != nil {
		return err
	}
	if len(names) != n {
		return fmt.Errorf("announcer channels %v, want %d", names, n)
	}
	return nil
}

// duplicateLogKeys returns the first JSON log line of b that has a key
// twice at its top level (zerolog appends a field as often as it is
// added: a logger given a key its caller already set writes both), or "".
func duplicateLogKeys(b []byte) string {
	for _, line := range bytes.Split(b, []byte("\n")) {
		dec := json.NewDecoder(bytes.NewReader(line))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			continue
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			key, _ := tok.(string)
			if seen[key] {
				return fmt.Sprintf("%q in %s", key, line)
			}
			seen[key] = true
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
		}
	}
	return ""
}
