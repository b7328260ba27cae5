package schemas

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Forms of the vocabulary's strings. The JSON Schemas carry the same
// patterns, so both readers of a payload agree.
var (
	// slugSyntax names parties, hops, lots and job categories: lowercase
	// ASCII letters and digits, words joined by single hyphens or
	// underscores, at most 64 characters.
	slugSyntax = regexp.MustCompile(`^[a-z0-9]+(?:[-_][a-z0-9]+)*$`)
	// textSyntax is free text: no control characters or line separators,
	// no leading or trailing white space.
	textSyntax = regexp.MustCompile(`^[^ \p{Cc}\p{Zl}\p{Zp}](?:[^\p{Cc}\p{Zl}\p{Zp}]*[^ \p{Cc}\p{Zl}\p{Zp}])?$`)
	// digestSyntax is a SHA-256 digest in lowercase hex.
	digestSyntax = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// epcisEventIDSyntax is an EPCIS 2.0 event id: a UUID URN or a CBV 2.0
	// event hash.
	epcisEventIDSyntax = regexp.MustCompile(`^(?:urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.[0-9]+(?:\.[0-9]+)?)$`)
	// webURLSyntax is an http or https URL of printable ASCII.
	webURLSyntax = regexp.MustCompile(`^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$`)
)

const maxSlug = 64

// isSlug and isText are slugSyntax and textSyntax written out: payloads
// carry dozens of slugs and texts, and the regular expressions cost more
// than the rest of their validation.
func isSlug(s string) bool {
	if s == "" {
		return false
	}
	word := false // in a run of letters and digits
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case ('a' <= c && c <= 'z') || ('0' <= c && c <= '9'):
			word = true
		case (c == '-' || c == '_') && word:
			word = false
		default:
			return false
		}
	}
	return word
}

func isText(s string) bool {
	if s == "" {
		return false
	}
	bad := func(r rune) bool { return r < 0x20 || (0x7f <= r && r <= 0x9f) || r == 0x2028 || r == 0x2029 }
	var last rune
	for i, r := range s {
		if bad(r) || (i == 0 && r == ' ') {
			return false
		}
		last = r
	}
	return last != ' '
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		// Name fields by their JSON member, so error namespaces become
		// JSON Pointers into the payload.
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			return name
		})
		str := func(fn func(string) bool) validator.Func {
			return func(fl validator.FieldLevel) bool {
				f := fl.Field()
				return f.Kind() == reflect.String && fn(f.String())
			}
		}
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		must(v.RegisterValidation("slug", str(func(s string) bool { return len(s) <= maxSlug && isSlug(s) })))
		must(v.RegisterValidation("text", str(isText)))
		must(v.RegisterValidation("decimal", str(func(s string) bool { _, err := Decimal(s).Value(); return err == nil })))
		must(v.RegisterValidation("positive", str(func(s string) bool { return Decimal(s).IsPositive() })))
		must(v.RegisterValidation("timestamp", str(func(s string) bool { _, err := Timestamp(s).Time(); return err == nil })))
		must(v.RegisterValidation("unit", str(func(s string) bool { _, ok := Units[s]; return ok })))
		must(v.RegisterValidation("keyid", str(isKeyID)))
		must(v.RegisterValidation("ed25519_key", str(func(s string) bool { _, err := ParsePublicKey(s); return err == nil })))
		must(v.RegisterValidation("digest", str(digestSyntax.MatchString)))
		must(v.RegisterValidation("epcis_event_id", str(epcisEventIDSyntax.MatchString)))
		must(v.RegisterValidation("web_url", str(webURLSyntax.MatchString)))
		validate = v
	})
	return validate
}

// Validate applies the vocabulary's rules to an event: every field's
// validate tags, then the rules that span fields (see rules.go). It returns
// nil when the event is valid. Problems are ordered by path.
func Validate(ev Event) []Problem {
	if ev == nil || reflect.ValueOf(ev).IsNil() {
		return []Problem{{Path: "", Rule: "required", Message: "no event"}}
	}
	var problems []Problem
	err := validatorInstance().Struct(ev)
	var verrs validator.ValidationErrors
	switch {
	case err == nil:
	case errors.As(err, &verrs):
		for _, fe := range verrs {
			problems = append(problems, fromFieldError(fe))
		}
	default:
		problems = append(problems, Problem{Path: "", Rule: "invalid", Message: err.Error()})
	}
	problems = append(problems, crossFieldRules(ev, problems)...)
	sortProblems(problems)
	return problems
}

// fromFieldError turns a validator error into a Problem. Its namespace,
// written in JSON member names ("HopRecorded.labour[0].hours"), becomes the
// pointer "/labour/0/hours".
func fromFieldError(fe validator.FieldError) Problem {
	ns := fe.Namespace()
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		ns = ns[i+1:]
	} else {
		ns = ""
	}
	var b strings.Builder
	for _, seg := range strings.Split(ns, ".") {
		if seg == "" {
			continue
		}
		name, rest, _ := strings.Cut(seg, "[")
		b.WriteString(pointer("", name))
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			b.WriteString("/" + idx)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	path := b.String()
	return Problem{Path: path, Rule: fe.Tag(), Message: message(fieldName(path), fe)}
}

// jsonName maps a Go field name to its JSON member name, for messages
// about rules whose parameter names another field (nefield=Seller,
// unique=Category).
func jsonName(goName string) string {
	jsonNamesOnce.Do(func() {
		jsonNames = map[string]string{}
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
				t = t.Elem()
			}
			if t.Kind() != reflect.Struct {
				return
			}
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				jsonNames[f.Name] = name
				walk(f.Type)
			}
		}
		for _, k := range kinds {
			ev, _ := New(k)
			walk(reflect.TypeOf(ev))
		}
	})
	if name, ok := jsonNames[goName]; ok {
		return name
	}
	return goName
}

var (
	jsonNamesOnce sync.Once
	jsonNames     map[string]string
)

func message(field string, fe validator.FieldError) string {
	tag, param := fe.Tag(), fe.Param()
	var what string
	switch tag {
	case "required":
		what = "is required"
	case "slug":
		what = fmt.Sprintf("must be a slug: lowercase letters and digits, words joined by single hyphens or underscores, at most %d characters", maxSlug)
	case "text":
		what = "must be plain text: no control characters or line breaks, no leading or trailing spaces"
	case "decimal":
		what = fmt.Sprintf(`must be a decimal string such as "1250.50": digits, no sign or exponent, no leading zeros, at most %d digits after the point`, MaxFractionDigits)
	case "positive":
		what = "must be greater than zero"
	case "timestamp":
		what = `must be an RFC 3339 date-time with an explicit offset, such as "2025-06-14T09:30:00+01:00"`
	case "unit":
		what = "must be a UN/ECE Recommendation 20 unit code from the vocabulary's list (KGM, TNE, C62, H87, LTR, KWH, HUR…)"
	case "keyid":
		what = `must be a key id: "sha256:" and 64 lowercase hex digits`
	case "ed25519_key":
		what = "must be an Ed25519 public key: standard base64 of 32 bytes encoding a curve point of large order"
	case "digest":
		what = "must be a SHA-256 digest in 64 lowercase hex digits"
	case "epcis_event_id":
		what = `must be an EPCIS event id: "urn:uuid:" and a lowercase UUID, or a CBV 2.0 event hash "ni:///sha-256;<hex>?ver=CBV2.0"`
	case "web_url":
		what = "must be an http or https URL"
	case "iso4217":
		what = `must be an ISO 4217 currency code such as "USD" or "CDF"`
	case "iso3166_1_alpha2":
		what = `must be an ISO 3166-1 alpha-2 country code such as "CD"`
	case "iso3166_2":
		what = `must be an ISO 3166-2 subdivision code such as "CD-LU"`
	case "oneof":
		what = "must be one of: " + strings.Join(strings.Fields(param), ", ")
	case "min", "max":
		bound := "at least"
		if tag == "max" {
			bound = "at most"
		}
		switch fe.Kind() {
		case reflect.Slice:
			what = fmt.Sprintf("must hold %s %s items", bound, param)
		case reflect.String:
			what = fmt.Sprintf("must be %s %s characters long", bound, param)
		default:
			what = fmt.Sprintf("must be %s %s", bound, param)
		}
	case "unique":
		if param != "" {
			what = fmt.Sprintf("must not name the same %s twice", jsonName(param))
		} else {
			what = "must not repeat an item"
		}
	case "nefield":
		what = "must differ from " + jsonName(param)
	default:
		what = "breaks rule " + tag
	}
	return fmt.Sprintf("%s %s (rule %s)", field, what, tag)
}
