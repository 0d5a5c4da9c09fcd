package wire

import (
	"errors"
	"strings"
	"testing"
)

// A body built after a refused path segment must not clear the refusal: a
// channel id of ".." would address /channels itself.
func TestToHTTPRefusedSegmentSurvivesBody(t *testing.T) {
	for _, r := range []*Request{
		{Kind: "ChannelOriginate", ChannelOriginate: &ChannelOriginate{OriginateRequest: OriginateRequest{
			ChannelID: "..", Endpoint: "PJSIP/alice", Variables: map[string]string{"A": "1"},
		}}},
		{Kind: "AsteriskConfigUpdate", Key: &Key{ID: "res_pjsip/endpoint/.."}, StockBodies: StockBodies{
			AsteriskConfig: &AsteriskConfig{Tuples: []ConfigTuple{{Attribute: "allow", Value: "ulaw"}}},
		}},
	} {
		c, err := ToHTTP(r)
		if err == nil {
			t.Errorf("%s: ToHTTP = %s %s, want an error for the segment \"..\"", r.Kind, c.Method, c.Path)
			continue
		}
		if !strings.Contains(err.Error(), `invalid path segment ".."`) {
			t.Errorf("%s: error %q does not name the segment", r.Kind, err)
		}
	}
	if _, err := ToHTTP(&Request{Kind: "NoSuchKind"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown kind: error %v, want ErrUnsupported", err)
	}
}
