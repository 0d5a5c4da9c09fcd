// Package ui is the operator page, served by transferd itself at /ui/: the
// account's live calls and one-tap transfer buttons, on a phone's screen and
// on a desktop.
//
// The page is plain HTML, CSS and one vanilla JavaScript file, embedded in
// the binary. There is no build step, no framework and no third-party code:
// what runs in the browser is exactly what is in static/, a few hundred
// lines anyone can audit, with nothing to keep updated against upstream
// releases. Everything the page loads comes from transferd (no CDN), and
// the Content-Security-Policy below makes the browser refuse anything else.
//
// The page talks to the HTTP API only (package httpapi): it lists calls with
// GET .../channels, follows GET .../events (read with fetch, since
// EventSource cannot send the token header) and acts with POST
// .../channels/{call_id}. The token lives in the tab's sessionStorage and
// travels in the X-Auth-Token header, never in a URL.
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the page is served.
const Prefix = "/ui/"

// securityHeaders go on every answer of the page. The policy allows only
// transferd's own scripts, styles and API ('self'): no inline script, no
// other origin, no framing.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the page's files under Prefix: GET and HEAD only, each with
// a strong ETag so a reload costs a 304.
func Handler() http.Handler {
	assets := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		assets[strings.TrimPrefix(p, "static/")] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		// The files are compiled in: failing to read them is a build defect.
		panic("ui: embedded files: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method "+r.Method+" not allowed on the operator page; allowed: GET, HEAD", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			http.Error(w, "no such file in the operator page: "+r.URL.Path, http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		// Revalidate every time: a new transferd must never run an old page.
		h.Set("Cache-Control", "no-cache")
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.body)
	})
}

// Mount serves the page under Prefix (and redirects /ui to it) in front of
// next, which gets every other request.
func Mount(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Prefix, Handler())
	mux.Handle("/ui", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	mux.Handle("/", next)
	return mux
}
