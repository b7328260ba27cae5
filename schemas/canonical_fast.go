package schemas

import (
	"encoding/json"
	"unicode/utf8"
)

// The fast path of the canonical check and of the strict payload decoder.
//
// Every statement on the ledger is RFC 8785 canonical JSON, and ingest
// checks each one: the general check (jcs.Transform, then a comparison)
// parses and re-serializes the whole payload, and the strict decoder parses
// it again into a generic tree. scanCanonical does both in one pass over
// the common form of a payload: ASCII member names in ascending order,
// strings in JCS's escaping, integers of up to 15 digits, no whitespace. It
// answers true only when the bytes are certainly canonical; anything it does
// not recognise (other numbers, non-ASCII names, …) it leaves to the
// general check, so it never decides differently from it, only sooner.

// canonicalScanner reads canonical JSON and, if asked, builds the generic
// tree encoding/json would (map[string]any, []any, string, json.Number,
// bool, nil).
type canonicalScanner struct {
	b     []byte
	i     int
	build bool
}

// scanCanonical reports whether b is certainly RFC 8785 canonical JSON and,
// with build, returns its generic tree. false means "not known": the
// general check decides.
func scanCanonical(b []byte, build bool) (tree any, ok bool) {
	s := canonicalScanner{b: b, build: build}
	v, ok := s.value(0)
	if !ok || s.i != len(b) {
		return nil, false
	}
	return v, true
}

func (s *canonicalScanner) value(depth int) (any, bool) {
	if s.i >= len(s.b) || depth > maxDepth {
		return nil, false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		str, _, ok := s.str()
		if !ok || !s.build {
			return nil, ok
		}
		return str, true
	case c == '-' || ('0' <= c && c <= '9'):
		return s.integer()
	case c == 't':
		return true, s.literal("true")
	case c == 'f':
		return false, s.literal("false")
	case c == 'n':
		return nil, s.literal("null")
	}
	return nil, false
}

func (s *canonicalScanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// integer reads an integer that ECMAScript writes as it stands: no sign on
// zero, no leading zero, at most 15 digits (so below 2^53, exact as a
// double). Anything else goes to the general check.
func (s *canonicalScanner) integer() (any, bool) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	n := s.i - digits
	switch {
	case n == 0 || n > 15:
		return nil, false
	case s.b[digits] == '0' && (n > 1 || digits > start): // "01", "-0"
		return nil, false
	}
	if s.i < len(s.b) {
		if c := s.b[s.i]; c == '.' || c == 'e' || c == 'E' {
			return nil, false
		}
	}
	if !s.build {
		return nil, true
	}
	return json.Number(s.b[start:s.i]), true
}

// str reads a string as JCS writes it: bytes from 0x20 up literally except
// '"' and '\', valid UTF-8, the short escapes \" \\ \b \f \n \r \t, and
// \u00xx (lower-case hex) for the other control characters. ascii reports
// whether it is printable ASCII without escapes (then byte order is UTF-16
// order).
func (s *canonicalScanner) str() (str string, ascii, ok bool) {
	s.i++ // '"'
	start := s.i
	ascii = true
	var buf []byte // the decoded string, once an escape is met
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			seg := s.b[start:s.i]
			s.i++
			if !s.build {
				return "", ascii, true
			}
			if buf != nil {
				return string(append(buf, seg...)), ascii, true
			}
			return string(seg), ascii, true
		case c == '\\':
			ascii = false
			if s.i+1 >= len(s.b) {
				return "", false, false
			}
			var r byte
			n := 2
			switch s.b[s.i+1] {
			case '"':
				r = '"'
			case '\\':
				r = '\\'
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				// Only control characters without a short escape.
				if s.i+6 > len(s.b) || s.b[s.i+2] != '0' || s.b[s.i+3] != '0' {
					return "", false, false
				}
				hi, lo := s.b[s.i+4], s.b[s.i+5]
				if hi != '0' && hi != '1' {
					return "", false, false
				}
				var v byte
				switch {
				case '0' <= lo && lo <= '9':
					v = lo - '0'
				case 'a' <= lo && lo <= 'f':
					v = lo - 'a' + 10
				default:
					return "", false, false
				}
				r = (hi-'0')<<4 | v
				if r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t' {
					return "", false, false
				}
				n = 6
			default:
				return "", false, false
			}
			if s.build {
				buf = append(append(buf, s.b[start:s.i]...), r)
			}
			s.i += n
			start = s.i
		case c < 0x20:
			return "", false, false
		case c < 0x80:
			s.i++
		default:
			ascii = false
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size <= 1 {
				return "", false, false
			}
			s.i += size
		}
	}
	return "", false, false
}

func (s *canonicalScanner) object(depth int) (any, bool) {
	s.i++ // '{'
	var obj map[string]any
	if s.build {
		obj = map[string]any{}
	}
	var prev []byte
	for first := true; ; first = false {
		if s.i >= len(s.b) {
			return nil, false
		}
		if s.b[s.i] == '}' && first {
			s.i++
			return obj, true
		}
		if s.b[s.i] != '"' {
			return nil, false
		}
		start := s.i + 1
		key, ascii, ok := s.str()
		if !ok || !ascii {
			return nil, false
		}
		name := s.b[start : s.i-1]
		// Members in strictly ascending order (no duplicates); for
		// printable ASCII, byte order is UTF-16 code unit order.
		if !first && string(prev) >= string(name) {
			return nil, false
		}
		prev = name
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return nil, false
		}
		s.i++
		v, ok := s.value(depth)
		if !ok {
			return nil, false
		}
		if s.build {
			obj[key] = v
		}
		if s.i >= len(s.b) {
			return nil, false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return obj, true
		default:
			return nil, false
		}
	}
}

func (s *canonicalScanner) array(depth int) (any, bool) {
	s.i++ // '['
	var arr []any
	if s.build {
		arr = []any{}
	}
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return arr, true
	}
	for {
		v, ok := s.value(depth)
		if !ok {
			return nil, false
		}
		if s.build {
			arr = append(arr, v)
		}
		if s.i >= len(s.b) {
			return nil, false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return arr, true
		default:
			return nil, false
		}
	}
}
