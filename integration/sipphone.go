package integration

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// SIPPhone is a SIP soft phone for the tests, on the sipgo SIP stack: it
// registers to its sandbox endpoint, calls and answers with ulaw RTP on
// 127.0.0.1, sends its own tone all the time it is in a call (so a test can
// say who hears whom), sends RFC 4733 DTMF with exact timings, sends REFER
// (blind and attended with Replaces), and records what Asterisk tells it:
// connected-line updates (P-Asserted-Identity of re-INVITE and UPDATE) and
// transfer progress (NOTIFY sipfrag).
type SIPPhone struct {
	Number string
	Tone   float64 // Hz of the sine it sends

	server   string // Asterisk's SIP address, host:port
	port     int
	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	cli      *sipgo.Client
	dua      *sipgo.DialogUA
	contact  sip.ContactHeader
	cancel   func()
	done     chan struct{}
	incoming chan *SIPCall

	mu    sync.Mutex
	calls map[string]*SIPCall // by Call-ID
}

// SIPCall is one call (dialog) of a SIPPhone.
type SIPCall struct {
	p      *SIPPhone
	CallID string
	out    *sipgo.DialogClientSession // a call the phone made
	in     *sipgo.DialogServerSession // a call the phone received
	From   string                     // the caller as the INVITE named it (received calls)
	rtp    *net.UDPConn
	stop   chan struct{}
	// settled is closed once a received call was answered or refused.
	settled     chan struct{}
	settledOnce sync.Once

	mu        sync.Mutex
	remote    *net.UDPAddr
	dtmf      []rtpPacket // queued RFC 4733 packets (with send times)
	recv      []frame     // received audio, newest last
	ended     chan struct{}
	endOnce   sync.Once
	connected []string // "name <number>" of each identity update, in order
	notifies  []string // sipfrag bodies of NOTIFYs, in order
	changed   chan struct{}
}

type frame struct {
	at      time.Time
	samples []float64
}

type rtpPacket struct {
	at     time.Time
	marker bool
	pt     byte
	ts     uint32 // relative to the event's start
	body   []byte
}

// sipgo's own log (a package-level logger) says nothing useful to a test;
// set once, before any phone's goroutines read it.
func init() { sip.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

// NewSIPPhone starts phone number (an endpoint of the sandbox pool) sending
// a tone of toneHz, and registers it.
func NewSIPPhone(ctx context.Context, sb *Sandbox, number string, toneHz float64) (*SIPPhone, error) {
	port, err := FreeUDPPort()
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(number), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		return nil, err
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port), sipgo.WithClientLogger(quiet))
	if err != nil {
		return nil, err
	}
	p := &SIPPhone{Number: number, Tone: toneHz, server: fmt.Sprintf("127.0.0.1:%d", sb.SIPPort), port: port,
		ua: ua, srv: srv, cli: cli, done: make(chan struct{}), incoming: make(chan *SIPCall, 8), calls: map[string]*SIPCall{}}
	p.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: "127.0.0.1", Port: port}}
	p.dua = &sipgo.DialogUA{Client: cli, ContactHDR: p.contact}
	srv.OnInvite(p.onInvite)
	srv.OnAck(p.onAck)
	srv.OnBye(p.onBye)
	srv.OnUpdate(p.onUpdate)
	srv.OnNotify(p.onNotify)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	lctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		_ = srv.ListenAndServe(context.WithValue(lctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready)), "udp", fmt.Sprintf("127.0.0.1:%d", port))
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		p.Close()
		return nil, fmt.Errorf("phone %s: SIP listener on %d never came up", number, port)
	}
	if err := p.register(ctx, 300); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close unregisters the phone and stops it. Calls still up are hung up.
func (p *SIPPhone) Close() {
	p.mu.Lock()
	calls := make([]*SIPCall, 0, len(p.calls))
	for _, c := range p.calls {
		calls = append(calls, c)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range calls {
		_ = c.Hangup(ctx)
	}
	_ = p.register(ctx, 0)
	p.cancel()
	<-p.done
	_ = p.cli.Close()
	_ = p.ua.Close()
}

func (p *SIPPhone) uriString(user string) string {
	u := p.uri(user)
	return u.String()
}

func (p *SIPPhone) uri(user string) sip.Uri {
	host, port, _ := net.SplitHostPort(p.server)
	n, _ := strconv.Atoi(port)
	return sip.Uri{Scheme: "sip", User: user, Host: host, Port: n}
}

func (p *SIPPhone) register(ctx context.Context, expires int) error {
	req := sip.NewRequest(sip.REGISTER, p.uri(""))
	to := &sip.ToHeader{Address: p.uri(p.Number)}
	req.AppendHeader(to)
	req.AppendHeader(&sip.FromHeader{Address: p.uri(p.Number), Params: tagParams()})
	req.AppendHeader(&p.contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := p.cli.Do(rctx, req)
	if err != nil {
		return fmt.Errorf("phone %s: register: %w", p.Number, err)
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("phone %s: register: %d %s", p.Number, res.StatusCode, res.Reason)
	}
	return nil
}

func (p *SIPPhone) call(id string) *SIPCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

func (p *SIPPhone) newCall(id string) (*SIPCall, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	c := &SIPCall{p: p, CallID: id, rtp: conn, stop: make(chan struct{}), settled: make(chan struct{}), ended: make(chan struct{}), changed: make(chan struct{})}
	p.mu.Lock()
	p.calls[id] = c
	p.mu.Unlock()
	go c.receive()
	return c, nil
}

// Dial calls number through Asterisk; headers are added to the INVITE
// (the test's X-TD-App and X-TD-Account). It returns once the call is
// answered.
func (p *SIPPhone) Dial(ctx context.Context, number string, headers map[string]string) (*SIPCall, error) {
	id := sip.GenerateTagN(16)
	c, err := p.newCall(id)
	if err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.INVITE, p.uri(number))
	req.AppendHeader(&sip.FromHeader{Address: p.uri(p.Number), Params: tagParams()})
	req.AppendHeader(&sip.ToHeader{Address: p.uri(number)})
	cid := sip.CallIDHeader(id)
	req.AppendHeader(&cid)
	req.AppendHeader(&p.contact)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY"))
	for k, v := range headers {
		req.AppendHeader(sip.NewHeader(k, v))
	}
	req.SetBody(c.sdp("sendrecv"))
	s, err := p.dua.WriteInvite(ctx, req)
	if err != nil {
		c.end()
		return nil, fmt.Errorf("phone %s: invite %s: %w", p.Number, number, err)
	}
	c.out = s
	if err := s.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		c.end()
		return nil, fmt.Errorf("phone %s: call %s: %w", p.Number, number, err)
	}
	c.takeSDP(s.InviteResponse.Body())
	c.identity(s.InviteResponse, false)
	if err := s.Ack(ctx); err != nil {
		c.end()
		return nil, err
	}
	go c.send()
	return c, nil
}

// WaitIncoming waits for the next call to the phone (it rings: 180 sent).
func (p *SIPPhone) WaitIncoming(ctx context.Context) (*SIPCall, error) {
	select {
	case c := <-p.incoming:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("phone %s never rang: %w", p.Number, ctx.Err())
	}
}

// NoIncoming checks that the phone does not ring during d.
func (p *SIPPhone) NoIncoming(d time.Duration) error {
	select {
	case c := <-p.incoming:
		return fmt.Errorf("phone %s rang (call %s) but should not have", p.Number, c.CallID)
	case <-time.After(d):
		return nil
	}
}

func (p *SIPPhone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			p.inDialog(req, tx)
			return
		}
	}
	c, err := p.newCall(req.CallID().Value())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "No RTP", nil))
		return
	}
	s, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		c.end()
		return
	}
	c.in = s
	c.From = req.From().Address.User
	c.takeSDP(req.Body())
	c.identity(req, true)
	go func() {
		select {
		case <-s.Context().Done():
			c.end() // cancelled while ringing
		case <-c.ended:
		}
	}()
	_ = s.Respond(180, "Ringing", nil)
	p.incoming <- c
	// sipgo ends the transaction when the handler returns: keep it until
	// the test answers or refuses, or the caller cancels.
	select {
	case <-c.settled:
	case <-c.ended:
	case <-s.Context().Done():
	}
}

// inDialog answers a re-INVITE or UPDATE: it takes the new media address
// and records the identity it carries (a connected-line update).
func (p *SIPPhone) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	c := p.call(req.CallID().Value())
	if c == nil || c.isEnded() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call Does Not Exist", nil))
		return
	}
	var body []byte
	if len(req.Body()) > 0 {
		mode := c.takeSDP(req.Body())
		body = c.sdp(answerMode(mode))
	}
	c.identity(req, true)
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res.AppendHeader(&p.contact)
	_ = tx.Respond(res)
}

func (p *SIPPhone) onUpdate(req *sip.Request, tx sip.ServerTransaction) { p.inDialog(req, tx) }

func (p *SIPPhone) onAck(req *sip.Request, tx sip.ServerTransaction) {
	c := p.call(req.CallID().Value())
	if c != nil && c.in != nil {
		_ = c.in.ReadAck(req, tx)
	}
}

func (p *SIPPhone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := p.call(req.CallID().Value())
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	c.end()
}

func (p *SIPPhone) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	c := p.call(req.CallID().Value())
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	c.mu.Lock()
	c.notifies = append(c.notifies, strings.TrimSpace(string(req.Body())))
	c.signal()
	c.mu.Unlock()
}

func tagParams() sip.HeaderParams {
	p := sip.NewParams()
	p.Add("tag", sip.GenerateTagN(8))
	return p
}

// answerMode is the direction answering an offer of mode.
func answerMode(mode string) string {
	switch mode {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// Answer answers a ringing call; the phone's tone flows from now on.
func (c *SIPCall) Answer(ctx context.Context) error {
	if c.in == nil {
		return errors.New("not an incoming call")
	}
	defer c.settle()
	if err := c.in.RespondSDP(c.sdp("sendrecv")); err != nil {
		return fmt.Errorf("phone %s: answer: %w", c.p.Number, err)
	}
	go c.send()
	return nil
}

// Reject refuses a ringing call with a status (486 busy, 603 decline...).
func (c *SIPCall) Reject(ctx context.Context, code int, reason string) error {
	if c.in == nil {
		return errors.New("not an incoming call")
	}
	defer c.settle()
	err := c.in.Respond(code, reason, nil)
	c.end()
	return err
}

// Hangup ends the call (BYE; CANCEL is not needed by the tests).
func (c *SIPCall) Hangup(ctx context.Context) error {
	select {
	case <-c.ended:
		return nil
	default:
	}
	defer c.end()
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	switch {
	case c.out != nil:
		return c.out.Bye(hctx)
	case c.in != nil && c.in.LoadState() == sip.DialogStateConfirmed:
		return c.in.Bye(hctx)
	case c.in != nil:
		return c.in.Respond(603, "Decline", nil)
	}
	return nil
}

// Ended is closed when the call is over (BYE either way, CANCEL, refusal).
func (c *SIPCall) Ended() <-chan struct{} { return c.ended }

// WaitEnded waits for the call to end.
func (c *SIPCall) WaitEnded(ctx context.Context) error {
	select {
	case <-c.ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("phone %s: call %s still up: %w", c.p.Number, c.CallID, ctx.Err())
	}
}

func (c *SIPCall) isEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

func (c *SIPCall) end() {
	c.endOnce.Do(func() {
		close(c.ended)
		close(c.stop)
		// The call stays known: a NOTIFY may overtake the BYE that ended
		// it (each request is handled on its own goroutine).
		_ = c.rtp.Close()
		c.mu.Lock()
		c.signal()
		c.mu.Unlock()
	})
}

func (c *SIPCall) settle() { c.settledOnce.Do(func() { close(c.settled) }) }

func (c *SIPCall) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Refer sends a blind REFER to number in this call (the Transfer key).
func (c *SIPCall) Refer(ctx context.Context, number string) (int, error) {
	return c.refer(ctx, "<"+c.p.uriString(number)+">")
}

// ReferReplace sends an attended REFER: the far end of this call is to
// replace other (the phone's consultation call), as a phone's Transfer key
// does with two calls up.
func (c *SIPCall) ReferReplace(ctx context.Context, other *SIPCall) (int, error) {
	if other.out == nil {
		return 0, errors.New("attended REFER needs the consultation call to be one the phone made")
	}
	res := other.out.InviteResponse
	to, from := res.To(), res.From()
	totag, _ := to.Params.Get("tag")
	fromtag, _ := from.Params.Get("tag")
	replaces := fmt.Sprintf("%s;to-tag=%s;from-tag=%s", other.CallID, totag, fromtag)
	target := c.p.uriString(to.Address.User) + "?Replaces=" + strings.NewReplacer(";", "%3B", "=", "%3D", "@", "%40").Replace(replaces)
	return c.refer(ctx, "<"+target+">")
}

func (c *SIPCall) refer(ctx context.Context, referTo string) (int, error) {
	req := sip.NewRequest(sip.REFER, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	req.AppendHeader(sip.NewHeader("Referred-By", "<"+c.p.uriString(c.p.Number)+">"))
	req.AppendHeader(&c.p.contact)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var res *sip.Response
	var err error
	if c.out != nil {
		res, err = c.out.Do(rctx, req)
	} else {
		res, err = c.in.Do(rctx, req)
	}
	if err != nil {
		return 0, fmt.Errorf("phone %s: REFER: %w", c.p.Number, err)
	}
	return res.StatusCode, nil
}

func (c *SIPCall) remoteTarget() sip.Uri {
	if c.out != nil {
		if ct := c.out.InviteResponse.Contact(); ct != nil {
			return ct.Address
		}
	} else if ct := c.in.InviteRequest.Contact(); ct != nil {
		return ct.Address
	}
	return c.p.uri("")
}

// Connected returns the connected-line identities the call received, in
// order ("Name <number>").
func (c *SIPCall) Connected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.connected...)
}

// WaitConnected waits until the latest identity the phone was given is want.
func (c *SIPCall) WaitConnected(ctx context.Context, want string) error {
	for {
		c.mu.Lock()
		var last string
		if n := len(c.connected); n > 0 {
			last = c.connected[n-1]
		}
		ch := c.changed
		all := append([]string(nil), c.connected...)
		c.mu.Unlock()
		if last == want {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("phone %s: connected line never became %q (saw %q)", c.p.Number, want, all)
		}
	}
}

// WaitNotify waits for a transfer-progress NOTIFY whose sipfrag contains want.
func (c *SIPCall) WaitNotify(ctx context.Context, want string) error {
	for {
		c.mu.Lock()
		ch := c.changed
		all := append([]string(nil), c.notifies...)
		c.mu.Unlock()
		for _, n := range all {
			if strings.Contains(n, want) {
				return nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("phone %s: no NOTIFY with %q (saw %q)", c.p.Number, want, all)
		}
	}
}

// identity records the P-Asserted-Identity (or else the From of a request
// from Asterisk) as the connected line.
func (c *SIPCall) identity(m interface {
	GetHeader(string) sip.Header
	From() *sip.FromHeader
}, fromAsterisk bool) {
	var v string
	if h := m.GetHeader("P-Asserted-Identity"); h != nil {
		v = h.Value()
	} else if fromAsterisk {
		if f := m.From(); f != nil {
			v = f.Value()
		}
	}
	if v == "" {
		return
	}
	id := parseIdentity(v)
	c.mu.Lock()
	if n := len(c.connected); n == 0 || c.connected[n-1] != id {
		c.connected = append(c.connected, id)
	}
	c.signal()
	c.mu.Unlock()
}

// parseIdentity turns `"Carol" <sip:7002@127.0.0.1>;tag=x` into `Carol <7002>`.
func parseIdentity(v string) string {
	name := ""
	if i := strings.Index(v, "<"); i >= 0 {
		name = strings.Trim(strings.TrimSpace(v[:i]), `"`)
		v = v[i+1:]
		if j := strings.Index(v, ">"); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimPrefix(strings.TrimPrefix(v, "sip:"), "tel:")
	if i := strings.IndexAny(v, "@;"); i >= 0 {
		v = v[:i]
	}
	return fmt.Sprintf("%s <%s>", name, v)
}

// sdp is the phone's offer or answer: ulaw and telephone-event.
func (c *SIPCall) sdp(mode string) []byte {
	port := c.rtp.LocalAddr().(*net.UDPAddr).Port
	sess := time.Now().UnixNano() / 1e6
	return []byte(fmt.Sprintf("v=0\r\no=- %d %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=%s\r\n",
		sess, sess, port, mode))
}

// takeSDP reads the far end's media address and direction.
func (c *SIPCall) takeSDP(body []byte) string {
	var host string
	port := 0
	mode := "sendrecv"
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "c=IN IP4 "):
			host = strings.TrimPrefix(line, "c=IN IP4 ")
		case strings.HasPrefix(line, "m=audio "):
			f := strings.Fields(line)
			port, _ = strconv.Atoi(f[1])
		case line == "a=sendonly", line == "a=recvonly", line == "a=inactive", line == "a=sendrecv":
			mode = strings.TrimPrefix(line, "a=")
		}
	}
	if host != "" && port > 0 {
		c.mu.Lock()
		c.remote = &net.UDPAddr{IP: net.ParseIP(host), Port: port}
		c.mu.Unlock()
	}
	return mode
}

// send streams 20 ms ulaw frames of the phone's tone, and the queued DTMF
// packets at their times (audio pauses while an event is being sent).
func (c *SIPCall) send() {
	var hdr [12]byte
	ssrc := make([]byte, 4)
	_, _ = rand.Read(ssrc)
	var seq uint16
	var base [4]byte
	_, _ = rand.Read(base[:])
	start := time.Now()
	// clock is the RTP timestamp (8 kHz) of a moment of the call.
	clock := func(t time.Time) uint32 {
		return binary.BigEndian.Uint32(base[:]) + uint32(t.Sub(start)/time.Millisecond)*8
	}
	var evTS uint32
	phase := 0.0
	step := 2 * math.Pi * c.p.Tone / 8000
	next := time.Now()
	write := func(marker bool, pt byte, stamp uint32, body []byte) {
		c.mu.Lock()
		remote := c.remote
		c.mu.Unlock()
		if remote == nil {
			return
		}
		hdr[0] = 0x80
		hdr[1] = pt
		if marker {
			hdr[1] |= 0x80
		}
		binary.BigEndian.PutUint16(hdr[2:], seq)
		binary.BigEndian.PutUint32(hdr[4:], stamp)
		copy(hdr[8:], ssrc)
		seq++
		_, _ = c.rtp.WriteToUDP(append(hdr[:], body...), remote)
	}
	for {
		c.mu.Lock()
		var due []rtpPacket
		busy := len(c.dtmf) > 0
		if len(c.dtmf) > 0 {
			if late := time.Since(c.dtmf[0].at); late > 5*time.Millisecond {
				// This loop was held up (a loaded machine): the rest of
				// the key presses move by as much, so each gap stays as
				// pressed. Sent in a burst, a digit would follow the last
				// within Asterisk's 45 ms gap, and Asterisk reports a digit
				// held back twice (*27002# arrived as *2770000222##).
				for i := range c.dtmf {
					c.dtmf[i].at = c.dtmf[i].at.Add(late)
				}
			}
		}
		for len(c.dtmf) > 0 && !c.dtmf[0].at.After(time.Now()) {
			due = append(due, c.dtmf[0])
			c.dtmf = c.dtmf[1:]
		}
		var wake time.Time
		if len(c.dtmf) > 0 {
			wake = c.dtmf[0].at
		}
		c.mu.Unlock()
		for _, pk := range due {
			if pk.marker {
				// A new event's timestamp is the RTP clock at its start.
				evTS = clock(pk.at)
			}
			write(pk.marker, pk.pt, evTS, pk.body)
		}
		now := time.Now()
		if !busy && !now.Before(next) {
			body := make([]byte, 160)
			for i := range body {
				body[i] = linearToUlaw(int16(8000 * math.Sin(phase)))
				phase += step
			}
			phase = math.Mod(phase, 2*math.Pi)
			write(false, 0, clock(next), body)
			next = next.Add(20 * time.Millisecond)
			if now.Sub(next) > 200*time.Millisecond {
				next = now
			}
		}
		sleep := time.Until(next)
		if busy {
			next = time.Now().Add(20 * time.Millisecond)
			sleep = time.Millisecond
		}
		if !wake.IsZero() && time.Until(wake) < sleep {
			sleep = time.Until(wake)
		}
		if sleep < 0 {
			sleep = 0
		}
		select {
		case <-c.stop:
			return
		case <-time.After(sleep):
		}
	}
}

// Press sends digits as RFC 4733 events, each lasting on ms, with off ms
// between the end of one and the start of the next. It returns when the
// last digit has been sent.
func (c *SIPCall) Press(digits string, on, off time.Duration) {
	at := time.Now().Add(20 * time.Millisecond)
	var pks []rtpPacket
	for _, d := range digits {
		ev := dtmfEvent(d)
		// One packet every 10 ms while the key is down (fine enough for
		// the timings tested), then the end packet three times.
		for t := time.Duration(0); t < on; t += 10 * time.Millisecond {
			pks = append(pks, rtpPacket{at: at.Add(t), marker: t == 0, pt: 101, body: dtmfBody(ev, false, t)})
		}
		for i := 0; i < 3; i++ {
			pks = append(pks, rtpPacket{at: at.Add(on), pt: 101, body: dtmfBody(ev, true, on)})
		}
		at = at.Add(on + off)
	}
	c.mu.Lock()
	c.dtmf = append(c.dtmf, pks...)
	c.mu.Unlock()
	time.Sleep(time.Until(at))
	// A held-up sender sends later than planned (see send).
	for {
		c.mu.Lock()
		left := len(c.dtmf)
		c.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-c.stop: // the call ended: nothing more is sent
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func dtmfEvent(d rune) byte {
	switch {
	case d >= '0' && d <= '9':
		return byte(d - '0')
	case d == '*':
		return 10
	case d == '#':
		return 11
	case d >= 'A' && d <= 'D':
		return byte(12 + d - 'A')
	}
	return 0
}

func dtmfBody(ev byte, end bool, dur time.Duration) []byte {
	b := []byte{ev, 10, 0, 0}
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], uint16(dur/time.Millisecond*8))
	return b
}

// receive keeps the last two seconds of audio the phone hears.
func (c *SIPCall) receive() {
	buf := make([]byte, 1500)
	for {
		n, _, err := c.rtp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[1]&0x7f != 0 {
			continue
		}
		off := 12 + 4*int(buf[0]&0x0f)
		if off > n {
			continue
		}
		s := make([]float64, 0, n-off)
		for _, b := range buf[off:n] {
			s = append(s, float64(ulawToLinear(b)))
		}
		now := time.Now()
		c.mu.Lock()
		c.recv = append(c.recv, frame{at: now, samples: s})
		for len(c.recv) > 0 && now.Sub(c.recv[0].at) > 2*time.Second {
			c.recv = c.recv[1:]
		}
		c.mu.Unlock()
	}
}

// Heard says how strongly each tone was in the last window of received
// audio: the share of the audio's energy at that frequency (Goertzel), 0 to
// about 1.
func (c *SIPCall) Heard(window time.Duration, tones ...float64) []float64 {
	c.mu.Lock()
	var x []float64
	now := time.Now()
	for _, f := range c.recv {
		if now.Sub(f.at) <= window {
			x = append(x, f.samples...)
		}
	}
	c.mu.Unlock()
	out := make([]float64, len(tones))
	if len(x) < 800 {
		return out
	}
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	if energy/float64(len(x)) < 100*100 { // silence (below about -50 dBFS)
		return out
	}
	for i, f := range tones {
		out[i] = goertzel(x, f) / (energy * float64(len(x)) / 2)
	}
	return out
}

// Level is the RMS of the audio received in the last window (0: nothing).
func (c *SIPCall) Level(window time.Duration) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum float64
	n := 0
	now := time.Now()
	for _, f := range c.recv {
		if now.Sub(f.at) <= window {
			for _, v := range f.samples {
				sum += v * v
			}
			n += len(f.samples)
		}
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(n))
}

// goertzel is the power of x at frequency f (8 kHz samples).
func goertzel(x []float64, f float64) float64 {
	k := 2 * math.Cos(2*math.Pi*f/8000)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + k*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// G.711 mu-law.
func linearToUlaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	if v > clip {
		v = clip
	}
	v += bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func ulawToLinear(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 0x07
	mant := int(u & 0x0f)
	v := ((mant << 3) + 0x84) << exp
	v -= 0x84
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

// Notifies are the sipfrag bodies of the NOTIFYs the call received.
func (c *SIPCall) Notifies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.notifies...)
}
