package natsbus_test

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/transferd/transferd/natsbus"
)

// TestNATSEmbeddedRestart: the embedded server has JetStream, keeps its
// key-value data in Dir across a restart on the same port, and a Connect
// connection rides the restart out.
func TestNATSEmbeddedRestart(t *testing.T) {
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()

	srv, err := natsbus.StartEmbedded(natsbus.Options{Port: port, Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsbus.Connect(srv.ClientURL(), "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "n-calls"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctx, "n-call-1", "owner-a"); err != nil {
		t.Fatal(err)
	}

	reconnected := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(reconnected)
	srv.Shutdown()
	time.Sleep(500 * time.Millisecond)
	srv, err = natsbus.StartEmbedded(natsbus.Options{Port: port, Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not come back")
	}
	kv, err = js.KeyValue(ctx, "n-calls")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "n-call-1")
	if err != nil || string(e.Value()) != "owner-a" {
		t.Fatalf("value after restart = %v, %v", e, err)
	}
}

// TestNATSEmbeddedTempDir: without Dir, a temporary one is made and removed.
func TestNATSEmbeddedTempDir(t *testing.T) {
	srv, err := natsbus.StartEmbedded(natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if srv.ClientURL() == "" || !srv.NATS().JetStreamEnabled() {
		t.Fatal("no URL or no JetStream")
	}
	srv.Shutdown()
}

// TestConnectWritesAtOnce: a Connect connection writes each message as it
// is published (no wait for nats.go's flusher goroutine), and what is
// published while the server is down is still kept and sent on reconnect.
func TestConnectWritesAtOnce(t *testing.T) {
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv, err := natsbus.StartEmbedded(natsbus.Options{Port: port, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsbus.Connect(srv.ClientURL(), "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.Opts.WriteBufferSize; got != 1 {
		t.Fatalf("WriteBufferSize = %d, want 1 (write each message at once)", got)
	}
	sub, err := nc.SubscribeSync("t.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("t.up", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "1" {
		t.Fatalf("message while up: %v, %v", m, err)
	}

	reconnected := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(reconnected)
	down := nc.StatusChanged(nats.RECONNECTING)
	defer nc.RemoveStatusListener(down)
	srv.Shutdown()
	select {
	case <-down:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not notice the server going")
	}
	if err := nc.Publish("t.down", []byte("2")); err != nil {
		t.Fatalf("publish while reconnecting: %v", err)
	}
	srv, err = natsbus.StartEmbedded(natsbus.Options{Port: port, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not come back")
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "2" {
		t.Fatalf("message published while down: %v, %v", m, err)
	}
}
