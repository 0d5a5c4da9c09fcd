package featurecode

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/transferd/transferd/transfer"
)

// WithTakeback returns a matcher that also takes code (the binding key and
// digits, e.g. "*5") as a cancel: Kazoo's per-transfer takeback_dtmf. It
// returns nil and no error when m already takes code as a cancel, and an
// error naming the reason when code cannot be one (not the binding key
// followed by code digits, or already another module's code).
func (m *Matcher) WithTakeback(code string) (*Matcher, error) {
	key := string(m.key)
	digits, found := strings.CutPrefix(code, key)
	if !found || digits == "" {
		return nil, fmt.Errorf("must be the binding key %q followed by digits", key)
	}
	if r, ok := m.lookup(digits); ok && r.Action.Module == transfer.ActionCancel {
		return nil, nil
	}
	if a, taken := m.cfg.Numbers[digits]; taken {
		return nil, fmt.Errorf("%s is already the account's %s code", code, a.Module)
	}
	cfg := m.cfg
	cfg.Numbers = maps.Clone(m.cfg.Numbers)
	if cfg.Numbers == nil {
		cfg.Numbers = map[string]Action{}
	}
	cfg.Numbers[digits] = Action{Module: transfer.ActionCancel}
	return New(cfg)
}

// CancelCodes lists the codes m takes as a cancel, binding key included and
// sorted, e.g. ["*0", "*1"] (the numbers with module cancel and the
// takeback codes of transfer patterns).
func (m *Matcher) CancelCodes() []string {
	var out []string
	for code, r := range m.numbers {
		if r.action.Module == transfer.ActionCancel {
			out = append(out, string(m.key)+code)
		}
	}
	slices.Sort(out)
	return out
}
