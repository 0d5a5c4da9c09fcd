package app

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The configuration file is checked against the shape of Config before
// it is decoded, so that every problem names the key path as written in
// the file (http.listn, accounts.demo.transfer.no_answer_timeout) and its
// true line, in words rather than Go type names, and so that one bad
// value does not hide the others: the rest of the file is still decoded,
// and Validate's problems are reported with these.

// FileProblems are the problems of a configuration file that still let
// the rest of it be read: unknown keys and values of the wrong type.
// ParseConfig returns them with the configuration decoded from everything
// else, so that a caller can report them together with Validate's.
type FileProblems struct{ Errs []error }

func (p *FileProblems) Error() string {
	msgs := make([]string, len(p.Errs))
	for i, e := range p.Errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap gives the problems one by one.
func (p *FileProblems) Unwrap() []error { return p.Errs }

// sourceLines maps the key paths the file sets to their lines.
type sourceLines map[string]int

var durationType = reflect.TypeOf(time.Duration(0))

// checkNode checks n against type t at key path path, recording the line
// of every key it meets in lines and every problem in probs.
func checkNode(n *yaml.Node, t reflect.Type, path string, lines sourceLines, probs *[]error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // null: the key keeps its value
	}
	bad := func(format string, args ...any) {
		*probs = append(*probs, fmt.Errorf("%s (line %d): %s", shown(path), n.Line, fmt.Sprintf(format, args...)))
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			bad("must be a duration such as 5s or 1500ms, got %s", nodeKind(n))
			return
		}
		if n.Tag == "!!int" || n.Tag == "!!float" {
			bad("must be a duration with a unit, such as %ss or %sms; got the bare number %s", n.Value, n.Value, n.Value)
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			bad("must be a duration such as 5s, 1m or 1500ms, got %q", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad("must be a mapping of keys (%s), got %s", strings.Join(structKeys(t), ", "), nodeKind(n))
			return
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.IsExported() {
				fields[fieldKey(f)] = f
			}
		}
		forPairs(n, func(k, v *yaml.Node) {
			sub := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				where := "the top level"
				if path != "" {
					where = shown(path)
				}
				*probs = append(*probs, fmt.Errorf("%s (line %d): unknown key; %s takes: %s", shown(sub), k.Line, where, strings.Join(structKeys(t), ", ")))
				return
			}
			lines[sub] = k.Line
			checkNode(v, f.Type, sub, lines, probs)
		})
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad("must be a mapping, got %s", nodeKind(n))
			return
		}
		forPairs(n, func(k, v *yaml.Node) {
			sub := path + "." + yamlKey(k.Value)
			lines[sub] = k.Line
			checkNode(v, t.Elem(), sub, lines, probs)
		})
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad("must be a list, got %s", nodeKind(n))
			return
		}
		for i, item := range n.Content {
			sub := fmt.Sprintf("%s[%d]", path, i)
			lines[sub] = item.Line
			checkNode(item, t.Elem(), sub, lines, probs)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			bad("must be %s, got %s", kindWords(t), nodeKind(n))
			return
		}
		// yaml.v3 decides which scalars fit (yes/no for a bool, ...).
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			bad("must be %s, got %q", kindWords(t), n.Value)
		}
	}
}

// forPairs calls f for each key and value of mapping n, following merge
// keys (<<: *anchor).
func forPairs(n *yaml.Node, f func(k, v *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			switch v.Kind {
			case yaml.MappingNode:
				forPairs(v, f)
			case yaml.SequenceNode:
				for _, m := range v.Content {
					for m.Kind == yaml.AliasNode && m.Alias != nil {
						m = m.Alias
					}
					forPairs(m, f)
				}
			}
			continue
		}
		f(k, v)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + yamlKey(key)
}

// shown is a key path in a message; the root is "(top level)".
func shown(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

// fieldKey is the YAML key of a struct field, as yaml.v3 names it.
func fieldKey(f reflect.StructField) string {
	if tag, ok := f.Tag.Lookup("yaml"); ok {
		name, _, _ := strings.Cut(tag, ",")
		if name != "" {
			return name
		}
	}
	return strings.ToLower(f.Name)
}

func structKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			keys = append(keys, fieldKey(f))
		}
	}
	sort.Strings(keys)
	return keys
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func kindWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.Kind().String()
}

// lineNote is " (line N)" for a key the file sets, " (defaults.<rest>,
// line N)" for an account's key it inherits from the file's defaults, or
// "".
func (s sourceLines) lineNote(key string) string {
	if s == nil {
		return ""
	}
	if l, ok := s[key]; ok {
		return fmt.Sprintf(" (line %d)", l)
	}
	if rest, ok := strings.CutPrefix(key, "accounts."); ok {
		if _, sub, ok := strings.Cut(rest, "."); ok {
			// The account name has no dot in a key path unless quoted;
			// a quoted one falls back to no line.
			if l, ok := s["defaults."+sub]; ok {
				return fmt.Sprintf(" (from defaults.%s, line %d)", sub, l)
			}
		}
	}
	return ""
}

// ForgetLine notes that key's value no longer comes from the file (an
// environment variable or a flag set it), so its problems carry no line.
func (c *Config) ForgetLine(key string) {
	delete(c.lines, key)
}

// asFileProblems wraps problems, or returns nil when there are none.
func asFileProblems(probs []error) error {
	if len(probs) == 0 {
		return nil
	}
	return &FileProblems{Errs: probs}
}
