package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png" // image.DecodeConfig of the screenshots
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/service"
)

// The operator page (/ui/) in a real headless Chromium, on the real
// Asterisk, driven like a person on a phone: taps on a touch screen, and
// every wait is for a state of the page's DOM, never a sleep. Tags start
// with "u".

// screenshotDirEnv names a directory where TestUIOperatorPage writes its
// screenshots (ui-phone.png, ui-desktop.png) for the README: `make
// screenshots` sets it to docs/. Unset, they go to the test's temporary
// directory (still taken and checked).
const screenshotDirEnv = "TRANSFERD_UI_SCREENSHOTS"

// browser is one Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	urls       []string // every URL the page requested
	exceptions []string // uncaught JavaScript exceptions
	console    []string // console messages (the page writes none)
}

// chromium is the one headless Chromium the browser tests share: each test
// has its own tab (its own sessionStorage, viewport and events) on its own
// server (so its own origin and localStorage). One browser instead of one
// per test halves the start-up work on a loaded machine.
var chromium struct {
	mu     sync.Mutex
	users  int
	ctx    context.Context // the browser's first tab
	stop   func()
	failed error // the start failed: the other tests fail at once too
}

// acquireChromium starts Debian's chromium when no test holds it (make test
// installs it: never skipped), with a fresh profile and without its
// background traffic; the last test to let go of it stops it.
func acquireChromium(t *testing.T) context.Context {
	t.Helper()
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	t.Cleanup(releaseChromium)
	chromium.users++
	if chromium.failed != nil {
		t.Fatal(chromium.failed)
	}
	if chromium.users > 1 {
		return chromium.ctx
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		chromium.failed = fmt.Errorf("chromium is not installed: run integration/scripts/chromium.sh (make test and make integration do): %w", err)
		t.Fatal(chromium.failed)
	}
	profile, err := os.MkdirTemp("", "transferd-ui-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// No network but the tests' own servers: without these Chromium
		// keeps trying to reach Google's services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Tabs in the background keep their timers (the page's clock and
		// reconnection) at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	chromium.stop = func() {
		cancel()
		acancel()
		// Chromium's helper processes may still write to the profile for a
		// moment after the browser has exited.
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := chromedp.Do(ctx); err != nil {
		chromium.failed = fmt.Errorf("start chromium: %w", err)
		t.Fatal(chromium.failed)
	}
	chromium.ctx = ctx
	return ctx
}

func releaseChromium() {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	chromium.users--
	if chromium.users == 0 && chromium.stop != nil {
		chromium.stop()
		chromium.stop, chromium.ctx = nil, nil
	}
}

// newBrowser opens a tab of the shared Chromium for the test; the tab
// behaves as the focused one (keyboard focus and :focus-visible work while
// another test's tab is in front).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(acquireChromium(t))
	t.Cleanup(cancel) // before the release: cleanups run in reverse
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a chromium tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("focus emulation: %v", err)
	}
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	console := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.urls = append(b.urls, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			text := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				text += " " + ev.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, text)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			b.mu.Lock()
			b.console = append(b.console, string(ev.Type)+": "+strings.Join(args, " "))
			b.mu.Unlock()
		}
	}()
	return b
}

// phone and desktop viewports. The phone has a touch screen: taps are
// touch events, as on a handset.
func (b *browser) phone() {
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
}

func (b *browser) desktop() {
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 800))
}

// do runs steps, failing the test with the page's text when they fail.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	// Generous: a loaded machine slows Chromium down a lot; the timeout
	// only matters when something is broken.
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.page())
	}
}

// tap taps the element css selects, once it is visible.
func (b *browser) tap(css string) {
	b.t.Helper()
	b.do("tap "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Tap(chromedp.CSS(css)))
}

// until waits for a JavaScript expression to be true (polled in the page).
func (b *browser) until(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 65*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v\npage: %s", what, expr, err, b.page())
	}
}

// eval evaluates a JavaScript expression and decodes its JSON value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// page is what the page shows, for failure messages.
func (b *browser) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText + "\n[conn " + document.getElementById("conn").dataset.state + "]"`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return text
}

// screenshot saves the viewport as name in dir and checks its size.
func (b *browser) screenshot(dir, name string, w, h int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(png))
	if err != nil || format != "png" || cfg.Width != w || cfg.Height != h {
		b.t.Fatalf("screenshot %s: %s %dx%d (%v), want a %dx%d png", name, format, cfg.Width, cfg.Height, err, w, h)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fits checks the layout at the current viewport: nothing wider than the
// screen, and every visible control at least 44x44 CSS pixels.
func (b *browser) fits(where string) {
	b.t.Helper()
	if over := eval[int](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		b.t.Errorf("%s: the page is %d px wider than the screen", where, over)
	}
	small := eval[[]string](b, `[...document.querySelectorAll('button, input:not([type=radio]), label.choice')]
		.filter((e) => e.offsetParent !== null)
		.map((e) => [e, e.getBoundingClientRect()])
		.filter(([e, r]) => r.width < 44 || r.height < 44)
		.map(([e, r]) => (e.textContent || e.id || e.className) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))`)
	if len(small) > 0 {
		b.t.Errorf("%s: touch targets smaller than 44x44: %v", where, small)
	}
}

// lockedBuffer collects transferd's log for the token check.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// slowTargets lets a target ring for a minute: a browser on a loaded
// machine may take longer than the suite's usual 8 s between two taps, and
// the transfer must not fail by itself meanwhile (3001 never answers).
func slowTargets(a *app.AccountConfig) { a.Transfer.NoAnswerTimeout = time.Minute }

// uiServer serves transferd's HTTP handler for the page: the page's own
// server, so that a test can cut the event stream (and refuse new ones
// while refuse is set: 503, as a transferd that is restarting), with the
// log kept.
func uiServer(t *testing.T, s *apiScenario) (srv *httptest.Server, logs *lockedBuffer, refuse *atomic.Bool) {
	t.Helper()
	logs, refuse = &lockedBuffer{}, &atomic.Bool{}
	log := zerolog.New(io.MultiWriter(s.logs, logs)).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	h, err := service.HTTPHandler(s.app, s.cfg, nil, s.hub, log)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() && strings.HasSuffix(r.URL.Path, "/events") {
			http.Error(w, `{"status":"error","error":"503","message":"the event stream is shutting down"}`, http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv, logs, refuse
}

// key presses keys on the focused element, as a keyboard does.
func (b *browser) key(keys string) {
	b.t.Helper()
	b.do(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys))
}

// tabTo presses Tab until the element css selects has the focus, and
// checks that the focus shows (the page's focus ring).
func (b *browser) tabTo(css string) {
	b.t.Helper()
	for range 40 {
		b.key(kb.Tab)
		if eval[bool](b, fmt.Sprintf(`document.activeElement.matches(%q)`, css)) {
			if ring := eval[string](b, `(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; })()`); ring != "solid 3px" {
				b.t.Errorf("focus on %s shows no ring: outline %q", css, ring)
			}
			return
		}
	}
	b.t.Fatalf("Tab never reached %s\npage: %s", css, b.page())
}

// card is a JavaScript expression for the page's card of a call.
func card(call ari.ChannelID) string {
	return fmt.Sprintf(`document.querySelector('li.call[data-call-id=%q]')`, string(call))
}

// shown is a JavaScript expression: the element css selects in the call's
// card is displayed.
func shown(call ari.ChannelID, css string) string {
	return fmt.Sprintf(`(() => { const e = %s?.querySelector(%q); return !!e && e.offsetParent !== null; })()`, card(call), css)
}

// The page's SSE parser, fed a stream cut at every pair of positions,
// gives the same events (CRLF, CR and LF line ends, comments, multi-line
// data, retry).
func checkSSEParser(b *browser) {
	b.t.Helper()
	got := eval[string](b, `(() => {
		const text = 'retry: 3000\r\n\r\n: keep-alive\n\nid: 7\nevent: call.updated\ndata: {"a":1}\ndata:{"b":2}\n\r\n' +
			'event: x\rdata: y\r\rid: 8\nevent: snapshot\ndata: {"calls":[]}\n\nevent: lonely\n\n';
		const want = JSON.stringify([
			{event: 'call.updated', data: '{"a":1}\n{"b":2}', id: '7'},
			{event: 'x', data: 'y', id: '7'},
			{event: 'snapshot', data: '{"calls":[]}', id: '8'}]);
		for (let i = 0; i <= text.length; i++) {
			for (let j = i; j <= text.length; j++) {
				const events = [];
				let retry = 0;
				const p = window.transferdUI.sseParser((e) => events.push(e), (ms) => { retry = ms; });
				p.push(text.slice(0, i));
				p.push(text.slice(i, j));
				p.push(text.slice(j));
				if (JSON.stringify(events) !== want || retry !== 3000) {
					return 'cut at ' + i + ',' + j + ': ' + JSON.stringify(events) + ' retry ' + retry;
				}
			}
		}
		return '';
	})()`)
	if got != "" {
		b.t.Fatalf("SSE parser: %s", got)
	}
}

// An operator on a phone: a wrong token is refused; signed in, the call
// appears by itself with its parties and a ticking duration; a refused
// transfer is explained in words; a transfer to 2600 shows it ringing,
// then (across a cut of the event stream) consulting once Carol answers;
// "complete" leaves Bob with Carol; the call's end shows. Another
// account's call, live all along, never appears. The token never reaches
// a URL, the log or localStorage.
func TestUIOperatorPage(t *testing.T) {
	t.Parallel()
	start := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), what) }
	s := newAPIScenario(t, "u01", slowTargets)
	step("transferd up")

	srv, logs, refuse := uiServer(t, s)
	b := newBrowser(t) // closed before the server (cleanups run in reverse)
	step("chromium up")
	b.phone()
	b.do("open the page", chromedp.Navigate(srv.URL+"/ui/"), chromedp.WaitVisible(chromedp.ID("account")))
	step("page open")
	checkSSEParser(b)
	step("SSE parser checked")

	// A wrong token, and another account's token, are refused.
	b.do("type a wrong token",
		chromedp.SendKeys(chromedp.ID("account"), account),
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"))
	b.tap("#signin-button")
	b.until("the wrong token refused", `!document.getElementById('signin-error').hidden &&
		document.getElementById('signin-error').textContent.includes('does not know this token') &&
		document.getElementById('calls-section').hidden && sessionStorage.length === 0`)
	b.do("type the other account's token", chromedp.Evaluate[chromedp.Void](`document.getElementById("token").value = ""`), chromedp.SendKeys(chromedp.ID("token"), otherToken))
	b.tap("#signin-button")
	b.until("another account's token refused", `document.getElementById('signin-error').textContent.includes('does not open account "acct"') &&
		document.getElementById('calls-section').hidden && sessionStorage.length === 0`)

	// Signed in: no calls yet, the stream is live.
	b.do("type the token", chromedp.Evaluate[chromedp.Void](`document.getElementById("token").value = ""`), chromedp.SendKeys(chromedp.ID("token"), apiToken))
	b.tap("#signin-button")
	b.until("signed in and live", `!document.getElementById('calls-section').hidden && document.getElementById('signin').hidden &&
		document.getElementById('conn').dataset.state === 'live' && !document.getElementById('no-calls').hidden`)
	if v := eval[bool](b, fmt.Sprintf(`sessionStorage.getItem('transferd.session').includes(%q) &&
		document.getElementById('token').value === ''`, apiToken)); !v {
		t.Error("the token is not kept in sessionStorage, or stays in the form")
	}
	// From now on, anything of the other account showing up is recorded.
	olgaCall := s.callID("olga")
	b.do("watch for the other account", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.foreign = [];
		new MutationObserver(() => {
			if (document.body.textContent.includes('olga') || document.querySelector('[data-call-id=%q]')) window.foreign.push(document.body.innerText);
		}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});`, string(olgaCall))))

	step("signed in")
	// Olga's call, in the other account, is up before Alice's and stays up.
	olga, err := phones.Call(s.ctx, CallParams{Tag: s.tag, Name: "olga", App: s.cfg.ARI.App, Account: otherAccount, Dest: "2002", Callback: "1002"})
	if err != nil {
		t.Fatal(err)
	}
	olgaCallee := s.ring("2002")
	s.pickUp(olgaCallee)
	s.together(olgaCall, s.leg(olgaCallee))

	// Alice (1001) calls Bob (2001): the call appears by itself.
	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	b.until("the call appears, connected", fmt.Sprintf(`%s?.dataset.state === 'talking' && %s.querySelector('.call-title').textContent === 'alice (1001) ⇄ 2001'`, card(call), card(call)))
	b.until("only the transfer button", shown(call, `[data-action="open-transfer"]`)+` && !`+shown(call, `[data-action="complete"]`)+
		` && !`+shown(call, `[data-action="cancel"]`)+` && !`+shown(call, `[data-action="swap"]`)+` && !`+shown(call, `[data-action="threeway"]`))
	if c := s.getCall(call); c.Started.IsZero() || time.Since(c.Started) > time.Minute || c.Parties[0].Name != "alice" {
		t.Errorf("API view: started_at %v, caller name %q", c.Started, c.Parties[0].Name)
	}
	step("call shown")
	first := eval[string](b, card(call)+`.querySelector('.duration').textContent`)
	b.until("the duration ticks", fmt.Sprintf(`(() => { const d = %s.querySelector('.duration').textContent; return /^\d+:\d\d$/.test(d) && d !== %q; })()`, card(call), first))

	// A transfer to a party of the call is refused, in words.
	b.tap(fmt.Sprintf(`li.call[data-call-id=%q] [data-action="open-transfer"]`, string(call)))
	b.until("the number pad", shown(call, `.pad`)+` && `+shown(call, `.choices input:checked`))
	if who := eval[string](b, card(call)+`.querySelector('.choices input:checked').parentElement.textContent`); who != "2001" {
		t.Errorf("the party to transfer is %q by default, want Bob (2001)", who)
	}
	b.fits("phone, number pad open")
	cardCSS := fmt.Sprintf(`li.call[data-call-id=%q]`, string(call))
	for _, k := range "2001" {
		b.tap(fmt.Sprintf(`%s .pad [data-key=%q]`, cardCSS, string(k)))
	}
	b.tap(cardCSS + ` [data-action="transfer"]`)
	b.until("the refusal in words", shown(call, `.action-error`)+` && `+card(call)+`.querySelector('.action-error').textContent.includes('That number is already on this call.')`)

	// Transfer to Carol (2600): ringing, Bob on hold.
	for range 4 {
		b.tap(cardCSS + ` .backspace`)
	}
	for _, k := range "2600" {
		b.tap(fmt.Sprintf(`%s .pad [data-key=%q]`, cardCSS, string(k)))
	}
	b.until("the refusal gone once the number changes", `!`+shown(call, `.action-error`)+` && `+card(call)+`.querySelector('.number').value === '2600'`)
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	b.screenshot(dir, "ui-phone-pad.png", 390, 844)
	b.tap(cardCSS + ` [data-action="transfer"]`)
	b.until("ringing 2600", fmt.Sprintf(`%s.dataset.transferState === 'CallingTarget' && %s.querySelector('.transfer-status').textContent === 'Ringing 2600 · 2001 on hold'`, card(call), card(call)))
	// Bob's line says so from his state ("held"), Alice's does not.
	b.until("Bob on hold", fmt.Sprintf(`!!%s.querySelector('.party[data-channel=%q] .badge.hold') && !%s.querySelector('.party:not([data-channel=%q]) .badge.hold')`,
		card(call), string(bobLeg), card(call), string(bobLeg)))
	b.until("ringing: cancel, complete, swap, three-way", shown(call, `[data-action="cancel"]`)+` && `+shown(call, `[data-action="complete"]`)+` && `+
		shown(call, `[data-action="swap"]`)+` && `+shown(call, `[data-action="threeway"]`)+` && !`+shown(call, `[data-action="open-transfer"]`)+
		` && !`+shown(call, `.transfer-panel`)+` && !`+shown(call, `.action-error`))
	if recent := eval[string](b, `localStorage.getItem('transferd.recent')`); recent != `["2600"]` {
		t.Errorf("recent numbers %s, want [\"2600\"]", recent)
	}
	step("ringing shown")
	carol := s.ring("2600")
	s.held(bobLeg)

	// The event stream is cut and new ones refused for a while: the page
	// says so (every state it shows is recorded, so a short one is not
	// missed). Carol answers meanwhile: the page cannot know until it has
	// reconnected by itself, and then catches up from the new stream's
	// snapshot.
	b.do("record the connection states", chromedp.Evaluate[chromedp.Void](`window.connStates = [];
		new MutationObserver(() => window.connStates.push(document.getElementById('conn').dataset.state))
			.observe(document.getElementById('conn'), {attributes: true, attributeFilter: ['data-state']});`))
	refuse.Store(true)
	srv.CloseClientConnections()
	b.until("reconnecting", `window.connStates.includes('reconnecting')`)
	s.pickUp(carol)
	carolLeg := s.leg(carol)
	s.together(call, carolLeg)
	s.transferState(call, "Consulting")
	if st := eval[string](b, card(call)+`.dataset.transferState`); st != "CallingTarget" {
		t.Fatalf("with no event stream the page shows %q, want the last state it heard, CallingTarget", st)
	}
	refuse.Store(false)
	b.until("live again, consulting 2600", fmt.Sprintf(`document.getElementById('conn').dataset.state === 'live' &&
		%s.dataset.transferState === 'Consulting' && %s.querySelector('.transfer-status').textContent === 'Consulting 2600 · 2001 on hold'`, card(call), card(call)))
	b.until("consulting: complete, swap to Bob", shown(call, `[data-action="complete"]`)+` && `+card(call)+`.querySelector('[data-action="complete"]').textContent === 'Complete' && `+
		card(call)+`.querySelector('[data-action="swap"]').textContent === 'Swap to 2001'`)

	step("consulting shown after a reconnection")
	// The screenshots, at a phone's and a desktop's size.
	b.fits("phone, consulting")
	b.screenshot(dir, "ui-phone.png", 390, 844)
	b.desktop()
	b.fits("desktop, consulting")
	b.screenshot(dir, "ui-desktop.png", 1280, 800)
	b.phone()

	step("screenshots taken")
	// Complete: Alice leaves, Bob talks with Carol.
	b.tap(cardCSS + ` [data-action="complete"]`)
	b.until("completed", fmt.Sprintf(`%s.dataset.transferState === '' && %s.dataset.outcome === 'completed' &&
		%s.querySelector('.last-transfer').textContent === 'Transferred to 2600.'`, card(call), card(call), card(call)))
	s.gone(alice)
	s.together(bobLeg, carolLeg)
	b.until("Bob and Carol on the card", card(call)+`.querySelector('.call-title').textContent === '2001 ⇄ 2600'`)

	// Bob hangs up: the call ends on the page.
	s.hangup(bob)
	s.gone(carol)
	s.callGone()
	b.until("the call ended", fmt.Sprintf(`!%s || %s.dataset.state === 'ended'`, card(call), card(call)))

	step("call end shown")
	// Olga's call was live all along (the API shows it to its own account)
	// and never appeared.
	r := s.call("GET", "/v2/accounts/"+otherAccount+"/channels", "", xauth(otherToken))
	var others []map[string]any
	if err := json.Unmarshal(r.Env.Data, &others); err != nil || len(others) != 1 || others[0]["call_id"] != string(olgaCall) {
		t.Fatalf("the other account's calls: %s", r.Body)
	}
	if foreign := eval[[]string](b, `window.foreign`); len(foreign) > 0 {
		t.Errorf("the other account's call appeared on the page: %q", foreign[0])
	}

	// Sign out: back to the form, nothing kept.
	b.tap("#signout")
	b.until("signed out", `!document.getElementById('signin').hidden && document.getElementById('calls-section').hidden && sessionStorage.length === 0`)

	s.hangup(olga)
	s.gone(olgaCallee)

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.urls {
		if strings.Contains(u, apiToken) || strings.Contains(u, "token") {
			t.Errorf("the page requested a URL with the token: %s", u)
		}
		if !strings.HasPrefix(u, srv.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page loaded something from outside transferd: %s", u)
		}
	}
	if len(b.urls) < 5 {
		t.Errorf("only %d requests seen: %v", len(b.urls), b.urls)
	}
	if len(b.exceptions) > 0 || len(b.console) > 0 {
		t.Errorf("the page threw %q and logged %q", b.exceptions, b.console)
	}
	if l := logs.String(); strings.Contains(l, apiToken) || !strings.Contains(l, "/v2/accounts/acct/events") {
		t.Errorf("transferd's log has the token, or no request of the page (%d bytes)", len(l))
	}
	step("done")
}

// Every action from the page, with the keyboard too: sign in with Enter; a
// reload keeps the session; Tab and Enter open the pad, Enter transfers to
// 3001 (never answers); swap back to Bob while it rings (by keyboard);
// cancel; Escape closes the pad; transfer to 2600 and three-way once Carol
// answers; a second call is blind-transferred to 2601 (partial: answered
// after the transferor left). Each state shows only its buttons.
func TestUIOperatorActions(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := newAPIScenario(t, "u02", slowTargets)
	srv, _, _ := uiServer(t, s)
	b := newBrowser(t)
	t.Logf("%6.2fs chromium up", time.Since(start).Seconds())
	b.phone()
	b.do("open the page and sign in with Enter", chromedp.Navigate(srv.URL+"/ui/"),
		chromedp.SendKeys(chromedp.ID("account"), account), chromedp.SendKeys(chromedp.ID("token"), apiToken+kb.Enter))
	b.until("signed in", `document.getElementById('conn').dataset.state === 'live'`)
	t.Logf("%6.2fs signed in", time.Since(start).Seconds())
	b.do("reload", chromedp.Reload())
	b.until("still signed in after a reload", `document.getElementById('signin').hidden && document.getElementById('conn').dataset.state === 'live'`)
	t.Logf("%6.2fs reloaded", time.Since(start).Seconds())

	alice, bob := s.talking("alice", "1001", "2001")
	call, bobLeg := s.callID("alice"), s.leg(bob)
	cardCSS := fmt.Sprintf(`li.call[data-call-id=%q]`, string(call))
	b.until("the call", card(call)+`?.dataset.state === 'talking'`)

	// Keyboard: Tab to Transfer…, Enter; the number field has the focus;
	// type 3001 and Enter.
	b.tabTo(cardCSS + ` [data-action="open-transfer"]`)
	b.key(kb.Enter)
	b.until("the number field focused", `document.activeElement === `+card(call)+`.querySelector('.number')`)
	b.key("3001" + kb.Enter)
	b.until("ringing 3001", card(call)+`.querySelector('.transfer-status').textContent === 'Ringing 3001 · 2001 on hold'`)
	never := s.ring("3001")
	s.held(bobLeg)

	// Swap back to Bob while 3001 rings, by keyboard.
	b.tabTo(cardCSS + ` [data-action="swap"]`)
	if label := eval[string](b, `document.activeElement.textContent`); label != "Swap to 2001" {
		t.Errorf("swap button says %q, want \"Swap to 2001\"", label)
	}
	b.key(kb.Enter)
	b.until("back with Bob", card(call)+`.dataset.transferState === 'Hesitant' && `+card(call)+`.querySelector('.transfer-status').textContent === 'Back with 2001 · 3001 still ringing' && `+
		card(call)+`.querySelector('[data-action="swap"]').textContent === 'Swap to 3001' && `+card(call)+`.querySelector('[data-action="complete"]').textContent === 'Complete while ringing'`)
	s.together(call, bobLeg)

	// Cancel (a tap).
	b.tap(cardCSS + ` [data-action="cancel"]`)
	b.until("cancelled", card(call)+`.dataset.outcome === 'cancelled' && `+card(call)+`.querySelector('.last-transfer').textContent === 'Transfer to 3001 cancelled.' && `+
		shown(call, `[data-action="open-transfer"]`)+` && !`+shown(call, `[data-action="cancel"]`))
	b.until("the outcome announced to screen readers", `document.getElementById('announce').getAttribute('aria-live') === 'polite' &&
		document.getElementById('announce').textContent === 'Transfer to 3001 cancelled.'`)
	s.gone(never)
	s.together(call, bobLeg)

	// Escape closes the pad and gives the focus back to its button; the
	// recent numbers list 3001.
	b.tap(cardCSS + ` [data-action="open-transfer"]`)
	b.until("the pad with 3001 as a recent number", shown(call, `.recent-list button`)+` && `+card(call)+`.querySelector('.recent-list').textContent === '3001'`)
	b.key(kb.Escape)
	b.until("the pad closed by Escape", `!`+shown(call, `.transfer-panel`)+` && document.activeElement === `+card(call)+`.querySelector('[data-action="open-transfer"]')`)

	// Transfer to 2600; Carol answers; three-way.
	b.tap(cardCSS + ` [data-action="open-transfer"]`)
	for _, k := range "2600" {
		b.tap(fmt.Sprintf(`%s .pad [data-key=%q]`, cardCSS, string(k)))
	}
	b.tap(cardCSS + ` [data-action="transfer"]`)
	carol := s.ring("2600")
	s.pickUp(carol)
	carolLeg := s.leg(carol)
	b.until("consulting 2600", card(call)+`.dataset.transferState === 'Consulting'`)
	b.tap(cardCSS + ` [data-action="threeway"]`)
	b.until("three-way", card(call)+`.dataset.outcome === 'three-way' && `+card(call)+`.querySelector('.last-transfer').textContent === 'Three-way call with 2600.' && `+
		card(call)+`.querySelector('.call-title').textContent === 'alice (1001) ⇄ 2001 ⇄ 2600' && !`+shown(call, `.actions button`))
	s.together(call, bobLeg, carolLeg)
	s.hangup(alice)
	s.hangup(bob)
	s.gone(carol)
	s.callGone()
	b.until("the call ended", fmt.Sprintf(`!%s || %s.dataset.state === 'ended'`, card(call), card(call)))
	t.Logf("%6.2fs attended, swap, cancel, three-way done", time.Since(start).Seconds())

	// A blind transfer: Dora leaves at once; 2002 hears 2601 ring.
	dora, dan := s.talking("dora", "1003", "2002")
	call2, danLeg := s.callID("dora"), s.leg(dan)
	card2CSS := fmt.Sprintf(`li.call[data-call-id=%q]`, string(call2))
	b.tap(card2CSS + ` [data-action="open-transfer"]`)
	for _, k := range "2601" {
		b.tap(fmt.Sprintf(`%s .pad [data-key=%q]`, card2CSS, string(k)))
	}
	b.tap(card2CSS + ` [data-action="blind_transfer"]`)
	b.until("partial: 2601 ringing", card(call2)+`.dataset.transferState === 'Blond' && `+card(call2)+`.querySelector('.transfer-status').textContent === 'Partial transfer: 2601 ringing for 2002' && !`+shown(call2, `.actions button`))
	s.gone(dora)
	erin := s.ring("2601")
	s.pickUp(erin)
	b.until("transferred", card(call2)+`.dataset.outcome === 'partial-completed' && `+card(call2)+`.querySelector('.last-transfer').textContent === 'Transferred to 2601 (partial: answered after you left).'`)
	s.together(danLeg, s.leg(erin))
	s.hangup(dan)
	s.gone(erin)
	s.callGone()
	b.until("the second call ended", fmt.Sprintf(`!%s || %s.dataset.state === 'ended'`, card(call2), card(call2)))
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.exceptions) > 0 || len(b.console) > 0 {
		t.Errorf("the page threw %q and logged %q", b.exceptions, b.console)
	}
	t.Logf("%6.2fs done", time.Since(start).Seconds())
}
