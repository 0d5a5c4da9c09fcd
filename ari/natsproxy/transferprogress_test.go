package natsproxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/ari/natsproxy"
	"github.com/transferd/transferd/natsbus"
)

// TestNATSProxyTransferProgress: the extension kind that tells a phone how
// its REFER went (transferd's REFER handling behind NATS) reaches Asterisk
// as POST /channels/{id}/transfer_progress with the state.
func TestNATSProxyTransferProgress(t *testing.T) {
	fake := &fakeAsterisk{}
	srvHTTP := httptest.NewServer(http.HandlerFunc(fake.serve))
	defer srvHTTP.Close()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	srv, err := natsbus.StartEmbedded(natsbus.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := natsbus.Connect(srv.ClientURL(), "t", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{URL: srvHTTP.URL + "/ari", PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := natsproxy.New(natsproxy.Options{NC: nc, App: "demo", Transport: tr, Node: "eid-1", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-p.Ready():
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy not ready")
	}
	fake.take()
	req := `{"kind":"ChannelTransferProgress","key":` + k("channel", "c1") + `,"channel_transfer_progress":{"states":"channel_answered"}}`
	resp := request(t, nc, "ari.command.demo.eid-1", []byte(req))
	if resp.Error != "" || resp.Status >= 300 {
		t.Fatalf("answer %+v", resp)
	}
	if got, want := fake.take(), "POST /channels/c1/transfer_progress?states=channel_answered"; !slices.Contains(got, want) {
		t.Fatalf("Asterisk got %q, want %q", got, want)
	}
}
