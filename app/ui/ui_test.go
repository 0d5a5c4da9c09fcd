package ui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/transferd/transferd/app/httpapi"
	"github.com/transferd/transferd/transfer"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestServesThePage(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	h := Mount(next)
	cases := []struct {
		path, ctype, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/ui/index.html", "text/html; charset=utf-8", "<title>transferd"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "function sseParser"},
		{"/ui/app.css", "text/css; charset=utf-8", "min-height: 44px"},
	}
	for _, c := range cases {
		res := get(t, h, "GET", c.path, nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.contains, strings.Contains(string(body), c.contains))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") ||
			!strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", c.path, res.Header)
		}
		// A reload with the ETag costs a 304 and no body.
		res2 := get(t, h, "GET", c.path, map[string]string{"If-None-Match": res.Header.Get("ETag")})
		if b, _ := io.ReadAll(res2.Body); res2.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes", c.path, res2.StatusCode, len(b))
		}
	}
	if res := get(t, h, "HEAD", "/ui/", nil); res.StatusCode != 200 {
		t.Errorf("HEAD /ui/: %d", res.StatusCode)
	}
	if res := get(t, h, "GET", "/ui", nil); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get(t, h, "GET", "/ui/nothing.js", nil); res.StatusCode != 404 {
		t.Errorf("GET /ui/nothing.js: %d", res.StatusCode)
	}
	if res := get(t, h, "POST", "/ui/", nil); res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /ui/: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	// Everything else goes to the API.
	for _, p := range []string{"/v2/accounts/demo/channels", "/healthz", "/", "/uix"} {
		if res := get(t, h, "GET", p, nil); res.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s: %d, want the API's answer", p, res.StatusCode)
		}
	}
}

func readAsset(t *testing.T, name string) string {
	t.Helper()
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Nothing the page loads comes from elsewhere: no absolute URL, no
// protocol-relative one, no inline script or style (the CSP forbids them
// too, so they would silently not work).
func TestNothingFromOutside(t *testing.T) {
	abs := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, name := range []string{"index.html", "app.css", "app.js"} {
		if m := abs.FindString(readAsset(t, name)); m != "" {
			t.Errorf("%s refers to another origin: %q", name, m)
		}
	}
	html := readAsset(t, "index.html")
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
		if u := m[1]; strings.Contains(u, ":") && u != "data:," {
			t.Errorf("index.html loads %q", u)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle="|\son[a-z]+="`).MatchString(html) {
		t.Error("index.html has inline script, style or event handler attributes")
	}
	if js := readAsset(t, "app.js"); strings.Contains(js, "console.") || strings.Contains(js, "innerHTML") || strings.Contains(js, "EventSource(") {
		t.Error("app.js logs to the console, writes HTML from strings or uses EventSource (which would need the token in the URL)")
	}
}

// The page's table of allowed commands is the state machine's.
func TestAllowedMatchesTransferMachine(t *testing.T) {
	js := readAsset(t, "app.js")
	m := regexp.MustCompile(`(?s)// BEGIN ALLOWED\s*const ALLOWED = (\{.*?\});\s*// END ALLOWED`).FindStringSubmatch(js)
	if m == nil {
		t.Fatal("app.js: no ALLOWED table between the BEGIN/END markers")
	}
	var allowed map[string][]string
	if err := json.Unmarshal([]byte(m[1]), &allowed); err != nil {
		t.Fatalf("app.js ALLOWED is not JSON: %v", err)
	}
	want := map[string][]string{}
	for _, s := range transfer.ActiveStates() {
		cmds := []string{}
		for _, c := range transfer.Commands() {
			if transfer.Accepts(s, c) {
				cmds = append(cmds, c.String())
			}
		}
		want[s.String()] = cmds
	}
	if len(allowed) != len(want) {
		t.Errorf("app.js ALLOWED has %d states, the machine %d running states", len(allowed), len(want))
	}
	for s, cmds := range want {
		got, ok := allowed[s]
		slices.Sort(got)
		slices.Sort(cmds)
		if !ok || !slices.Equal(got, cmds) {
			t.Errorf("ALLOWED[%s] = %v, transfer.Accepts says %v", s, got, cmds)
		}
	}
}

// The page speaks the one action vocabulary (transfer.Actions): it has
// words for every action and only those, and a button for each, whose
// data-action the page posts as the action.
func TestPageActionsAreTheVocabulary(t *testing.T) {
	js := readAsset(t, "app.js")
	block := regexp.MustCompile(`(?s)const ACTION_WORDS = \{(.*?)\};`).FindStringSubmatch(js)
	if block == nil {
		t.Fatal("no ACTION_WORDS in app.js")
	}
	var words []string
	for _, m := range regexp.MustCompile(`(\w+):`).FindAllStringSubmatch(block[1], -1) {
		words = append(words, m[1])
	}
	slices.Sort(words)
	want := slices.Sorted(slices.Values(transfer.Actions))
	if !slices.Equal(words, want) {
		t.Errorf("app.js ACTION_WORDS has words for %v, the vocabulary is %v", words, want)
	}
	var buttons []string
	for _, m := range regexp.MustCompile(`data-action="([^"]+)"`).FindAllStringSubmatch(readAsset(t, "index.html"), -1) {
		switch a := m[1]; a {
		case "open-transfer", "close-transfer": // the page's own, not posted
		default:
			buttons = append(buttons, a)
		}
	}
	slices.Sort(buttons)
	if !slices.Equal(buttons, want) {
		t.Errorf("index.html has action buttons %v, the vocabulary is %v", buttons, want)
	}
}

// The page explains every 409 reason the API sends, and only real ones.
func TestConflictWordsAreAPIReasons(t *testing.T) {
	js := readAsset(t, "app.js")
	block := regexp.MustCompile(`(?s)const CONFLICT_WORDS = \{(.*?)\};`).FindStringSubmatch(js)
	if block == nil {
		t.Fatal("no CONFLICT_WORDS in app.js")
	}
	var keys []string
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z_]+):`).FindAllStringSubmatch(block[1], -1) {
		keys = append(keys, m[1])
	}
	want := []string{httpapi.ReasonTransferInProgress, httpapi.ReasonNoTransfer, httpapi.ReasonNotBridged,
		httpapi.ReasonTargetOnCall, httpapi.ReasonNotTransferor, httpapi.ReasonInvalidState}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("CONFLICT_WORDS explains %v, the API's 409 reasons are %v", keys, want)
	}
}
