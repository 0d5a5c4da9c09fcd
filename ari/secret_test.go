package ari

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "hunter2"
	s := Secret(value)
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Stringer("a", s).Interface("b", s).Object("c", s).Str("d", s.String()).Msg("")
	js, err := json.Marshal(struct {
		P Secret `json:"p"`
	}{s})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := s.MarshalText()
	outputs := map[string]string{
		"%v":      fmt.Sprintf("%v", s),
		"%s":      fmt.Sprintf("%s", s),
		"%+v":     fmt.Sprintf("%+v", struct{ P Secret }{s}),
		"%#v":     fmt.Sprintf("%#v", s),
		"json":    string(js),
		"text":    string(text),
		"zerolog": buf.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, value) {
			t.Errorf("%s printed the secret: %s", how, out)
		}
		if !strings.Contains(out, "***") {
			t.Errorf("%s = %s, want *** in it", how, out)
		}
	}
	if got := Secret("").String(); got != "" {
		t.Errorf(`Secret("").String() = %q, want "" (unset stays visible)`, got)
	}
}
