package wire

import "testing"

func TestDialogToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"s16a-alice-in", "s16a-alice-in"},
		{"transferd-node-b-1795438716.1", "transferd-node-b-1795438716=2E1"},
		{"a*b>c=d e", "a=2Ab=3Ec=3Dd=20e"},
	} {
		got := DialogToken(tc.in)
		if got != tc.want {
			t.Errorf("DialogToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := CheckToken("dialog", got); err != nil {
			t.Errorf("DialogToken(%q) = %q is not a valid token: %v", tc.in, got, err)
		}
	}
}
