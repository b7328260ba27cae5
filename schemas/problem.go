package schemas

import (
	"slices"
	"strconv"
	"strings"
)

// Problem is one reason a statement is not acceptable.
type Problem struct {
	// Path is a JSON Pointer (RFC 6901) into the payload, or into the
	// envelope for envelope problems; "" is the whole document.
	Path string `json:"path"`
	// Rule names the rule broken: a validator tag such as "required" or
	// "iso4217", or a named rule such as "decimal", "canonical",
	// "unknown_field" or "region_country". docs/vocabulary.md lists them.
	Rule string `json:"rule"`
	// Message says, for a person, which field broke which rule and what
	// would be right.
	Message string `json:"message"`
}

func (p Problem) String() string {
	path := p.Path
	if path == "" {
		path = "(root)"
	}
	return path + ": " + p.Message
}

// pointer appends reference tokens to a JSON Pointer, escaping "~" and "/"
// as RFC 6901 requires.
func pointer(base string, tokens ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(tokenEscaper.Replace(t))
	}
	return b.String()
}

var (
	tokenEscaper   = strings.NewReplacer("~", "~0", "/", "~1")
	tokenUnescaper = strings.NewReplacer("~1", "/", "~0", "~")
)

func index(base string, i int) string { return base + "/" + strconv.Itoa(i) }

// fieldName is how a message names the field at a pointer: its member name,
// with the index when the pointer ends at an array element ("keys[1]").
func fieldName(path string) string {
	if path == "" {
		return "payload"
	}
	segs := strings.Split(path[1:], "/")
	last := segs[len(segs)-1]
	if _, err := strconv.Atoi(last); err == nil && len(segs) > 1 {
		return unescape(segs[len(segs)-2]) + "[" + last + "]"
	}
	return unescape(last)
}

func unescape(tok string) string { return tokenUnescaper.Replace(tok) }

// sortProblems orders problems by path, comparing array indices as numbers,
// so that they follow the order of the canonical payload (whose members are
// sorted), then by rule.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := comparePointers(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}

func comparePointers(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			if ai < bi {
				return -1
			}
			return 1
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}
