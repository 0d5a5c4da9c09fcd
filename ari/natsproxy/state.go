package natsproxy

import "sync"

// dialogs binds resources ("channel:<id>") to dialogs, as ari-proxy's
// dialog manager does. Bindings go when the resource is destroyed; past
// max resources a new binding is refused (and logged by the caller), so a
// stream of resources whose destroy events were missed cannot grow it
// without bound.
type dialogs struct {
	mu  sync.Mutex
	max int
	by  map[string][]string // resource → dialogs
}

func newDialogs(max int) *dialogs { return &dialogs{max: max, by: map[string][]string{}} }

// bind adds dialog to resource and reports false when full.
func (d *dialogs) bind(dialog, resource string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	list, ok := d.by[resource]
	if !ok && len(d.by) >= d.max {
		return false
	}
	for _, have := range list {
		if have == dialog {
			return true
		}
	}
	d.by[resource] = append(list, dialog)
	return true
}

func (d *dialogs) unbind(resource string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.by, resource)
}

// of returns the dialogs bound to any of resources, once each.
func (d *dialogs) of(resources []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, r := range resources {
	next:
		for _, dl := range d.by[r] {
			for _, have := range out {
				if have == dl {
					continue next
				}
			}
			out = append(out, dl)
		}
	}
	return out
}

// createdSet remembers the channels created through a request until they
// are destroyed, in two generations so it stays bounded.
type createdSet struct {
	mu       sync.Mutex
	max      int
	cur, old map[string]struct{}
}

func newCreatedSet(max int) *createdSet {
	return &createdSet{max: max, cur: map[string]struct{}{}, old: map[string]struct{}{}}
}

func (c *createdSet) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, map[string]struct{}{}
	}
	c.cur[id] = struct{}{}
}

func (c *createdSet) has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, a := c.cur[id]
	_, b := c.old[id]
	return a || b
}

func (c *createdSet) del(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, id)
	delete(c.old, id)
}
