package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/app"
)

// testConfig points ARI at a server that answers every request 503, so
// transferd runs without ever reaching Asterisk.
func testConfig(t *testing.T) app.Config {
	t.Helper()
	ari := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"unavailable"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(ari.Close)
	cfg := app.DefaultConfig()
	cfg.ARI.URL = ari.URL + "/ari"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Accounts = map[string]app.AccountConfig{"acct": cfg.Defaults}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServiceServesAndStops: New listens on http.listen; Run serves the
// API, metrics and health while ARI is away, and returns nil once its
// context ends; a drain with no live call returns at once.
func TestServiceServesAndStops(t *testing.T) {
	cfg := testConfig(t)
	s, err := New(context.Background(), cfg, Options{Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	base := "http://" + s.ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"live_calls":0`) {
		t.Errorf("GET /healthz = %d %s, want 200 with live_calls 0", code, body)
	}
	if code, body := get("/readyz"); code != 503 {
		t.Errorf("GET /readyz with ARI away = %d %s, want 503", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "transferd_") {
		t.Errorf("GET /metrics = %d, want 200 with transferd's metrics: %.200s", code, body)
	}
	if code, body := get("/v2/accounts/acct/channels"); code != 401 {
		t.Errorf("GET channels without a token = %d %s, want 401", code, body)
	}
	var env struct {
		Status string `json:"status"`
	}
	if _, body := get("/v2/accounts/acct/channels"); json.Unmarshal([]byte(body), &env) != nil || env.Status != "error" {
		t.Errorf("API answer is not the API's envelope: %s", body)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.Drain(dctx) // no live call: at once
	if dctx.Err() != nil {
		t.Errorf("Drain with no live call waited for its context")
	}
	dcancel()
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return 15s after its context ended")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the HTTP server still answers after Run returned")
	}
}

// TestNewFailsOnTakenListen: New names the address it could not listen on
// and leaves nothing open.
func TestNewFailsOnTakenListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t)
	cfg.HTTP.Listen = taken.Addr().String()
	_, err = New(context.Background(), cfg, Options{Log: zerolog.Nop()})
	var op *net.OpError
	if err == nil || !strings.Contains(err.Error(), cfg.HTTP.Listen) || !errors.As(err, &op) {
		t.Fatalf("New with http.listen taken = %v, want an error naming %s", err, cfg.HTTP.Listen)
	}
}
