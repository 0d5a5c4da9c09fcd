package ari

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The Swagger 1.2 files Asterisk ships in /usr/share/asterisk/rest-api,
// reduced to what the contract tests read.
type specFile struct {
	APIs   []specAPI            `json:"apis"`
	Models map[string]specModel `json:"models"`
}

type specAPI struct {
	Path       string   `json:"path"`
	Operations []specOp `json:"operations"`
}

type specOp struct {
	HTTPMethod    string      `json:"httpMethod"`
	Nickname      string      `json:"nickname"`
	ResponseClass string      `json:"responseClass"`
	Parameters    []specParam `json:"parameters"`
}

type specParam struct {
	Name      string `json:"name"`
	ParamType string `json:"paramType"` // path, query, body
	DataType  string `json:"dataType"`
	Required  bool   `json:"required"`
}

type specModel struct {
	ID         string              `json:"id"`
	Properties map[string]specProp `json:"properties"`
	SubTypes   []string            `json:"subTypes"`
}

type specProp struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

type restSpec struct {
	dir    string
	files  map[string]*specFile // by file name, e.g. "channels.json"
	models map[string]specModel // every model of every file, by id
}

const defaultSpecDir = "/var/cache/transferd/asterisk-root/usr/share/asterisk/rest-api"

// specDir is $ASTERISK_REST_API, else the rest-api directory of
// $ASTERISK_ROOT (what `make test` builds), else the default root's.
func specDir() string {
	if dir := os.Getenv("ASTERISK_REST_API"); dir != "" {
		return dir
	}
	if root := os.Getenv("ASTERISK_ROOT"); root != "" {
		return filepath.Join(root, "usr/share/asterisk/rest-api")
	}
	return defaultSpecDir
}

var loadSpecOnce = sync.OnceValues(func() (*restSpec, error) {
	dir := specDir()
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	s := &restSpec{dir: dir, files: map[string]*specFile{}, models: map[string]specModel{}}
	for _, name := range names {
		base := filepath.Base(name)
		if base == "resources.json" { // the index, no operations
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var f specFile
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, &os.PathError{Op: "decode", Path: name, Err: err}
		}
		s.files[base] = &f
		for id, m := range f.Models {
			s.models[id] = m
		}
	}
	if s.files["channels.json"] == nil || s.files["events.json"] == nil {
		return nil, os.ErrNotExist
	}
	return s, nil
})

// loadSpec returns Asterisk's rest-api spec or fails the test: a missing
// Asterisk is a failure that says how to fix it, never a skip.
func loadSpec(t *testing.T) *restSpec {
	t.Helper()
	s, err := loadSpecOnce()
	if err != nil {
		dir := specDir()
		t.Fatalf("Asterisk's rest-api spec is not in %s (%v): run `make asterisk` to build the Asterisk root, or set ASTERISK_REST_API to a rest-api directory", dir, err)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jsonName(tag string) string {
	name, _, _ := strings.Cut(tag, ",")
	return name
}
