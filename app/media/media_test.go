package media

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		uri   string
		allow []string
		ok    bool
	}{
		{"tone:ring", nil, true},
		{"tone:congestion", nil, true},
		{"sound:beeperr", nil, true},
		{"sound:custom/ringing", nil, true},
		{"sound:custom/hold-2_b", nil, true},
		// traversal and absolute paths
		{"sound:../../../../etc/secret", nil, false},
		{"sound:custom/../../secret", nil, false},
		{"sound:..", nil, false},
		{"sound:./beep", nil, false},
		{"sound:/etc/secret", nil, false},
		{"sound:custom//beep", nil, false},
		{"sound:custom/", nil, false},
		{"sound:", nil, false},
		{"sound:beep.gsm", nil, false},
		{"sound:be ep", nil, false},
		{"sound:b\x00eep", nil, false},
		{"sound:béep", nil, false},
		{"tone:ring/x", nil, false},
		{"tone:440+480/2000,0/4000", nil, false},
		// other schemes only when allowed
		{"recording:greeting", nil, false},
		{"recording:greeting", []string{"recording:"}, true},
		{"recording:../greeting", []string{"recording:"}, false},
		{"digits:1234", nil, false},
		{"number:12", []string{"number:"}, true},
		{"file:///etc/passwd", nil, false},
		{"http://x/y", nil, false},
		{"ring", nil, false},
		{"", nil, false},
		{strings.Repeat("a", 130), nil, false},
		// exact entries
		{"sound:/srv/sounds/welcome", []string{"sound:/srv/sounds/welcome"}, true},
		{"sound:/srv/sounds/other", []string{"sound:/srv/sounds/welcome"}, false},
		{"tone:ring;tonezone=fr", []string{"tone:ring;tonezone=fr"}, true},
	} {
		err := Check(tc.uri, tc.allow)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q, %q) = %v, want ok=%v", tc.uri, tc.allow, err, tc.ok)
		}
	}
}

func TestCheckMessages(t *testing.T) {
	if err := Check("recording:x", nil); err == nil || !strings.Contains(err.Error(), `"recording:"`) {
		t.Errorf("scheme refusal does not say how to allow it: %v", err)
	}
	if err := Check("sound:../x", nil); err == nil || !strings.Contains(err.Error(), `no ".."`) {
		t.Errorf("traversal refusal does not give the rule: %v", err)
	}
	if err := Check(strings.Repeat("sound:x", 12), nil); err == nil || len(err.Error()) > 400 {
		t.Errorf("long value: %v", err)
	}
}

func TestCheckAllow(t *testing.T) {
	for entry, ok := range map[string]bool{
		"recording:":                  true,
		"sound:":                      true,
		"sound:/srv/sounds/welcome":   true,
		"tone:ring;tonezone=fr":       true,
		"sound:/srv/../etc/secret":    false,
		"sound:..":                    false,
		"recording":                   false,
		"file:":                       false,
		"sound:/srv/a b":              false,
		"sound:/srv/a\nb":             false,
		"":                            false,
		strings.Repeat("sound:a", 30): false,
	} {
		if err := CheckAllow(entry); (err == nil) != ok {
			t.Errorf("CheckAllow(%q) = %v, want ok=%v", entry, err, ok)
		}
	}
}

func TestValidClass(t *testing.T) {
	for s, ok := range map[string]bool{
		"default": true, "sales-2": true, "a.b_c": true,
		"": false, "a/b": false, "a b": false, "x;y": false, strings.Repeat("a", 65): false,
	} {
		if ValidClass(s) != ok {
			t.Errorf("ValidClass(%q) != %v", s, ok)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"sound:beep", "sound:../x", "tone:ring", "recording:a/b", "sound:a//b", "sound:/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if Check(uri, nil) != nil {
			return
		}
		// Anything accepted without an allow list is a plain, relative name
		// of tone or sound.
		scheme, name, _ := strings.Cut(uri, ":")
		if scheme != "tone" && scheme != "sound" {
			t.Fatalf("accepted scheme %q", uri)
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "..") || strings.Contains(name, "//") || strings.ContainsAny(name, ".\\ :\x00") {
			t.Fatalf("accepted %q", uri)
		}
	})
}
