package natstransport

import (
	"slices"
	"sync"
	"time"
)

// cluster is the set of proxies seen on the announce subject (and in
// answers), as the stock client's cluster package keeps it: a broadcast
// waits for as many answers as there are fresh members of the application.
type cluster struct {
	mu      sync.Mutex
	members map[string]member // by node
}

type member struct {
	app  string
	seen time.Time
}

func newCluster() *cluster { return &cluster{members: map[string]member{}} }

// update records node serving app at now and reports whether it is new.
func (c *cluster) update(node, app string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.members[node]
	c.members[node] = member{app: app, seen: now}
	return !ok || old.app != app
}

// nodes returns the nodes serving app seen within maxAge, sorted. Members
// older than that are forgotten.
func (c *cluster) nodes(app string, maxAge time.Duration) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	cut := time.Now().Add(-maxAge)
	var out []string
	for n, m := range c.members {
		if m.seen.Before(cut) {
			delete(c.members, n)
			continue
		}
		if m.app == app {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
