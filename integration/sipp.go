package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// SIPp (Debian sip-tester) as a phone that keys DTMF at exact timings. The
// RFC 4733 events are written into a pcap here, with every RTP timestamp,
// duration and send time computed from the key down / gap under test, and
// SIPp plays the pcap into the call (play_pcap_audio) pacing the packets by
// their capture times. res_rtp_asterisk decides where a digit begins and
// ends from those RTP timestamps and the end bit, and the duration it
// reports from the event's duration field, so both are exact whatever the
// load. What Asterisk's channel core then does with a digit (stretching it
// to mindtmfduration, holding back one that follows within 45 ms and
// reporting it again) goes by its wall clock when it reads each packet:
// SIPpDTMFArrivals reads those times back from Asterisk's log.

// SIPpDTMF is one run of digits keyed at one timing.
type SIPpDTMF struct {
	Digits  string
	On, Off time.Duration // key down, key up between digits
}

// sippLead is the silence before the first digit (media settles), sippTail
// the silence after the last.
const (
	sippLead     = 600 * time.Millisecond
	sippTail     = 400 * time.Millisecond
	sippEventPT  = 101
	sippAudioPT  = 0
	sippPacketMs = 10 // RFC 4733 packet interval while a key is down
)

// WritePcap writes the RTP stream of d (PCMU silence every 20 ms between
// digits, RFC 4733 events of payload type 101 every 10 ms while a key is
// down and the end packet three times) as a pcap SIPp can play.
func (d SIPpDTMF) WritePcap(path string) error {
	type pkt struct {
		at   time.Duration
		body []byte
	}
	var pkts []pkt
	var seq uint16 = 1
	const ssrc = 0x7d7d0001
	rtp := func(at time.Duration, pt byte, marker bool, ts uint32, payload []byte) {
		h := make([]byte, 12, 12+len(payload))
		h[0] = 0x80
		h[1] = pt
		if marker {
			h[1] |= 0x80
		}
		binary.BigEndian.PutUint16(h[2:], seq)
		binary.BigEndian.PutUint32(h[4:], ts)
		binary.BigEndian.PutUint32(h[8:], ssrc)
		seq++
		pkts = append(pkts, pkt{at: at, body: append(h, payload...)})
	}
	samples := func(t time.Duration) uint32 { return uint32(t / time.Millisecond * 8) }
	silence := bytes.Repeat([]byte{0xff}, 160)
	// Silence in [from, to): one 20 ms frame per tick that fits.
	quiet := func(from, to time.Duration) {
		for t := from; t+20*time.Millisecond <= to; t += 20 * time.Millisecond {
			rtp(t, sippAudioPT, false, samples(t), silence)
		}
	}
	at := sippLead
	quiet(0, at)
	for i, r := range d.Digits {
		ev, ok := dtmfCode(r)
		if !ok {
			return fmt.Errorf("pcap: %q is no DTMF digit", r)
		}
		start := samples(at)
		for t := time.Duration(0); t < d.On; t += sippPacketMs * time.Millisecond {
			rtp(at+t, sippEventPT, t == 0, start, dtmfPayload(ev, false, samples(t)))
		}
		for k := 0; k < 3; k++ {
			rtp(at+d.On, sippEventPT, false, start, dtmfPayload(ev, true, samples(d.On)))
		}
		next := at + d.On + d.Off
		if i == len(d.Digits)-1 {
			next = at + d.On + sippTail
		}
		quiet(at+d.On+5*time.Millisecond, next)
		at = next
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].at < pkts[j].at })

	var b bytes.Buffer
	// pcap global header: little endian, version 2.4, Ethernet.
	_ = binary.Write(&b, binary.LittleEndian, []uint32{0xa1b2c3d4})
	_ = binary.Write(&b, binary.LittleEndian, []uint16{2, 4})
	_ = binary.Write(&b, binary.LittleEndian, []uint32{0, 0, 65535, 1})
	base := time.Unix(1_700_000_000, 0)
	for _, p := range pkts {
		frame := udpFrame(p.body)
		ts := base.Add(p.at)
		_ = binary.Write(&b, binary.LittleEndian, []uint32{uint32(ts.Unix()), uint32(ts.Nanosecond() / 1000), uint32(len(frame)), uint32(len(frame))})
		b.Write(frame)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Duration is how long the pcap plays.
func (d SIPpDTMF) Duration() time.Duration {
	n := time.Duration(len(d.Digits))
	return sippLead + n*(d.On+d.Off) - d.Off + sippTail
}

func dtmfCode(d rune) (byte, bool) {
	switch {
	case d >= '0' && d <= '9':
		return byte(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return byte(12 + d - 'A'), true
	}
	return 0, false
}

// dtmfPayload is an RFC 4733 event: event, E bit and volume 10, duration.
func dtmfPayload(ev byte, end bool, duration uint32) []byte {
	b := []byte{ev, 10, 0, 0}
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], uint16(duration))
	return b
}

// udpFrame wraps payload in Ethernet, IPv4 and UDP headers (SIPp replaces
// the addresses and ports with the call's).
func udpFrame(payload []byte) []byte {
	var f bytes.Buffer
	f.Write(make([]byte, 12))
	f.Write([]byte{0x08, 0x00})
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	f.Write(ip)
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], 6000)
	binary.BigEndian.PutUint16(udp[2:], 6000)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	f.Write(udp)
	f.Write(payload)
	return f.Bytes()
}

// sippScenario is a UAC that calls [service] with the given extra headers,
// plays the pcap once the call is up, and then waits for Asterisk to hang
// up (the test decides when). Anything else Asterisk sends is answered 200.
const sippScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="transferd DTMF keyer">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Alice" <sip:%[1]s@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:%[1]s@[local_ip]:[local_port]>
      Max-Forwards: 70
%[2]s      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP4 [media_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Alice" <sip:%[1]s@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:%[1]s@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop>
    <action>
      <exec play_pcap_audio="%[3]s"/>
    </action>
  </nop>
  <recv request="BYE" timeout="60000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:%[1]s@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
</scenario>
`

// SIPpCall is a running SIPp call.
type SIPpCall struct {
	cmd  *exec.Cmd
	dir  string
	done chan error
}

// StartSIPpDTMF has SIPp, as endpoint from, call to through the sandbox
// with headers, and key d once the call is up. It hangs up when Asterisk
// does.
func StartSIPpDTMF(ctx context.Context, sb *Sandbox, dir, from, to string, headers map[string]string, d SIPpDTMF) (*SIPpCall, error) {
	if _, err := exec.LookPath("sipp"); err != nil {
		return nil, fmt.Errorf("sipp is not installed (make phones installs sip-tester): %w", err)
	}
	pcap := filepath.Join(dir, "dtmf.pcap")
	if err := d.WritePcap(pcap); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var hs strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&hs, "      %s: %s\n", k, headers[k])
	}
	scen := filepath.Join(dir, "keyer.xml")
	if err := os.WriteFile(scen, []byte(fmt.Sprintf(sippScenario, from, hs.String(), pcap)), 0o644); err != nil {
		return nil, err
	}
	sipPort, err := FreeUDPPort()
	if err != nil {
		return nil, err
	}
	mediaPort, err := freeEvenUDPPort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "sipp", fmt.Sprintf("127.0.0.1:%d", sb.SIPPort),
		"-sf", scen, "-s", to, "-m", "1", "-l", "1", "-nostdin",
		"-i", "127.0.0.1", "-p", fmt.Sprint(sipPort), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort),
		"-timeout", "90s", "-timeout_error", "-trace_err", "-trace_msg")
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "sipp.out"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	c := &SIPpCall{cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		out.Close()
		c.done <- err
	}()
	return c, nil
}

// Wait waits for SIPp to finish its call; an error says it failed (an
// unexpected message, a timeout).
func (c *SIPpCall) Wait(ctx context.Context) error {
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			return fmt.Errorf("sipp: %w\n%s", err, c.Logs())
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sipp still running: %w\n%s", ctx.Err(), c.Logs())
	}
}

// Kill stops SIPp if it still runs.
func (c *SIPpCall) Kill() {
	select {
	case err := <-c.done:
		c.done <- err
	default:
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		c.done <- <-c.done
	}
}

// Logs are SIPp's error and message traces, for a failing test.
func (c *SIPpCall) Logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	files = append(files, filepath.Join(c.dir, "sipp.out"))
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil || len(body) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), lastLines(body, 60))
	}
	return b.String()
}

// freeEvenUDPPort is a free loopback UDP port p with p+1 free too (RTP and
// RTCP).
func freeEvenUDPPort() (int, error) {
	for i := 0; i < 50; i++ {
		p, err := FreeUDPPort()
		if err != nil {
			return 0, err
		}
		p &^= 1
		if portFreeUDP(p) && portFreeUDP(p+1) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free even UDP port pair")
}

func portFreeUDP(p int) bool {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// A DTMF begin or end as Asterisk's channel core read it (its log, level
// dtmf): when, which digit, on which channel.
type DTMFArrival struct {
	At    time.Time
	Begin bool
	Digit string
}

var dtmfLogLine = regexp.MustCompile(`^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\].*DTMF (begin|end) '(.)' received on (\S+?)(,|$)`)

// SIPpDTMFArrivals reads from Asterisk's log (from offset from on) the DTMF
// begins and ends its channel core read on channels whose name starts with
// prefix.
func SIPpDTMFArrivals(logPath string, from int64, prefix string) []DTMFArrival {
	body, err := os.ReadFile(logPath)
	if err != nil || int64(len(body)) < from {
		return nil
	}
	var out []DTMFArrival
	for _, line := range strings.Split(string(body[from:]), "\n") {
		m := dtmfLogLine.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(m[4], prefix) {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05.000", m[1], time.Local)
		if err != nil {
			continue
		}
		out = append(out, DTMFArrival{At: at, Begin: m[2] == "begin", Digit: m[3]})
	}
	return out
}
