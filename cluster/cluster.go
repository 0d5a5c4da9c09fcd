// Package cluster shares calls among transferd instances on NATS JetStream
// key-value storage: call snapshots (app.Store) and call ownership leases.
//
// Ownership: the instance that takes a call creates its lease key (a
// compare-and-set: Create fails when a live lease exists) and keeps
// renewing it. Lease keys live in a bucket whose TTL is the lease time, so
// an instance that dies stops renewing and its leases vanish. Others look
// for snapshots without a lease (Orphans), claim them with the same
// compare-and-set, re-read the call from Asterisk and carry it on.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configure New.
type Options struct {
	// Name prefixes the buckets (one pair per Stasis application), e.g.
	// "transferd" → transferd_calls and transferd_leases.
	Name string
	// Instance identifies this process in leases.
	Instance string
	// LeaseTTL is how long a lease outlives its last renewal; default 6s.
	LeaseTTL time.Duration
	// Replicas of the buckets (1 on a single server).
	Replicas int
}

// Cluster is one instance's view of the shared call state.
type Cluster struct {
	calls    jetstream.KeyValue
	leases   jetstream.KeyValue
	instance string
	ttl      time.Duration
}

// New opens (creating when missing) the buckets.
func New(ctx context.Context, nc *nats.Conn, o Options) (*Cluster, error) {
	if o.Name == "" || o.Instance == "" {
		return nil, errors.New("cluster: Name and Instance are required")
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 6 * time.Second
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	name := bucketName(o.Name)
	calls, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name + "_calls", Description: "transferd call snapshots", History: 1,
		Storage: jetstream.FileStorage, Replicas: o.Replicas})
	if err != nil {
		return nil, fmt.Errorf("cluster: calls bucket: %w", err)
	}
	leases, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name + "_leases", Description: "transferd call ownership leases", History: 1,
		TTL: o.LeaseTTL, Storage: jetstream.FileStorage, Replicas: o.Replicas})
	if err != nil {
		return nil, fmt.Errorf("cluster: leases bucket: %w", err)
	}
	return &Cluster{calls: calls, leases: leases, instance: o.Instance, ttl: o.LeaseTTL}, nil
}

// bucketName keeps the characters a bucket name may hold.
func bucketName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// key maps a call id to a valid KV key (ids may hold any character).
func key(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "=%02X", r)
		}
	}
	return b.String()
}

func unkey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] == '=' && i+2 < len(k) {
			var r rune
			if _, err := fmt.Sscanf(k[i+1:i+3], "%02X", &r); err == nil {
				b.WriteRune(r)
				i += 2
				continue
			}
		}
		b.WriteByte(k[i])
	}
	return b.String()
}

// LeaseTTL is the lease time; renew well within it.
func (c *Cluster) LeaseTTL() time.Duration { return c.ttl }

// Instance is this instance's id.
func (c *Cluster) Instance() string { return c.instance }

// Save writes a call snapshot (app.Store).
func (c *Cluster) Save(ctx context.Context, id string, b []byte) error {
	_, err := c.calls.Put(ctx, key(id), b)
	return err
}

// Delete removes a call snapshot (app.Store).
func (c *Cluster) Delete(ctx context.Context, id string) error {
	err := c.calls.Purge(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// ErrNoSnapshot mirrors app.ErrNoSnapshot without importing app; the app
// treats any Load error as "no snapshot".
var ErrNoSnapshot = errors.New("cluster: no snapshot for this call")

// Load reads a call snapshot (app.Store).
func (c *Cluster) Load(ctx context.Context, id string) ([]byte, error) {
	e, err := c.calls.Get(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, err
	}
	return e.Value(), nil
}

// List returns the ids of calls with snapshots (app.Store).
func (c *Cluster) List(ctx context.Context) ([]string, error) {
	return keys(ctx, c.calls)
}

func keys(ctx context.Context, kv jetstream.KeyValue) ([]string, error) {
	ks, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = unkey(k)
	}
	return out, nil
}

// Claim takes a call for this instance: true when this instance now owns
// it (or already did), false when another instance holds a live lease.
func (c *Cluster) Claim(ctx context.Context, id string) (bool, error) {
	_, err := c.leases.Create(ctx, key(id), []byte(c.instance))
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, fmt.Errorf("cluster: claim %s: %w", id, err)
	}
	e, gerr := c.leases.Get(ctx, key(id))
	if gerr != nil {
		return false, nil
	}
	return string(e.Value()) == c.instance, nil
}

// Renew refreshes this instance's leases on calls. A lease another
// instance has taken (after this one was presumed dead) is reported in
// lost, and must not be renewed.
func (c *Cluster) Renew(ctx context.Context, ids []string) (lost []string, err error) {
	var errs []error
	for _, id := range ids {
		e, gerr := c.leases.Get(ctx, key(id))
		switch {
		case gerr == nil && string(e.Value()) != c.instance:
			lost = append(lost, id)
			continue
		case gerr == nil:
			if _, err := c.leases.Update(ctx, key(id), []byte(c.instance), e.Revision()); err != nil {
				errs = append(errs, fmt.Errorf("renew %s: %w", id, err))
			}
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			// Expired while we were slow (or NATS was away): take it back
			// unless someone else did.
			if _, err := c.leases.Create(ctx, key(id), []byte(c.instance)); err != nil {
				if errors.Is(err, jetstream.ErrKeyExists) {
					lost = append(lost, id)
					continue
				}
				errs = append(errs, fmt.Errorf("renew %s: %w", id, err))
			}
		default:
			errs = append(errs, fmt.Errorf("renew %s: %w", id, gerr))
		}
	}
	return lost, errors.Join(errs...)
}

// Release gives a call up (it ended).
func (c *Cluster) Release(ctx context.Context, id string) error {
	err := c.leases.Purge(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// Orphans lists calls that have a snapshot but no live lease: their owner
// died (or never finished claiming).
func (c *Cluster) Orphans(ctx context.Context) ([]string, error) {
	calls, err := keys(ctx, c.calls)
	if err != nil {
		return nil, err
	}
	held, err := keys(ctx, c.leases)
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(held))
	for _, id := range held {
		live[id] = true
	}
	var out []string
	for _, id := range calls {
		if !live[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// Owner returns the instance holding a call's lease, "" when none.
func (c *Cluster) Owner(ctx context.Context, id string) (string, error) {
	e, err := c.leases.Get(ctx, key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}
