package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting. The deepest statement nests four levels;
// the bound keeps hostile input from costing stack or time.
const maxDepth = 32

// strictDecode parses data as exactly one JSON value and decodes it into v
// (a pointer to a struct), refusing what encoding/json lets through:
// invalid UTF-8, duplicate member names (which two readers could resolve
// differently), members that match no field or match only case-blindly,
// null, values of the wrong JSON type, non-integral or out-of-range
// integers, empty strings for optional fields, and trailing data. Each
// problem carries the JSON Pointer of the offending value. ok is false when
// v could not be filled.
func strictDecode(data []byte, v any) (problems []Problem, ok bool) {
	return decodeChecked(data, v, false)
}

// decodeChecked is strictDecode; canonical says that data is already known
// to be RFC 8785 canonical JSON, which jcs has checked to be valid UTF-8
// without duplicate members, so the faster generic parse can build the
// tree.
func decodeChecked(data []byte, v any, canonical bool) (problems []Problem, ok bool) {
	var tree any
	if canonical {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			return []Problem{*jsonProblem("", err)}, false
		}
	} else {
		if !utf8.Valid(data) {
			return []Problem{{Path: "", Rule: "json", Message: "not valid UTF-8"}}, false
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var p *Problem
		if tree, p = parseValue(dec, "", 0); p != nil {
			return []Problem{*p}, false
		}
		if _, err := dec.Token(); err != io.EOF {
			return []Problem{{Path: "", Rule: "json", Message: "trailing data after the JSON value"}}, false
		}
	}
	return decodeTree(data, tree, v)
}

// decodeTree is the end of decodeChecked: tree is data's generic tree,
// already parsed strictly (or data is known to be canonical JSON).
func decodeTree(data []byte, tree, v any) (problems []Problem, ok bool) {
	var fatal bool
	checkShape(reflect.TypeOf(v).Elem(), tree, "", false, &problems, &fatal)
	if fatal {
		return problems, false
	}
	// The tree has the shape of v, so v is filled from it, as
	// encoding/json would fill it from data; should the tree hold
	// something fill does not handle, encoding/json reads data.
	rv := reflect.ValueOf(v).Elem()
	if fill(rv, tree) {
		return problems, true
	}
	rv.SetZero()
	if err := json.Unmarshal(data, v); err != nil {
		// Unreachable when the shape check is right; reported, not hidden.
		return append(problems, Problem{Path: "", Rule: "json", Message: "cannot decode: " + err.Error()}), false
	}
	return problems, true
}

// fill sets v from a generic tree of the shape checkShape accepts for v's
// type, the way json.Unmarshal sets it from the tree's JSON: a new value
// behind each pointer, a new slice per array, struct fields by their exact
// JSON names. It reports false, with v partly set, on anything else.
func fill(v reflect.Value, tree any) bool {
	switch v.Kind() {
	case reflect.Pointer:
		if tree == nil {
			return false
		}
		p := reflect.New(v.Type().Elem())
		if !fill(p.Elem(), tree) {
			return false
		}
		v.Set(p)
	case reflect.String:
		s, ok := tree.(string)
		if !ok {
			return false
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := tree.(bool)
		if !ok {
			return false
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := tree.(json.Number)
		if !ok {
			return false
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return false
		}
		v.SetInt(i)
	case reflect.Slice:
		arr, ok := tree.([]any)
		if !ok {
			return false
		}
		s := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, e := range arr {
			if !fill(s.Index(i), e) {
				return false
			}
		}
		v.Set(s)
	case reflect.Struct:
		obj, ok := tree.(map[string]any)
		if !ok {
			return false
		}
		fields := fieldsOf(v.Type())
		for key, val := range obj {
			f, known := fields[key]
			if !known || !fill(v.Field(f.index), val) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func jsonProblem(path string, err error) *Problem {
	msg := err.Error()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		msg = "unexpected end of JSON"
	}
	return &Problem{Path: path, Rule: "json", Message: "not valid JSON: " + msg}
}

// parseValue reads one value into a generic tree: map[string]any, []any,
// string, json.Number, bool or nil.
func parseValue(dec *json.Decoder, path string, depth int) (any, *Problem) {
	if depth > maxDepth {
		return nil, &Problem{Path: path, Rule: "json", Message: fmt.Sprintf("JSON nests deeper than %d levels", maxDepth)}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonProblem(path, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonProblem(path, err)
				}
				key, _ := kt.(string)
				at := pointer(path, key)
				if _, dup := obj[key]; dup {
					return nil, &Problem{Path: at, Rule: "duplicate_key", Message: fmt.Sprintf("member %q appears twice", key)}
				}
				val, p := parseValue(dec, at, depth+1)
				if p != nil {
					return nil, p
				}
				obj[key] = val
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonProblem(path, err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				val, p := parseValue(dec, index(path, len(arr)), depth+1)
				if p != nil {
					return nil, p
				}
				arr = append(arr, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonProblem(path, err)
			}
			return arr, nil
		}
		return nil, &Problem{Path: path, Rule: "json", Message: "not valid JSON: unexpected " + t.String()}
	default:
		return tok, nil
	}
}

type fieldInfo struct {
	name      string
	typ       reflect.Type
	omitEmpty bool
	index     int // in the struct
}

var fieldCache sync.Map // reflect.Type → map[string]fieldInfo

func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	fields := map[string]fieldInfo{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fields[name] = fieldInfo{name: name, typ: sf.Type, omitEmpty: strings.Contains(opts, "omitempty"), index: i}
	}
	fieldCache.Store(t, fields)
	return fields
}

var integerSyntax = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

func jsonTypeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an unknown value"
}

// checkShape compares a generic JSON tree with the Go type it must decode
// into. Problems that stop decoding set fatal.
func checkShape(t reflect.Type, v any, path string, omitEmpty bool, ps *[]Problem, fatal *bool) {
	want := func(what string) {
		*fatal = true
		rule := "type"
		msg := fmt.Sprintf("%s must be %s, not %s", fieldName(path), what, jsonTypeName(v))
		if v == nil {
			rule = "null"
			msg = fmt.Sprintf("%s must be %s, not null (omit an optional member instead)", fieldName(path), what)
		}
		*ps = append(*ps, Problem{Path: path, Rule: rule, Message: msg})
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(t.Elem(), v, path, omitEmpty, ps, fatal)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			want("a string")
			return
		}
		if s == "" && omitEmpty {
			*ps = append(*ps, Problem{Path: path, Rule: "empty", Message: fmt.Sprintf("%s must not be an empty string; omit it when there is nothing to say", fieldName(path))})
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			want("a boolean")
		}
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			want("an integer")
			return
		}
		if !integerSyntax.MatchString(string(n)) {
			*fatal = true
			*ps = append(*ps, Problem{Path: path, Rule: "type", Message: fmt.Sprintf("%s must be an integer written without fraction or exponent, not %s", fieldName(path), n)})
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			*fatal = true
			*ps = append(*ps, Problem{Path: path, Rule: "type", Message: fmt.Sprintf("%s is out of range: %s", fieldName(path), n)})
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			want("an array")
			return
		}
		for i, e := range arr {
			checkShape(t.Elem(), e, index(path, i), false, ps, fatal)
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			want("an object")
			return
		}
		fields := fieldsOf(t)
		for key, val := range obj {
			f, known := fields[key]
			if !known {
				*fatal = true
				*ps = append(*ps, Problem{Path: pointer(path, key), Rule: "unknown_field", Message: fmt.Sprintf("unknown member %q (names are case-sensitive)", key)})
				continue
			}
			checkShape(f.typ, val, pointer(path, key), f.omitEmpty, ps, fatal)
		}
	default:
		*fatal = true
		*ps = append(*ps, Problem{Path: path, Rule: "type", Message: fmt.Sprintf("%s has an unsupported type %s", fieldName(path), t)})
	}
}
