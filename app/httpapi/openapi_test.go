package httpapi

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/transferd/transferd/transfer"
)

type openAPIDoc struct {
	OpenAPI string                    `yaml:"openapi"`
	Paths   map[string]map[string]any `yaml:"paths"`
}

var httpMethods = []string{"get", "post", "put", "delete", "patch", "head", "options"}

// docRoutes lists the document's operations as "METHOD /path".
func docRoutes(t *testing.T) []string {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: %q, want 3.x", doc.OpenAPI)
	}
	var out []string
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) {
				out = append(out, strings.ToUpper(key)+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesRoutes: every route the handler serves is in the
// document and every operation of the document is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, nil) // with metrics: every route
	e.backend.add(talkingCall("acme", "alice-in"))
	served := e.h.Routes()
	sort.Strings(served)
	documented := docRoutes(t)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is in openapi.yaml but not served", r)
		}
	}

	// Probe the real mux: documented operations are routed (not the
	// catch-all 404, not 405); other methods on documented paths are 405.
	fill := strings.NewReplacer("{account_id}", "acme", "{call_id}", "alice-in")
	paths := map[string][]string{}
	for _, r := range documented {
		m, p, _ := strings.Cut(r, " ")
		paths[p] = append(paths[p], m)
	}
	for p, methods := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			hr := httptest.NewRequestWithContext(ctx, m, fill.Replace(p), strings.NewReader(`{"data":{"action":"cancel"}}`))
			hr.Header.Set("X-Auth-Token", acmeToken)
			hr.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, hr)
			cancel()
			documentedMethod := slices.Contains(methods, m)
			switch {
			case documentedMethod && (w.Code == 405 || w.Code == 404 && bytes.Contains(w.Body.Bytes(), []byte(`"message":"no such endpoint`))):
				t.Errorf("%s %s is documented but not routed: %d %s", m, p, w.Code, w.Body)
			case documentedMethod && w.Code >= 300:
				t.Errorf("%s %s: %d %s", m, p, w.Code, w.Body)
			case !documentedMethod && w.Code != 405:
				t.Errorf("%s %s is not documented but answers %d", m, p, w.Code)
			}
		}
	}

	// The served document is the embedded one.
	r := e.do(req{method: "GET", path: "/v2/openapi"})
	if r.status != 200 || !bytes.Equal(r.body, OpenAPI) || r.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /v2/openapi: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

// TestOpenAPIRefsAndReasons: every $ref resolves, and the error reasons
// the document lists are exactly the Reason constants of errors.go.
func TestOpenAPIRefsAndReasons(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					ref, _ := x.(string)
					if !resolves(doc, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)

	enum := lookup(doc, "components", "schemas", "ErrorEnvelope", "properties", "data", "properties", "reason", "enum")
	var documented []string
	for _, x := range enum.([]any) {
		documented = append(documented, x.(string))
	}
	sort.Strings(documented)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && strings.HasPrefix(vs.Names[0].Name, "Reason") {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				s, _ := strconv.Unquote(lit.Value)
				consts = append(consts, s)
			}
		}
		return true
	})
	sort.Strings(consts)
	if !slices.Equal(documented, consts) {
		t.Errorf("openapi reasons %v\nerrors.go reasons %v", documented, consts)
	}

	// The actions the document lists are the vocabulary, in its order.
	var actions []string
	for _, x := range lookup(doc, "components", "schemas", "ActionRequest", "properties", "data", "properties", "action", "enum").([]any) {
		actions = append(actions, x.(string))
	}
	if !slices.Equal(actions, transfer.Actions) {
		t.Errorf("openapi actions %v\ntransfer.Actions %v", actions, transfer.Actions)
	}

	// Every status the POST can answer is documented.
	post := lookup(doc, "paths", "/v2/accounts/{account_id}/channels/{call_id}", "post", "responses").(map[string]any)
	for _, code := range []int{200, 202, 400, 401, 404, 405, 409, 413, 415, 500, 504} {
		if _, ok := post[strconv.Itoa(code)]; !ok {
			t.Errorf("POST response %d not documented", code)
		}
	}
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func resolves(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	return lookup(doc, strings.Split(ref[2:], "/")...) != nil
}

// TestOpenAPIServedWithoutAuth: the document needs no token.
func TestOpenAPIServedWithoutAuth(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(req{method: "GET", path: "/v2/openapi"})
	if r.status != http.StatusOK {
		t.Fatal(r.status)
	}
}
