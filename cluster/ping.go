package cluster

import (
	"context"
	"fmt"
)

// Ping checks that NATS and both key-value buckets answer now (for
// readiness): one JetStream request per bucket.
func (c *Cluster) Ping(ctx context.Context) error {
	if _, err := c.calls.Status(ctx); err != nil {
		return fmt.Errorf("key-value bucket %s: %w", c.calls.Bucket(), err)
	}
	if _, err := c.leases.Status(ctx); err != nil {
		return fmt.Errorf("key-value bucket %s: %w", c.leases.Bucket(), err)
	}
	return nil
}
