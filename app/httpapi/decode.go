package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/transferd/transferd/app"
	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/app/media"
	"github.com/transferd/transferd/transfer"
)

// Request is a decoded, validated action request:
//
//	{"data":{"action":"transfer","target":"2600","takeback_dtmf":"*1","moh":"default"}}
type Request struct {
	Action string
	// Target is the number to call (transfer and blind_transfer only).
	Target string
	// Per-transfer options (transfer and blind_transfer only); "" or 0: the
	// account's configuration applies.
	TakebackDTMF    string
	MOH             string
	Ringback        string
	NoAnswerTimeout time.Duration
}

// Data is the request's options as the application takes them (Kazoo's
// metaflow data keys). Unset options are left out.
func (r Request) Data() map[string]string {
	d := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set(featurecode.TakebackData, r.TakebackDTMF)
	set(featurecode.MOHData, r.MOH)
	set(featurecode.RingbackData, r.Ringback)
	if r.NoAnswerTimeout > 0 {
		d[featurecode.NoAnswerTimeoutData] = r.NoAnswerTimeout.String()
	}
	return d
}

// MarshalJSON encodes r as a request body that Decode reads back as r.
func (r Request) MarshalJSON() ([]byte, error) {
	data := map[string]any{"action": r.Action}
	for k, v := range r.Data() {
		data[k] = v
	}
	if r.Target != "" {
		data["target"] = r.Target
	}
	return json.Marshal(map[string]any{"data": data})
}

// Limits of the request fields.
const (
	MaxBodyBytes       = 64 << 10
	maxTakebackLen     = 33 // the binding key and a code of at most 32 digits
	maxNoAnswerTimeout = time.Hour
)

// fields of data, and which actions take them.
var dataFields = map[string]bool{
	"action": true, "target": true,
	featurecode.TakebackData: true, featurecode.MOHData: true, featurecode.RingbackData: true, featurecode.NoAnswerTimeoutData: true,
}

// Decode reads an action request. Every error is a 400 *Error whose message
// starts with the field at fault ("body", "data", "data.action",
// "data.target", "data.<unknown>", ...). Unknown and duplicate fields are
// errors; keys are case-sensitive; null is the same as an absent field.
// Media (ringback) must pass the strict rule of package media with no
// account allowances; DecodeFor applies an account's media_allow.
func Decode(body []byte) (Request, *Error) { return DecodeFor(body, nil) }

// DecodeFor is Decode for an account whose media_allow list is mediaAllow
// (see media.Check).
func DecodeFor(body []byte, mediaAllow []string) (Request, *Error) {
	var req Request
	if len(bytes.TrimSpace(body)) == 0 {
		return req, badField(ReasonMissingField, "data", `required: the body is empty; send {"data":{"action":"transfer","target":"2600"}}`)
	}
	top, e := readObject(body, "")
	if e != nil {
		return req, e
	}
	raw, ok := top["data"]
	if !ok || isNull(raw) {
		return req, badField(ReasonMissingField, "data", `required: send {"data":{"action":...}}`)
	}
	if raw[0] != '{' {
		return req, badField(ReasonInvalidField, "data", "must be a JSON object, got "+jsonKind(raw))
	}
	data, e := readObject(raw, "data.")
	if e != nil {
		return req, e
	}
	str := func(key string) (string, bool, *Error) {
		raw, ok := data[key]
		if !ok || isNull(raw) {
			return "", false, nil
		}
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return "", false, badField(ReasonInvalidField, "data."+key, "must be a string, got "+jsonKind(raw))
		}
		return s, true, nil
	}

	action, ok, e := str("action")
	if e != nil {
		return req, e
	}
	if !ok || action == "" {
		return req, badField(ReasonMissingField, "data.action", "required: one of "+strings.Join(transfer.Actions, ", "))
	}
	if !slices.Contains(transfer.Actions, action) {
		return req, badField(ReasonUnknownAction, "data.action", "unknown action "+quote(action)+"; want one of "+strings.Join(transfer.Actions, ", "))
	}
	req.Action = action

	if !transfer.StartsTransfer(action) {
		// The other actions take nothing else.
		for _, k := range sortedKeys(data) {
			if k != "action" && !isNull(data[k]) {
				return req, badField(ReasonInvalidField, "data."+k, "not used by action "+action+" (only transfer and blind_transfer take it)")
			}
		}
		return req, nil
	}

	target, ok, e := str("target")
	if e != nil {
		return req, e
	}
	switch {
	case !ok:
		return req, badField(ReasonMissingField, "data.target", "required for action "+action+": the number to transfer to")
	case target == "":
		return req, badField(ReasonMissingField, "data.target", "must not be empty: the number to transfer to")
	case !app.ValidNumber(target):
		return req, badField(ReasonInvalidField, "data.target", quote(target)+" is not a dialable number: only digits, letters and + * # - _ . are allowed, at most 64 characters")
	}
	req.Target = target

	if req.TakebackDTMF, _, e = str(featurecode.TakebackData); e != nil {
		return req, e
	}
	if req.TakebackDTMF != "" && !validDTMF(req.TakebackDTMF) {
		return req, badField(ReasonInvalidField, "data."+featurecode.TakebackData, quote(req.TakebackDTMF)+` must be the binding key and a code in DTMF digits (0-9, *, #, A-D), at most 33, e.g. "*1"`)
	}
	if req.MOH, _, e = str(featurecode.MOHData); e != nil {
		return req, e
	}
	if req.MOH != "" && !media.ValidClass(req.MOH) {
		return req, badField(ReasonInvalidField, "data."+featurecode.MOHData, quote(req.MOH)+" is not "+media.ClassRule)
	}
	if req.Ringback, _, e = str(featurecode.RingbackData); e != nil {
		return req, e
	}
	if req.Ringback != "" {
		if err := media.Check(req.Ringback, mediaAllow); err != nil {
			return req, badField(ReasonInvalidField, "data."+featurecode.RingbackData, err.Error())
		}
	}
	if raw, ok := data[featurecode.NoAnswerTimeoutData]; ok && !isNull(raw) && string(raw) != `""` {
		d, err := parseTimeout(raw)
		if err != nil {
			return req, badField(ReasonInvalidField, "data."+featurecode.NoAnswerTimeoutData, err.Error())
		}
		req.NoAnswerTimeout = d
	}
	return req, nil
}

// readObject reads one JSON object of raw values; prefix names its place
// ("" or "data.") in error messages. It rejects unknown fields (for the top
// level anything but data, for data anything but dataFields), duplicate
// fields and anything after the object.
func readObject(b []byte, prefix string) (map[string]json.RawMessage, *Error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	where := "body"
	if prefix != "" {
		where = strings.TrimSuffix(prefix, ".")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err, dec)
	}
	if tok != json.Delim('{') {
		return nil, badField(ReasonInvalidField, where, "must be a JSON object such as {\"data\":{\"action\":\"transfer\",\"target\":\"2600\"}}, got "+tokenKind(tok))
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err, dec)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err, dec)
		}
		if prefix == "" && key != "data" || prefix != "" && !dataFields[key] {
			want := `"data"`
			if prefix != "" {
				want = "action, target, takeback_dtmf, moh, ringback, no_answer_timeout"
			}
			return nil, badField(ReasonUnknownField, prefix+fieldName(key), "unknown field; known fields here: "+want)
		}
		if _, dup := out[key]; dup {
			return nil, badField(ReasonDuplicateField, prefix+key, "given twice")
		}
		out[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed(err, dec)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, malformed(err, dec)
		}
		return nil, badField(ReasonMalformedJSON, where, "more data after the JSON object: "+tokenKind(tok))
	}
	return out, nil
}

// fieldName shows a request's key in a field path: as it is when it is a
// plain name, else quoted (and cut), so that "" or a key of a thousand
// characters still make a readable, bounded message.
func fieldName(key string) string {
	plain := key != "" && len(key) <= 64
	for i := 0; plain && i < len(key); i++ {
		c := key[i]
		plain = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
	}
	if plain {
		return key
	}
	return quote(key)
}

func malformed(err error, dec *json.Decoder) *Error {
	var se *json.SyntaxError
	msg := err.Error()
	switch {
	case errors.As(err, &se):
		msg = fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = fmt.Sprintf("malformed JSON: unexpected end of input at byte %d", dec.InputOffset())
	default:
		msg = "malformed JSON: " + strings.TrimPrefix(msg, "json: ")
	}
	return &Error{Status: 400, Reason: ReasonMalformedJSON, Field: "body", Message: "body: " + msg}
}

func isNull(raw json.RawMessage) bool { return len(raw) == 4 && string(raw) == "null" }

// jsonKind names the JSON type of a (syntactically valid) value.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			return "an array"
		case '{':
			return "an object"
		}
		return quote(t.String())
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}

func sortedKeys(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }

// parseTimeout reads no_answer_timeout: a whole number of seconds (JSON
// number or string) or a Go duration string ("20s", "1m30s").
func parseTimeout(raw json.RawMessage) (time.Duration, error) {
	var d time.Duration
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New("must be seconds or a duration string")
		}
		if n, err := strconv.Atoi(s); err == nil {
			d = time.Duration(n) * time.Second
			if n <= 0 || n > int(maxNoAnswerTimeout/time.Second) {
				return 0, fmt.Errorf("must be between 1 and %d seconds, got %s", int(maxNoAnswerTimeout/time.Second), quote(s))
			}
			return d, nil
		}
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf(`must be whole seconds (20) or a duration ("20s", "1m30s"), got %s`, quote(s))
		}
	default:
		if jsonKind(raw) != "a number" {
			return 0, fmt.Errorf(`must be whole seconds (20) or a duration string ("20s"), got %s`, jsonKind(raw))
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n <= 0 || n > int64(maxNoAnswerTimeout/time.Second) {
			return 0, fmt.Errorf("must be a whole number of seconds between 1 and %d, got %s", int(maxNoAnswerTimeout/time.Second), quote(string(raw)))
		}
		return time.Duration(n) * time.Second, nil
	}
	if d <= 0 || d > maxNoAnswerTimeout {
		return 0, fmt.Errorf("must be more than 0 and at most %s, got %s", maxNoAnswerTimeout, d)
	}
	return d, nil
}

func validDTMF(s string) bool {
	if len(s) < 2 || len(s) > maxTakebackLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D') {
			return false
		}
	}
	return true
}
