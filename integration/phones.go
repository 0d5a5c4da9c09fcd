package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/transferd/transferd/ari"
)

// PhonesApp is the Stasis application that plays every simulated handset.
const PhonesApp = "transferd-phones"

// Phones plays simulated handsets on the sandbox with Local channels:
//   - a caller is the ;1 half of Local/<name>@transferd-test-caller/n; its
//     ;2 half runs the dialplan into transferd like a real caller;
//   - a dialed phone is the ;2 half of a Local/<n>@transferd-test-phones/n
//     channel transferd created; it enters PhonesApp with the arguments
//     dialed,<number>,<tag>.
//
// Tags (the test's id prefix) keep parallel tests apart.
type Phones struct {
	Client *ari.Client

	mu     sync.Mutex
	phones map[ari.ChannelID]*Phone
	mics   map[ari.ChannelID]bool // handsets with a microphone (startMic)
	rings  map[string][]*Phone    // rung and not yet taken, by tag
	rang   chan struct{}          // closed and replaced at each ring
	stop   func()
	done   chan struct{}
}

// Phone is one simulated handset. It records every event its channel gets.
type Phone struct {
	ID     ari.ChannelID
	Number string
	Tag    string
	p      *Phones

	mu     sync.Mutex
	events []ari.Event
	notify chan struct{}
}

// NewPhones starts the phones application on client. Run is started here.
func NewPhones(ctx context.Context, client *ari.Client) *Phones {
	ctx, cancel := context.WithCancel(ctx)
	p := &Phones{Client: client, phones: map[ari.ChannelID]*Phone{}, mics: map[ari.ChannelID]bool{}, rings: map[string][]*Phone{}, rang: make(chan struct{}), stop: cancel, done: make(chan struct{})}
	sub := client.Subscribe(ari.Filter{App: PhonesApp})
	go func() { _ = client.Run(ctx) }()
	go func() {
		defer close(p.done)
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-sub.Events():
				p.route(ctx, ev)
			}
		}
	}()
	return p
}

// Close stops the phones application.
func (p *Phones) Close() {
	p.stop()
	<-p.done
}

func (p *Phones) route(ctx context.Context, ev ari.Event) {
	if s, ok := ev.(*ari.StasisStart); ok && len(s.Args) >= 3 && s.Args[0] == "dialed" {
		ph := p.phone(s.Channel.ID, s.Args[1], s.Args[2])
		ph.record(ev)
		// A phone rings as soon as it is called, so the dialer sees RINGING.
		go func() { _ = p.Client.Channels.Ring(ctx, s.Channel.ID) }()
		p.mu.Lock()
		p.rings[ph.Tag] = append(p.rings[ph.Tag], ph)
		close(p.rang)
		p.rang = make(chan struct{})
		p.mu.Unlock()
		return
	}
	if s, ok := ev.(*ari.StasisStart); ok && len(s.Args) >= 1 && s.Args[0] == "caller" {
		// The caller's handset is up: like a real phone it sends audio
		// (silence) from now on, so the far end can tell music from quiet.
		go func() { _ = p.startMic(ctx, s.Channel.ID) }()
	}
	if e, ok := ev.(*ari.StasisEnd); ok {
		go p.stopMic(ctx, e.Channel.ID)
	}
	for _, id := range ari.ChannelsOf(ev) {
		p.mu.Lock()
		ph := p.phones[id]
		p.mu.Unlock()
		if ph != nil {
			ph.record(ev)
		}
	}
}

func (p *Phones) phone(id ari.ChannelID, number, tag string) *Phone {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ph, ok := p.phones[id]; ok {
		return ph
	}
	ph := &Phone{ID: id, Number: number, Tag: tag, p: p, notify: make(chan struct{})}
	p.phones[id] = ph
	return ph
}

// PhonesOf lists the phones a tag has seen.
func (p *Phones) PhonesOf(tag string) []*Phone {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*Phone
	for _, ph := range p.phones {
		if ph.Tag == tag {
			out = append(out, ph)
		}
	}
	return out
}

// CallParams says how a simulated caller calls through an application.
type CallParams struct {
	Tag      string // the test's id prefix
	Name     string // the caller's name, e.g. alice
	App      string // the transferd application to enter
	Account  string
	Dest     string // the number to call
	Callback string // the caller's callback number
	Context  string // default transferd-test-caller
}

// HandsetFormats is what a simulated caller's handset offers, as a G.711
// SIP phone does. An originate that names no format gets Asterisk's best
// audio format, slin192: every Local channel of the call, and each leg
// dialled from it (by transferd or by Dial), would carry 192 kHz audio
// that music on hold and tones are resampled to frame by frame (40-60 % of
// Asterisk's CPU in the benchmark before it named one, BENCHMARKS.md
// 2026-12-01).
var HandsetFormats = []string{"ulaw"}

// Call originates a simulated caller. The returned Phone is the handset
// (the ;1 half, id <tag>-<name>); the channel transferd sees is InID
// (<tag>-<name>-in).
func (p *Phones) Call(ctx context.Context, c CallParams) (*Phone, error) {
	if c.Context == "" {
		c.Context = "transferd-test-caller"
	}
	id := ari.ChannelID(c.Tag + "-" + c.Name)
	ph := p.phone(id, c.Callback, c.Tag)
	_, err := p.Client.Channels.Originate(ctx, ari.OriginateParams{
		Endpoint: fmt.Sprintf("Local/%s@%s/n", c.Name, c.Context),
		App:      PhonesApp, AppArgs: "caller," + c.Tag,
		ChannelID: id, OtherChannelID: InID(id),
		CallerID: fmt.Sprintf("%s <%s>", c.Name, c.Callback),
		Timeout:  -1,
		Formats:  HandsetFormats,
		Variables: map[string]string{
			"__TD_APP": c.App, "__TD_ACCOUNT": c.Account, "__TD_DEST": c.Dest, "__TD_CALLBACK": c.Callback,
			// The phones native atxfer dials (transferd-native-caller)
			// inherit the tag; transferd's legs get it from the account.
			"__TD_TEST": c.Tag,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("originate caller %s: %w", id, err)
	}
	return ph, nil
}

// InID is the id of the half of a caller that enters transferd.
func InID(handset ari.ChannelID) ari.ChannelID { return handset + "-in" }

// WaitRing waits for transferd to call number for tag, and takes that ring
// (each ring is returned once). Many tests and goroutines may wait at once.
func (p *Phones) WaitRing(ctx context.Context, tag, number string) (*Phone, error) {
	for {
		p.mu.Lock()
		for i, ph := range p.rings[tag] {
			if ph.Number == number {
				p.rings[tag] = append(p.rings[tag][:i:i], p.rings[tag][i+1:]...)
				p.mu.Unlock()
				return ph, nil
			}
		}
		rang := p.rang
		p.mu.Unlock()
		select {
		case <-rang:
		case <-ctx.Done():
			return nil, fmt.Errorf("phone %s (%s) never rang: %w", number, tag, ctx.Err())
		}
	}
}

// NoRing checks that number was not called for tag during d.
func (p *Phones) NoRing(ctx context.Context, tag, number string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if ph, err := p.WaitRing(ctx, tag, number); err == nil {
		return fmt.Errorf("phone %s rang (%s) but should not have", number, ph.ID)
	}
	return nil
}

func (ph *Phone) record(ev ari.Event) {
	ph.mu.Lock()
	ph.events = append(ph.events, ev)
	close(ph.notify)
	ph.notify = make(chan struct{})
	ph.mu.Unlock()
}

// Events returns what the phone has seen so far.
func (ph *Phone) Events() []ari.Event {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return append([]ari.Event(nil), ph.events...)
}

// WaitEvent waits for an event of the given type after index from
// (len(Events()) before the action whose effect is awaited) that satisfies
// match (nil matches any).
func (ph *Phone) WaitEvent(ctx context.Context, from int, typ string, match func(ari.Event) bool) (ari.Event, error) {
	for {
		ph.mu.Lock()
		evs, notify := ph.events, ph.notify
		ph.mu.Unlock()
		for i := from; i < len(evs); i++ {
			if evs[i].GetType() == typ && (match == nil || match(evs[i])) {
				return evs[i], nil
			}
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, fmt.Errorf("phone %s: no %s: %w (saw %s)", ph.ID, typ, ctx.Err(), typesOf(evs[min(from, len(evs)):]))
		}
	}
}

// Mark is the index to pass to WaitEvent for "from now on".
func (ph *Phone) Mark() int {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return len(ph.events)
}

func typesOf(evs []ari.Event) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(e.GetType())
	}
	return b.String()
}

// Answer answers the phone. From then on it sends silence, as a real
// phone sends audio, so the far end can tell music from quiet.
func (ph *Phone) Answer(ctx context.Context) error {
	if err := ph.p.Client.Channels.Answer(ctx, ph.ID); err != nil {
		return err
	}
	return ph.p.startMic(ctx, ph.ID)
}

// startMic makes the handset send audio (silence, every 20 ms) as a real
// phone sends RTP: it puts the handset alone in a mixing bridge of its own,
// which writes a frame to it at every mixing interval (video_sfu keeps the
// bridge in softmix even with one channel; a smart bridge would pick
// simple_bridge, which writes nothing). It is not a channel generator
// (POST /channels/{id}/silence) on purpose: a Local channel passes no
// media between its two halves while both have a generator
// (main/core_unreal.c), so a handset's generator would silence a holding
// bridge's music, itself a generator on the Local's other half.
func (p *Phones) startMic(ctx context.Context, id ari.ChannelID) error {
	bridge := MicBridge(id)
	p.mu.Lock()
	if p.mics[id] {
		p.mu.Unlock()
		return nil
	}
	p.mics[id] = true
	p.mu.Unlock()
	if _, err := p.Client.Bridges.Create(ctx, ari.BridgeParams{ID: bridge, Type: "mixing,video_sfu"}); err != nil {
		return fmt.Errorf("handset %s's microphone: %w", id, err)
	}
	if err := p.Client.Bridges.AddChannel(ctx, bridge, ari.AddChannelParams{Channels: []ari.ChannelID{id}}); err != nil {
		// The handset hung up meanwhile (its StasisEnd may have come
		// before the bridge existed): nobody else destroys the bridge.
		p.mu.Lock()
		delete(p.mics, id)
		p.mu.Unlock()
		_ = p.Client.Bridges.Destroy(ctx, bridge)
		return fmt.Errorf("handset %s's microphone: %w", id, err)
	}
	return nil
}

// MicBridge is the id of handset id's microphone bridge (startMic). It is
// not under the call's ids, where the tests look for transferd's bridges:
// it belongs to the handset, not to the call.
func MicBridge(id ari.ChannelID) ari.BridgeID {
	return ari.BridgeID("mic-" + strings.ReplaceAll(string(id), ";", "_"))
}

// stopMic destroys the handset's microphone bridge once it has left.
func (p *Phones) stopMic(ctx context.Context, id ari.ChannelID) {
	p.mu.Lock()
	ok := p.mics[id]
	delete(p.mics, id)
	p.mu.Unlock()
	if ok {
		_ = p.Client.Bridges.Destroy(ctx, MicBridge(id))
	}
}

// Hangup hangs the phone up with a reason (normal, busy, congestion, ...).
func (ph *Phone) Hangup(ctx context.Context, reason string) error {
	return ph.p.Client.Channels.Hangup(ctx, ph.ID, reason)
}

// Press sends DTMF from the phone.
func (ph *Phone) Press(ctx context.Context, digits string) error {
	return ph.p.Client.Channels.SendDTMF(ctx, ph.ID, ari.DTMFParams{DTMF: digits, Between: 60, Duration: 80})
}

// Listen turns on talk detection, so audio reaching the phone raises
// ChannelTalkingStarted (and silence ChannelTalkingFinished).
func (ph *Phone) Listen(ctx context.Context) error {
	return ph.p.Client.Channels.SetVariable(ctx, ph.ID, "TALK_DETECT(set)", "200,64")
}

// Gone says whether the phone's channel has left.
func (ph *Phone) Gone() bool {
	for _, e := range ph.Events() {
		switch e.(type) {
		case *ari.StasisEnd, *ari.ChannelDestroyed:
			return true
		}
	}
	return false
}
