package ledger

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Canonical JSON check.
//
// A record embeds its envelope verbatim, so the record is RFC 8785 canonical
// exactly when the envelope is. Append and DecodeRecord therefore need to
// know whether some bytes are already canonical; they never need the
// canonical form of anything else. jcs.Transform answers that (transform,
// compare) but builds a tree and allocates some 75 times for a typical
// envelope, which alone would cost Append about half of its per-record
// budget. checkCanonicalObject answers the same question in one pass without
// allocating. It is held to exactly jcs.Transform's verdict (accepts b if and
// only if jcs.Transform(b) == b and b is an object) by FuzzCanonicalMatchesJCS;
// numbers, which envelopes do not normally contain, are delegated to
// jcs.NumberToJSON so the ES6 number formatting is the library's, not ours.

// maxJSONDepth matches jcs's nesting limit so the two agree on deep input.
const maxJSONDepth = 10000

// canonError locates the first byte that keeps the input from being
// canonical.
type canonError struct {
	off int
	msg string
}

func (e *canonError) Error() string {
	return fmt.Sprintf("not RFC 8785 canonical JSON at byte %d: %s", e.off, e.msg)
}

// checkCanonicalObject returns nil if b is a JSON object serialized exactly
// as RFC 8785 prescribes: no whitespace, members sorted by UTF-16 code units
// without duplicates, strings with only the mandatory escapes, numbers in
// ES6 shortest form, valid UTF-8.
func checkCanonicalObject(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		return &canonError{0, "not a JSON object"}
	}
	end, err := canonValue(b, 0, 0)
	if err != nil {
		return err
	}
	if end != len(b) {
		return &canonError{end, "data after the object"}
	}
	return nil
}

// canonValue checks the value starting at b[i] and returns the offset just
// past it.
func canonValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, &canonError{i, "unexpected end of input"}
	}
	switch c := b[i]; {
	case c == '{':
		if depth+1 > maxJSONDepth {
			return i, &canonError{i, "nesting too deep"}
		}
		return canonObject(b, i, depth+1)
	case c == '[':
		if depth+1 > maxJSONDepth {
			return i, &canonError{i, "nesting too deep"}
		}
		return canonArray(b, i, depth+1)
	case c == '"':
		return canonString(b, i)
	default:
		return canonScalar(b, i)
	}
}

func canonObject(b []byte, i, depth int) (int, error) {
	i++ // '{'
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	prevStart, prevEnd := -1, -1
	for {
		if i >= len(b) || b[i] != '"' {
			return i, &canonError{i, "expected a member name"}
		}
		end, err := canonString(b, i)
		if err != nil {
			return end, err
		}
		if prevStart >= 0 {
			switch cmp := compareUTF16(b[prevStart:prevEnd], b[i+1:end-1]); {
			case cmp == 0:
				return i, &canonError{i, "duplicate member name"}
			case cmp > 0:
				return i, &canonError{i, "member names not in RFC 8785 order"}
			}
		}
		prevStart, prevEnd = i+1, end-1
		i = end
		if i >= len(b) || b[i] != ':' {
			return i, &canonError{i, "expected ':'"}
		}
		if i, err = canonValue(b, i+1, depth); err != nil {
			return i, err
		}
		if i >= len(b) {
			return i, &canonError{i, "unexpected end of input"}
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, nil
		default:
			return i, &canonError{i, "expected ',' or '}'"}
		}
	}
}

func canonArray(b []byte, i, depth int) (int, error) {
	i++ // '['
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = canonValue(b, i, depth); err != nil {
			return i, err
		}
		if i >= len(b) {
			return i, &canonError{i, "unexpected end of input"}
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return i, &canonError{i, "expected ',' or ']'"}
		}
	}
}

// canonString checks the string starting at the quote b[i] and returns the
// offset just past its closing quote. RFC 8785 escapes exactly '"', '\\' and
// the controls below U+0020 (the five with short forms as \b \t \n \f \r,
// the rest as \u00xx in lower case) and writes every other character as
// itself.
func canonString(b []byte, i int) (int, error) {
	j := i + 1
	for j < len(b) {
		// Fast path: printable ASCII other than '"' and '\\' stands for itself.
		for j < len(b) && plainASCII[b[j]] {
			j++
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(b) {
				return j, &canonError{j, "unexpected end of input"}
			}
			switch b[j+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if !canonUEscape(b[j+2:]) {
					return j, &canonError{j, `escape not in canonical form (only controls without a short form are written \u00xx, lower case)`}
				}
				j += 6
			default:
				return j, &canonError{j, "escape not in canonical form"}
			}
		case c < 0x20:
			return j, &canonError{j, "unescaped control character"}
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size <= 1 {
				return j, &canonError{j, "invalid UTF-8"}
			}
			j += size
		}
	}
	return j, &canonError{j, "unterminated string"}
}

// plainASCII marks the bytes a canonical string holds as themselves with no
// further checks.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// canonUEscape reports whether h starts with the four hex digits of a
// canonical \u escape: 00xx, lower case, a control with no short form.
func canonUEscape(h []byte) bool {
	if len(h) < 4 || h[0] != '0' || h[1] != '0' || (h[2] != '0' && h[2] != '1') {
		return false
	}
	lo, ok := lowerHex(h[3])
	if !ok {
		return false
	}
	switch v := (h[2]-'0')<<4 | lo; v {
	case '\b', '\t', '\n', '\f', '\r':
		return false
	}
	return true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// canonScalar checks a literal or number and returns the offset past it.
func canonScalar(b []byte, i int) (int, error) {
	j := i
	for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != '}' {
		j++
	}
	tok := b[i:j]
	switch string(tok) {
	case "true", "false", "null":
		return j, nil
	}
	if !isJSONNumber(tok) {
		return i, &canonError{i, "not a JSON value"}
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return i, &canonError{i, "number out of range"}
	}
	want, err := jcs.NumberToJSON(f)
	if err != nil || want != string(tok) {
		return i, &canonError{i, "number not in ES6 shortest form"}
	}
	return j, nil
}

// isJSONNumber matches RFC 8259's number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(t []byte) bool {
	i := 0
	if i < len(t) && t[i] == '-' {
		i++
	}
	switch {
	case i < len(t) && t[i] == '0':
		i++
	case i < len(t) && '1' <= t[i] && t[i] <= '9':
		for i < len(t) && isDigit(t[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(t) && t[i] == '.' {
		i++
		if i >= len(t) || !isDigit(t[i]) {
			return false
		}
		for i < len(t) && isDigit(t[i]) {
			i++
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		if i >= len(t) || !isDigit(t[i]) {
			return false
		}
		for i < len(t) && isDigit(t[i]) {
			i++
		}
	}
	return i == len(t)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// compareUTF16 compares two canonical string bodies (the bytes between the
// quotes) by the UTF-16 code units of the text they denote, the order
// RFC 8785 sorts member names in.
func compareUTF16(a, b []byte) int {
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 && ascii(a) && ascii(b) {
		return bytes.Compare(a, b)
	}
	ia, ib := utf16Iter{s: a}, utf16Iter{s: b}
	for {
		ua, oka := ia.next()
		ub, okb := ib.next()
		switch {
		case !oka && !okb:
			return 0
		case !oka:
			return -1
		case !okb:
			return 1
		case ua != ub:
			if ua < ub {
				return -1
			}
			return 1
		}
	}
}

func ascii(s []byte) bool {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// utf16Iter yields the UTF-16 code units of a checked canonical string body.
type utf16Iter struct {
	s      []byte
	i      int
	low    uint16
	hasLow bool
}

func (it *utf16Iter) next() (uint16, bool) {
	if it.hasLow {
		it.hasLow = false
		return it.low, true
	}
	if it.i >= len(it.s) {
		return 0, false
	}
	c := it.s[it.i]
	if c == '\\' {
		e := it.s[it.i+1]
		it.i += 2
		switch e {
		case 'b':
			return '\b', true
		case 'f':
			return '\f', true
		case 'n':
			return '\n', true
		case 'r':
			return '\r', true
		case 't':
			return '\t', true
		case 'u':
			hi, _ := lowerHex(it.s[it.i+2])
			lo, _ := lowerHex(it.s[it.i+3])
			it.i += 4
			return uint16(hi<<4 | lo), true
		default: // '"' or '\\'
			return uint16(e), true
		}
	}
	if c < utf8.RuneSelf {
		it.i++
		return uint16(c), true
	}
	r, size := utf8.DecodeRune(it.s[it.i:])
	it.i += size
	if r >= 0x10000 {
		r1, r2 := utf16.EncodeRune(r)
		it.low, it.hasLow = uint16(r2), true
		return uint16(r1), true
	}
	return uint16(r), true
}
