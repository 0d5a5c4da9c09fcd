// Package media is transferd's one rule for what may be played into a call
// and which music on hold class may be named. Every media value, from the
// HTTP API or from the configuration file, goes through Check before it
// reaches Asterisk: a media URI is a file lookup on the Asterisk host
// ("sound:../../x" plays any file the Asterisk user can read), so anything
// looser than a plain name must be allowed by the account's configuration.
package media

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen bounds a media URI and an allow-list entry.
const MaxLen = 128

// MaxClassLen bounds a music on hold class name.
const MaxClassLen = 64

// Schemes are the media URI schemes Asterisk plays (ARI Play). Only tone
// and sound are allowed without the account's say-so.
var Schemes = []string{"sound", "tone", "recording", "digits", "number", "characters"}

// Rule says in words what Check accepts, for error messages and docs.
const Rule = `tone:<indication> or sound:<name>, a name being letters, digits, _ and - in segments joined by / (no "..", not absolute); anything else only when listed in the account's media_allow`

// Check says whether uri may be played for an account whose media_allow
// list is allow (entries already checked by CheckAllow). It accepts:
//
//   - tone:<indication> and sound:<name>, where the indication or name is
//     a plain name (see PlainName);
//   - <scheme>:<plain name> when allow lists "<scheme>:" (e.g. "recording:");
//   - uri itself when allow lists it exactly (e.g. "sound:/srv/moh/welcome").
//
// The error says what is wrong, without the field name.
func Check(uri string, allow []string) error {
	if uri == "" {
		return errors.New("must not be empty")
	}
	if len(uri) > MaxLen {
		return fmt.Errorf("longer than %d characters", MaxLen)
	}
	for _, a := range allow {
		if a == uri {
			return nil
		}
	}
	scheme, name, ok := strings.Cut(uri, ":")
	if !ok || !knownScheme(scheme) {
		return fmt.Errorf("%s is not a media URI: want %s", quote(uri), Rule)
	}
	allowed := scheme == "tone" || scheme == "sound"
	for _, a := range allow {
		allowed = allowed || a == scheme+":"
	}
	if !allowed {
		return fmt.Errorf("%s: the %s: scheme is not allowed for this account (add %q to its media_allow to allow it)", quote(uri), scheme, scheme+":")
	}
	if !PlainName(name) {
		return fmt.Errorf("%s is not allowed: want %s", quote(uri), Rule)
	}
	if scheme == "tone" && strings.Contains(name, "/") {
		return fmt.Errorf("%s is not allowed: a tone is an indication name such as ring, busy or congestion", quote(uri))
	}
	return nil
}

// PlainName is the strict name rule: one or more segments of letters,
// digits, '_' and '-', joined by single '/'. So never "..", ".", an empty
// segment, a leading '/' (absolute) or anything that is not ASCII.
func PlainName(s string) bool {
	if s == "" || len(s) > MaxLen {
		return false
	}
	seg := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '-':
			seg++
		case c == '/' && seg > 0:
			seg = 0
		default:
			return false
		}
	}
	return seg > 0
}

// CheckAllow validates one media_allow entry: either "<scheme>:" (every
// plain name of that scheme) or one exact media URI, which may be any
// path the operator chose (absolute included) but never holds a ".."
// segment, whitespace or control characters.
func CheckAllow(entry string) error {
	if len(entry) > MaxLen {
		return fmt.Errorf("longer than %d characters", MaxLen)
	}
	scheme, res, ok := strings.Cut(entry, ":")
	if !ok || !knownScheme(scheme) {
		return fmt.Errorf("%s must be a scheme such as \"recording:\" or one media URI such as \"sound:/srv/sounds/welcome\"; schemes: %s", quote(entry), strings.Join(Schemes, ", "))
	}
	for i := 0; i < len(res); i++ {
		if res[i] <= ' ' || res[i] == 0x7f {
			return fmt.Errorf("%s holds whitespace or a control character", quote(entry))
		}
	}
	for _, seg := range strings.Split(res, "/") {
		if seg == ".." {
			return fmt.Errorf("%s holds a \"..\" segment: name the file by its own path", quote(entry))
		}
	}
	return nil
}

// ValidClass is the rule for a music on hold class name (musiconhold.conf):
// letters, digits, '-', '_' and '.', at most MaxClassLen characters. A
// class is a section name, never a path.
func ValidClass(s string) bool {
	if s == "" || len(s) > MaxClassLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ClassRule says in words what ValidClass accepts.
const ClassRule = "a music on hold class name (musiconhold.conf): letters, digits, - _ . only, at most 64 characters"

func knownScheme(s string) bool {
	for _, k := range Schemes {
		if s == k {
			return true
		}
	}
	return false
}

// quote shows a value in a message, cut to a bounded length.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}
