package featurecode_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/transfer"
)

func TestWithTakeback(t *testing.T) {
	m := must(t, featurecode.Default()) // *0 *1 cancel, *3 *4 *9, *2<n> *7<n>
	tests := []struct {
		code    string
		same    bool   // already a cancel: nil matcher, no error
		wantErr string // a part of the error, "" for none
	}{
		{code: "*1", same: true},
		{code: "*0", same: true},
		{code: "*5"},
		{code: "*55"},
		{code: "*9", wantErr: "*9 is already the account's swap code"},
		{code: "5", wantErr: `must be the binding key "*" followed by digits`},
		{code: "*", wantErr: `must be the binding key "*" followed by digits`},
		{code: "*25", wantErr: "conflicts with"},
	}
	for _, tt := range tests {
		got, err := m.WithTakeback(tt.code)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("WithTakeback(%q) error = %v, want one containing %q", tt.code, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("WithTakeback(%q) error = %v, want none", tt.code, err)
		case tt.same && got != nil:
			t.Errorf("WithTakeback(%q) = a new matcher, want nil (already a cancel)", tt.code)
		case !tt.same:
			if got == nil {
				t.Fatalf("WithTakeback(%q) = nil, want a matcher", tt.code)
			}
			if !slices.Contains(got.CancelCodes(), tt.code) {
				t.Errorf("WithTakeback(%q).CancelCodes() = %v, want %s among them", tt.code, got.CancelCodes(), tt.code)
			}
			if slices.Contains(m.CancelCodes(), tt.code) {
				t.Errorf("WithTakeback(%q) changed the original matcher: %v", tt.code, m.CancelCodes())
			}
		}
	}
}

func TestCancelCodes(t *testing.T) {
	m := must(t, featurecode.Default())
	if got, want := strings.Join(m.CancelCodes(), ","), "*0,*1"; got != want {
		t.Errorf("Default CancelCodes() = %s, want %s", got, want)
	}
	// A transfer pattern's takeback code is a cancel code too.
	m = must(t, featurecode.Config{Numbers: map[string]featurecode.Action{"4": {Module: transfer.ActionComplete}},
		Patterns: map[string]featurecode.Action{`2(\d+)`: {Module: transfer.ActionTransfer, Data: map[string]string{featurecode.TakebackData: "*6"}}}})
	if got, want := strings.Join(m.CancelCodes(), ","), "*6"; got != want {
		t.Errorf("CancelCodes() = %s, want %s", got, want)
	}
	if got := must(t, featurecode.Config{}).CancelCodes(); len(got) != 0 {
		t.Errorf("empty config CancelCodes() = %v, want none", got)
	}
}
