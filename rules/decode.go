package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder fills a Go value from a yaml.Node by the value's yaml tags. It
// exists because yaml.v3's KnownFields decoding stops at the first problem and
// reports only a line; walking the nodes ourselves gives every problem with
// line and column and lets messages name the setting ("dco.enabled").
type decoder struct {
	file string
	// src is the file's text, for positions inside templates; may be nil.
	src  []byte
	errs Errors
	// noPos leaves Pos fields zero, for comparing the values of two trees
	// whose nodes sit at different lines.
	noPos bool
	// redact keeps the file's text out of messages (see ParseRedacted):
	// every value, key or name read from the file goes through quote,
	// number, name or describe, which hide it.
	redact bool
	// globs, globProgram and titleProgram add up the cost of the file's
	// patterns; titles and paths keep the compiled title expressions and
	// path globs (see patterns.go).
	globs, globProgram, titleProgram int
	titles                           map[string]*regexp.Regexp
	paths                            map[string]*Glob
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// hidden stands for the text of a redacted file in a message.
const hidden = "(not shown)"

// quote is text from the file as a message shows it.
func (d *decoder) quote(s string) string {
	if d.redact {
		return hidden
	}
	return strconv.Quote(s)
}

// number is a number from the file as a message shows it.
func (d *decoder) number(n int) string {
	if d.redact {
		return hidden
	}
	return strconv.Itoa(n)
}

// name is a name the file's author chose (a module, a link) as part of a
// setting's path: "modules.storage.label", or "modules.*.label" redacted.
func (d *decoder) name(s string) string {
	if d.redact {
		return "*"
	}
	return s
}

func (d *decoder) describe(n *yaml.Node) string { return describe(n, d.redact) }

// size is the length of a value of the file over a limit, as a message
// shows it: "201 bytes", or "too long" redacted, since a length says what
// a hidden value is (a token's length, a secret's).
func (d *decoder) size(n int, unit string) string {
	if d.redact {
		return "too long"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// count is how many entries of a list or mapping the file has over a
// limit: "51 links", or "too many links" redacted.
func (d *decoder) count(n int, noun string) string {
	if d.redact {
		return "too many " + noun
	}
	return fmt.Sprintf("%d %s", n, noun)
}

var durationType = reflect.TypeFor[Duration]()

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if v.Type() == durationType {
		// Before the kinds: a Duration is an int64 but is written as text.
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Bool:
		d.decodeBool(n, v, path)
	case reflect.String:
		d.decodeString(n, v, path)
	case reflect.Int:
		d.decodeInt(n, v, path)
	default:
		// A field type added to Rules without teaching the decoder;
		// TestDecoderKnowsEveryRulesType catches it before it ships.
		d.errorf(n, "%s: contribot cannot read settings of Go type %s", path, v.Type())
	}
}

// field is one yaml key of a struct.
type field struct {
	name  string
	index int
}

// fieldsOf lists a struct's yaml keys in declaration order, which is also the
// order an admin sees in the "known:" hint.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{name: name, index: i})
	}
	return fs
}

var posType = reflect.TypeFor[Pos]()

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode && !isNull(n) {
		d.errorf(n, "%s: want a mapping, got %s", path, d.describe(n))
		return
	}
	if !d.noPos {
		for i := range v.NumField() {
			if sf := v.Type().Field(i); sf.Type == posType && sf.Tag.Get("yaml") == "-" {
				v.Field(i).Set(reflect.ValueOf(Pos{Line: n.Line, Column: n.Column}))
			}
		}
	}
	if isNull(n) {
		// A section with everything commented out changes nothing.
		return
	}
	fs := fieldsOf(v.Type())
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	d.eachPair(n, path, func(key, val *yaml.Node) {
		for _, f := range fs {
			if f.name != key.Value {
				continue
			}
			p := join(path, key.Value) // a key the schema knows
			if isNull(val) && key.LineComment != "" && v.Field(f.index).Kind() == reflect.String {
				// "color: #c5def5" is a key followed by a comment.
				if d.redact {
					d.errorf(val, "%s: want a string, got an empty value; the rest of the line is read as a YAML comment: put the value in quotes", p)
					return
				}
				d.errorf(val, "%s: want a string, got an empty value; %q is read as a YAML comment", p, key.LineComment)
				return
			}
			d.decode(val, v.Field(f.index), p)
			return
		}
		where := "at the top level"
		if path != "" {
			where = "in " + path
		}
		d.errorf(key, "unknown key %s %s (known: %s)", d.quote(key.Value), where, strings.Join(names, ", "))
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", path, d.describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.errorf(n, "%s: contribot cannot read settings of Go type %s", path, v.Type())
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.eachPair(n, path, func(key, val *yaml.Node) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, join(path, d.name(key.Value)))
		v.SetMapIndex(reflect.ValueOf(key.Value).Convert(v.Type().Key()), elem)
	})
}

// eachPair calls fn for each key of a mapping after checking that the key is
// a plain string and appears once: yaml.v3 accepts duplicate keys in a Node,
// and a silently shadowed setting is the kind of mistake strictness is for.
func (d *decoder) eachPair(n *yaml.Node, path string, fn func(key, val *yaml.Node)) {
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode || isNull(key) {
			d.errorf(key, "%s: keys must be plain names, got %s", orTop(path), d.describe(key))
			continue
		}
		if first, dup := seen[key.Value]; dup {
			d.errorf(key, "duplicate key %s in %s (first at line %d)", d.quote(key.Value), orTop(path), first.Line)
			continue
		}
		seen[key.Value] = key
		fn(key, val)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		// "logins:" with every item commented out means an empty list.
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", path, d.describe(n))
		return
	}
	if len(n.Content) == 0 {
		// nil, not empty, so that "[]" and an empty value compare equal.
		v.SetZero()
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	// Only true/false: yaml.v3 would also take yes/no/on/off into a bool,
	// YAML 1.1 habits that make "no" mean false in one key and a word in another.
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, "%s: want a boolean (true or false), got %s", path, d.describe(n))
		return
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(n, "%s: want a boolean (true or false), got %s", path, d.describe(n))
		return
	}
	v.SetBool(b)
}

func (d *decoder) decodeString(n *yaml.Node, v reflect.Value, path string) {
	if !isString(n) {
		hint := ""
		if n.Kind == yaml.ScalarNode && !isNull(n) {
			hint = "; put it in quotes to use it as text"
		}
		d.errorf(n, "%s: want a string, got %s%s", path, d.describe(n), hint)
		return
	}
	v.SetString(n.Value)
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	// Only !!int: a quoted "10" or 10.0 would be read differently by
	// every other YAML tool an admin checks the file with.
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		hint := ""
		if _, err := strconv.Atoi(n.Value); err == nil && isString(n) {
			hint = "; remove the quotes"
		}
		d.errorf(n, "%s: want a whole number, got %s%s", path, d.describe(n), hint)
		return
	}
	var i int64
	if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
		d.errorf(n, "%s: want a whole number, got %s", path, d.describe(n))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if !isString(n) {
		hint := ""
		var days int64
		if n.ShortTag() == "!!int" && n.Decode(&days) == nil {
			// "stale_after: 60" is the likeliest slip: a number of days.
			hint = "; add a unit, such as 60d"
			if !d.redact {
				hint = fmt.Sprintf("; add a unit, such as %dd", days)
			}
		}
		d.errorf(n, "%s: want a duration such as %s, got %s%s", path, durationForms, d.describe(n), hint)
		return
	}
	dur, err := ParseDuration(n.Value)
	switch {
	case err != nil && d.redact:
		// ParseDuration's errors quote the value.
		d.errorf(n, "%s: want a duration such as %s, up to %dd, got text that is not one", path, durationForms, maxDays)
		return
	case err != nil:
		d.errorf(n, "%s: %v", path, err)
		return
	}
	v.SetInt(int64(dur))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}
