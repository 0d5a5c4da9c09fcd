package transfer

import (
	"slices"
	"testing"
)

func TestReplaceChannel(t *testing.T) {
	tr := Transfer{Transferor: "a", Transferee: "b", Target: "c", Held: "b", Gone: []string{"c"}}
	got := tr.ReplaceChannel("c", "d")
	if got.Target != "d" || got.Transferor != "a" || got.Transferee != "b" || !slices.Equal(got.Gone, []string{"d"}) {
		t.Fatalf("target replaced: %+v", got)
	}
	if tr.Target != "c" || tr.Gone[0] != "c" {
		t.Fatalf("the original changed: %+v", tr)
	}
	got = tr.ReplaceChannel("b", "e")
	if got.Transferee != "e" || got.Held != "e" {
		t.Fatalf("held transferee replaced: %+v", got)
	}
	if got := tr.ReplaceChannel("x", "y"); got.Transferor != "a" || got.Target != "c" || got.Held != "b" {
		t.Fatalf("a stranger changed the transfer: %+v", got)
	}
}
