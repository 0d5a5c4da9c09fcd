package natstransport

import "sync"

// memo is a bounded map from a resource ("channel:<id>") to a string (its
// node). It keeps two generations: when the current one is full it becomes
// the old one and the older is dropped, so memory stays under 2×max even
// when destroy events are missed, while recently used entries survive (a
// hit in the old generation is copied forward).
type memo struct {
	mu  sync.Mutex
	max int
	cur map[string]string
	old map[string]string
}

func newMemo(max int) *memo {
	return &memo{max: max, cur: make(map[string]string), old: make(map[string]string)}
}

func (m *memo) get(k string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.cur[k]; ok {
		return v, true
	}
	v, ok := m.old[k]
	if ok {
		m.putLocked(k, v)
	}
	return v, ok
}

func (m *memo) put(k, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putLocked(k, v)
}

func (m *memo) putLocked(k, v string) {
	if _, ok := m.cur[k]; !ok && len(m.cur) >= m.max {
		m.old = m.cur
		m.cur = make(map[string]string, m.max)
	}
	m.cur[k] = v
}

func (m *memo) del(k string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cur, k)
	delete(m.old, k)
}

func (m *memo) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur) + len(m.old)
}

func ref(kind, id string) string { return kind + ":" + id }
