package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// baresip is a Debian baresip soft phone (a SIP user agent we did not
// write) registered to a sandbox endpoint. It answers every call and sends
// a sine tone (ausine) as its voice.
type baresip struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan error
}

// freeBaresipPort finds a port for sip_listen. baresip listens on it for
// UDP and TCP, and for TLS on the next port: all three must be free (a UDP
// port alone once met a TLS port in use, and baresip would not start).
func freeBaresipPort() (int, error) {
	for range 50 {
		port, err := FreeUDPPort()
		if err != nil {
			return 0, err
		}
		free := true
		for _, p := range []int{port, port + 1} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port p with UDP p and TCP p, p+1 free")
}

// startBaresip runs baresip as phone number, sending a tone of hz.
func startBaresip(t *testing.T, number string, hz int) *baresip {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Fatalf("baresip is not installed (make phones installs it): %v", err)
	}
	dir := t.TempDir()
	port, err := freeBaresipPort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
audio_player aubridge,nowhere
audio_source ausine,%d
audio_alert aubridge,nowhere
ausrc_srate 48000
ausrc_channels 2
audio_level no
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module aubridge.so
module_tmp account.so
module_app menu.so
`, port, hz)
	acct := fmt.Sprintf("<sip:%s@127.0.0.1:%d>;regint=60;answermode=auto;audio_codecs=PCMU;ptime=20\n", number, sandbox.SIPPort)
	for name, body := range map[string]string{"config": cfg, "accounts": acct, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.Create(filepath.Join(dir, "baresip.log"))
	if err != nil {
		t.Fatal(err)
	}
	b := &baresip{out: out, done: make(chan error, 1)}
	b.cmd = exec.Command("baresip", "-f", dir)
	b.cmd.Stdout, b.cmd.Stderr = out, out
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
		out.Close()
		if t.Failed() {
			log, _ := os.ReadFile(out.Name())
			t.Logf("baresip %s log:\n%s", number, lastLines(log, 40))
		}
	})
	// Registered once Asterisk has a contact for the endpoint.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	waitFor(t, ctx, func() error {
		outp, err := sandbox.CLI(ctx, "pjsip show contacts")
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(strings.NewReader(outp))
		for sc.Scan() {
			if strings.Contains(sc.Text(), number+"/sip:") {
				return nil
			}
		}
		return fmt.Errorf("baresip %s not registered", number)
	})
	return b
}

// SIP 10: Bob is a baresip soft phone (Debian's, not ours). Alice calls
// him, hears his tone, presses *2<Carol>#; Bob is held (no Alice), Carol
// answers, Alice hangs up: Carol hears Bob's tone.
func TestSIPBaresipTransferee(t *testing.T) {
	t.Parallel()
	s := newSIPScenario(t, "sipbs", nil)
	// baresip replaces the Go phone registered as Bob.
	s.bob.Close()
	const toneBaresip = 1300.0
	startBaresip(t, s.num(1), int(toneBaresip))

	a, err := s.alice.Dial(s.ctx, s.num(1), s.headers())
	if err != nil {
		t.Fatal(err)
	}
	call := s.callOf(s.num(0))
	s.hearsTone(a, "alice", toneBaresip)
	a.Press("*2"+s.num(2)+"#", keyDown, keyGap)
	c := s.incoming(s.carol)
	if err := c.Answer(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.transferState(asChannel(call), "Consulting")
	s.hears(a, "alice", toneCarol)
	if err := a.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.outcomeOf(call, "completed")
	s.hearsTone(c, "carol", toneBaresip)
	if err := c.Hangup(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.ended(c, "carol")
}
