package schemas_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tally-ledger/tally/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// validCase is a payload in testdata/valid/<kind>/<name>.json.
type validCase struct {
	kind, name string
	payload    []byte
}

func loadValid(t testing.TB) []validCase {
	t.Helper()
	files, err := filepath.Glob("testdata/valid/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid cases: %v", err)
	}
	var out []validCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, validCase{kind: filepath.Base(filepath.Dir(f)), name: strings.TrimSuffix(filepath.Base(f), ".json"), payload: b})
	}
	return out
}

func validPayload(t testing.TB, kind, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/valid", kind, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invalidCase is one entry of testdata/invalid/<kind>.json: a valid payload
// (base) changed by JSON Patch operations, or a raw document, with the
// problems Tally must report and, where the JSON Schema cannot say the
// rule, why.
type invalidCase struct {
	Name      string     `json:"name"`
	Base      string     `json:"base"`
	Patch     []patchOp  `json:"patch"`
	Raw       *string    `json:"raw"`
	RawBase64 string     `json:"raw_base64"`
	Problems  []pathRule `json:"problems"`
	Schema    string     `json:"schema"` // "" (rejects), "accepts" or "unparsable"
	Why       string     `json:"why"`
	kind      string
	payload   []byte
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

type pathRule struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
}

func loadInvalid(t testing.TB) []invalidCase {
	t.Helper()
	var all []invalidCase
	for _, kind := range schemas.Kinds() {
		b, err := os.ReadFile(filepath.Join("testdata/invalid", kind+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []invalidCase
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for i := range cases {
			c := &cases[i]
			c.kind = kind
			switch {
			case c.Raw != nil:
				c.payload = []byte(*c.Raw)
			case c.RawBase64 != "":
				c.payload, err = base64.StdEncoding.DecodeString(c.RawBase64)
				if err != nil {
					t.Fatal(err)
				}
			default:
				c.payload, err = applyPatch(validPayload(t, kind, c.Base), c.Patch)
				if err != nil {
					t.Fatalf("%s/%s: %v", kind, c.Name, err)
				}
			}
		}
		all = append(all, cases...)
	}
	return all
}

// applyPatch applies the add, replace and remove operations of RFC 6902.
func applyPatch(doc []byte, ops []patchOp) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	for _, op := range ops {
		var val any
		if op.Op != "remove" {
			d := json.NewDecoder(bytes.NewReader(op.Value))
			d.UseNumber()
			if err := d.Decode(&val); err != nil {
				return nil, fmt.Errorf("%s %s: %v", op.Op, op.Path, err)
			}
		}
		var err error
		root, err = patchAt(root, strings.Split(op.Path, "/")[1:], op.Op, val)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", op.Op, op.Path, err)
		}
	}
	return json.Marshal(root)
}

func patchAt(node any, toks []string, op string, val any) (any, error) {
	tok := strings.NewReplacer("~1", "/", "~0", "~").Replace(toks[0])
	last := len(toks) == 1
	switch n := node.(type) {
	case map[string]any:
		if last {
			_, exists := n[tok]
			switch {
			case op == "remove" && exists:
				delete(n, tok)
			case op == "replace" && exists, op == "add":
				n[tok] = val
			default:
				return nil, fmt.Errorf("no member %q", tok)
			}
			return n, nil
		}
		child, ok := n[tok]
		if !ok {
			return nil, fmt.Errorf("no member %q", tok)
		}
		v, err := patchAt(child, toks[1:], op, val)
		n[tok] = v
		return n, err
	case []any:
		if last && op == "add" && tok == "-" {
			return append(n, val), nil
		}
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i >= len(n) {
			return nil, fmt.Errorf("no element %q", tok)
		}
		if last {
			switch op {
			case "remove":
				return slices.Delete(n, i, i+1), nil
			case "replace":
				n[i] = val
				return n, nil
			}
			return slices.Insert(n, i, val), nil
		}
		v, err := patchAt(n[i], toks[1:], op, val)
		n[i] = v
		return n, err
	}
	return nil, fmt.Errorf("cannot step into %T", node)
}

func pathRules(ps []schemas.Problem) []pathRule {
	out := []pathRule{}
	for _, p := range ps {
		out = append(out, pathRule{Path: p.Path, Rule: p.Rule})
	}
	return out
}

const schemaBase = "https://schemas.tally.test/v1/"

// compileSchemas compiles every kind's JSON Schema from the embedded files,
// asserting formats (date-time), as the agreement test needs.
func compileSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	fsys := schemas.JSONSchemas()
	names := append([]string{schemas.CommonSchemaName}, func() []string {
		var n []string
		for _, k := range schemas.Kinds() {
			n = append(n, schemas.JSONSchemaName(k))
		}
		return n
	}()...)
	for _, name := range names {
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(schemaBase+name, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, k := range schemas.Kinds() {
		s, err := c.Compile(schemaBase + schemas.JSONSchemaName(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = s
	}
	return out
}

// schemaAccepts evaluates a payload against a compiled schema.
func schemaAccepts(s *jsonschema.Schema, payload []byte) (bool, error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return false, err
	}
	return s.Validate(inst) == nil, nil
}
