package transfer

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt with the actual transcripts")

// TestTranscripts replays testdata/*.txt. Each block is a command line,
// "----", and the expected output up to a blank line; '#' lines are
// comments. Commands:
//
//	start [id=x1 transferor=A transferee=B number=2600 bridge=M] [option=value…]
//	event answered|ringing channel=C
//	event dialfailed channel=C status=BUSY
//	event left channel=C [cause=16]
//	event pressed command=cancel|complete|swap|threeway
//	event timer name=noanswer seq=1
//	event available reachable=true|false
//	snapshot
//
// start and event take fail=Type:status: the first effect of that type in
// the batch fails, and the EffectFailed fed back is shown after "> ".
// Output: the state, then "  " and each effect, then "~ " and the note when
// it is not Info. After each step the world audit must be clean.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runTranscript(t, file)
		})
	}
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var out strings.Builder
	r := &replay{t: t}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command %q not followed by ----", file, i+1, line)
		}
		at := i + 1
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		got := r.run(fmt.Sprintf("%s:%d", file, at), line)
		if !*rewrite {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s:%d: %s: output mismatch (-want +got):\n%s", file, at, line, diff)
			}
		}
		out.WriteString(line + "\n----\n" + strings.Join(got, "\n") + "\n")
		if i < len(lines) {
			out.WriteString("\n")
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type replay struct {
	t       *testing.T
	tr      Transfer
	w       *world
	started bool
}

func (r *replay) run(pos, line string) []string {
	r.t.Helper()
	fields := strings.Fields(line)
	args := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			args[f] = ""
			continue
		}
		args[k] = v
	}
	var out []string
	switch fields[0] {
	case "start":
		p := startParams(r.t, pos, args)
		var effs []Effect
		r.tr, effs = Start(p)
		r.w = newWorld(r.tr)
		r.started = true
		out = append(out, r.tr.State.String())
		out = append(out, effectLines(effs)...)
		out = append(out, r.execute(pos, effs, args["fail"])...)
	case "event":
		if !r.started {
			r.t.Fatalf("%s: event before start", pos)
		}
		ev := parseEvent(r.t, pos, fields[1], args)
		out = append(out, r.step(pos, ev, args["fail"])...)
	case "snapshot":
		b, err := json.Marshal(r.tr)
		if err != nil {
			r.t.Fatalf("%s: %v", pos, err)
		}
		out = append(out, string(b))
	default:
		r.t.Fatalf("%s: unknown command %q", pos, fields[0])
	}
	return out
}

// step feeds one event and its world consequences.
func (r *replay) step(pos string, ev Event, fail string) []string {
	r.w.observe(ev)
	next, effs, note := Next(r.tr, ev)
	r.tr = next
	out := []string{next.State.String()}
	out = append(out, effectLines(effs)...)
	if note.Level != LevelInfo {
		out = append(out, "~ "+note.String())
	}
	return append(out, r.execute(pos, effs, fail)...)
}

// execute runs a batch in the world, injecting fail ("Type:status"), then
// feeds back the failures and audits.
func (r *replay) execute(pos string, effs []Effect, fail string) []string {
	f := noFault
	if fail != "" {
		typ, st, _ := strings.Cut(fail, ":")
		status, err := strconv.Atoi(st)
		if err != nil {
			r.t.Fatalf("%s: bad fail=%q", pos, fail)
		}
		for i, e := range effs {
			if strings.HasPrefix(e.String(), typ+"(") {
				f = fault{index: i, status: status}
				break
			}
		}
		if f.index < 0 {
			r.t.Fatalf("%s: no %s effect to fail", pos, typ)
		}
	}
	back := r.w.exec(effs, f)
	var out []string
	for _, ev := range back {
		out = append(out, "> "+ev.String())
		out = append(out, r.step(pos, ev, "")...)
	}
	for _, p := range r.w.audit(r.tr) {
		r.t.Errorf("%s: audit: %s", pos, p)
	}
	return out
}

func effectLines(effs []Effect) []string {
	var out []string
	for _, e := range effs {
		out = append(out, "  "+e.String())
	}
	return out
}

func startParams(t *testing.T, pos string, a map[string]string) StartParams {
	t.Helper()
	get := func(k, def string) string {
		if v, ok := a[k]; ok {
			return v
		}
		return def
	}
	dur := func(k string) time.Duration {
		if a[k] == "" {
			return 0
		}
		d, err := time.ParseDuration(a[k])
		if err != nil {
			t.Fatalf("%s: %s: %v", pos, k, err)
		}
		return d
	}
	p := StartParams{
		ID: get("id", "x1"), Transferor: get("transferor", "A"), Transferee: get("transferee", "B"),
		Number: get("number", "2600"), CallBridge: get("bridge", "M"),
		Opts: Options{
			MOHClass: a["moh"], Ringback: a["ringback"], NoAnswerTimeout: dur("noanswer"),
			LoopDelay: dur("loopdelay"), Callback: a["callback"], FailSound: a["failsound"],
			CompleteSound: a["completesound"], OnTransfereeLeft: a["onleft"],
			CheckAvailability: a["check"] == "true",
		},
	}
	if v := a["retries"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: retries: %v", pos, err)
		}
		p.Opts.CallbackRetries = n
	}
	if v := a["fallback"]; v != "" {
		kind, number, _ := strings.Cut(v, ":")
		p.Opts.Fallback = FallbackOptions{Kind: kind, Number: number, Sound: a["fallbacksound"]}
	}
	return p
}

func parseEvent(t *testing.T, pos, typ string, a map[string]string) Event {
	t.Helper()
	num := func(k string) int {
		if a[k] == "" {
			return 0
		}
		n, err := strconv.Atoi(a[k])
		if err != nil {
			t.Fatalf("%s: %s: %v", pos, k, err)
		}
		return n
	}
	switch typ {
	case "answered":
		return Answered{Channel: a["channel"]}
	case "ringing":
		return Ringing{Channel: a["channel"]}
	case "dialfailed":
		return DialFailed{Channel: a["channel"], Outcome: ClassifyDial(a["status"])}
	case "left":
		return Left{Channel: a["channel"], Cause: num("cause")}
	case "pressed":
		var c Command
		if err := c.UnmarshalText([]byte(a["command"])); err != nil {
			t.Fatalf("%s: %v", pos, err)
		}
		return Pressed{Command: c}
	case "timer":
		return TimerFired{Name: a["name"], Seq: num("seq")}
	case "available":
		return AvailabilityChecked{Reachable: a["reachable"] == "true"}
	}
	t.Fatalf("%s: unknown event %q", pos, typ)
	return nil
}
