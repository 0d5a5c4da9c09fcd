package transfer

import "slices"

// ReplaceChannel returns t with party old replaced by new, everywhere the
// snapshot names it: the same role, the same place (held or not), the same
// state. Asterisk replaces a channel by another (call pickup, a REFER with
// Replaces, a masquerade, Local channel optimisation) and the transfer goes
// on with the newcomer. A channel that is no party leaves t as it is.
func (t Transfer) ReplaceChannel(old, new string) Transfer {
	if old == "" || new == "" || old == new {
		return t
	}
	for _, p := range []*string{&t.Transferor, &t.Transferee, &t.Target, &t.Recall, &t.FallbackLeg, &t.Held} {
		if *p == old {
			*p = new
		}
	}
	t.Gone = slices.Clone(t.Gone)
	for i, g := range t.Gone {
		if g == old {
			t.Gone[i] = new
		}
	}
	return t
}
