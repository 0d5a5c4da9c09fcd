package ari

import "github.com/rs/zerolog"

// Secret is a string that never prints itself: fmt, JSON, text encoders
// (yaml) and zerolog all see "***". Convert with string(s) at the one place
// the real value is needed (the Authorization header). An empty Secret prints
// as "" so a redacted config still shows whether a password was set.
type Secret string

const redacted = "***"

func (s Secret) show() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.show() }

// GoString implements fmt.GoStringer, so %#v does not leak the value either.
func (s Secret) GoString() string { return `ari.Secret("` + s.show() + `")` }

// MarshalText implements encoding.TextMarshaler, which yaml encoders use.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.show()), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.show() + `"`), nil }

// MarshalZerologObject implements zerolog.LogObjectMarshaler for
// logger.Object("password", s), which renders {"value":"***"}. Str and
// Stringer go through String, Interface through MarshalJSON.
func (s Secret) MarshalZerologObject(e *zerolog.Event) { e.Str("value", s.show()) }

var _ zerolog.LogObjectMarshaler = Secret("")
