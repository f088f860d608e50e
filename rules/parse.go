package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// File is one parsed rules file: its nodes, which keep line and column for
// merging and explanation, and the settings it writes on its own.
type File struct {
	// Name is how messages refer to the file: a path for the repository's
	// own file, "owner/repo:path" for a file read from elsewhere.
	Name string
	// Root is the top-level mapping; nil for an empty file. Shared between
	// repositories by the loader's cache: never modify it.
	Root *yaml.Node
	// Rules holds only what this file writes; everything else is zero.
	Rules Rules
	// src is the file's text, for positions inside multi-line values
	// such as welcome templates; nil when unknown.
	src []byte
	// titles and paths are the compiled title expressions and path globs
	// of labels.rules, for Merge to hand on; shared like Root, so
	// read-only.
	titles map[string]*regexp.Regexp
	paths  map[string]*Glob
}

// Parse reads a contribot.yml strictly: an unknown key, a value of the wrong
// type, a duplicate key, YAML anchors or aliases and files over MaxFileSize
// are errors. It returns all problems at once as Errors, each positioned as
// name:line:column. An empty file is a valid, empty layer.
func Parse(name string, data []byte) (*File, error) {
	return parseFile(name, data, false)
}

// ParseRedacted is Parse for a file read from another repository than the
// one whose rules are being loaded: the org default, an extends target.
// Its problems are shown where that repository's readers see them (the
// check run, the logs), and they may not be able to read the file, which
// may not even be a rules file. So its messages name the file, line,
// column, the setting and the kind of problem, and never hold text from
// the file: no value, no key the schema does not know, no name the file
// chose (modules.*.label), no part of a template.
//
// A file that parses is quoted freely later on (Merge's warnings): its
// settings are then the repository's own rules, which the repository shows
// anyway in what it does.
func ParseRedacted(name string, data []byte) (*File, error) {
	return parseFile(name, data, true)
}

func parseFile(name string, data []byte, redact bool) (*File, error) {
	root, err := readYAML(name, data, redact)
	if err != nil {
		return nil, err
	}
	f := &File{Name: name, Root: root, src: data}
	if root == nil {
		return f, nil
	}
	d := &decoder{file: name, src: data, redact: redact}
	d.decode(root, reflect.ValueOf(&f.Rules).Elem(), "")
	d.checkRules(root, &f.Rules)
	if len(d.errs) > 0 {
		return nil, d.errs.report()
	}
	f.titles, f.paths = d.titles, d.paths
	// The file's own rules carry their compiled patterns too, the same
	// ones Merge hands on, so that a file's rules and the merged rules of
	// that file alone are the same value.
	for i := range f.Rules.Labels.Rules {
		rule := &f.Rules.Labels.Rules[i]
		rule.title = d.titles[rule.Title]
		rule.any, rule.all = compiledGlobs(d.paths, rule.Files.Any), compiledGlobs(d.paths, rule.Files.All)
	}
	return f, nil
}

// checkRules validates values whose type is right but whose meaning is not.
func (d *decoder) checkRules(root *yaml.Node, r *Rules) {
	// Values of the wrong type were reported by decode already.
	if _, val := lookup(root, "extends"); val != nil && isString(val) {
		// The owner is checked when the rules load: Parse does not know it.
		if _, _, err := parseExtends(r.Extends, d.quote); err != nil {
			d.errorf(val, "extends: %v", err)
		}
	}
	if _, dco := lookup(root, "dco"); dco != nil && dco.Kind == yaml.MappingNode {
		// Intake only queues comments with a line starting with "/", so any
		// other command would be silently ignored.
		if _, val := lookup(dco, "recheck_command"); val != nil && isString(val) && !strings.HasPrefix(strings.TrimSpace(val.Value), "/") {
			d.errorf(val, "dco.recheck_command: %s must start with \"/\", e.g. \"/dco recheck\"", d.quote(val.Value))
		}
	}
	_, mods := lookup(root, "modules")
	d.checkModules(mods)
	_, labels := lookup(root, "labels")
	d.checkLabels(labels)
	_, welcome := lookup(root, "welcome")
	d.checkWelcome(welcome)
	_, upstream := lookup(root, "upstream")
	d.checkUpstream(upstream)
	if _, val := lookup(root, "locked"); val != nil && val.Kind == yaml.SequenceNode {
		known := Lockable()
		for i, item := range val.Content {
			if isString(item) && !slices.Contains(known, item.Value) {
				d.errorf(item, "locked[%d]: %s is not a section that can be locked (known: %s)", i, d.quote(item.Value), strings.Join(known, ", "))
			}
		}
	}
}

// Lockable lists the top-level sections that `locked` may name: every
// section except the layering keys themselves.
func Lockable() []string {
	var names []string
	for _, f := range fieldsOf(reflect.TypeFor[Rules]()) {
		if f.name != "extends" && f.name != "locked" {
			names = append(names, f.name)
		}
	}
	return names
}

// Has reports whether the file writes the top-level section, even as an
// empty value: an explicit "dco:" still opts out of the dco.yml migration.
func (f *File) Has(section string) bool {
	key, _ := lookup(f.Root, section)
	return key != nil
}

// ErrorAt positions a message at the value of a top-level key of the file
// (at the file itself when the key is absent), for problems found later
// such as an extends target that does not exist.
func (f *File) ErrorAt(key, format string, args ...any) *Error {
	e := &Error{File: f.Name, Msg: fmt.Sprintf(format, args...)}
	if _, val := lookup(f.Root, key); val != nil {
		e.Line, e.Column = val.Line, val.Column
	}
	return e
}

// lookup finds a key of a mapping node; nil, nil when absent.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// compiledGlobs are the compiled globs, or nil when one is missing.
func compiledGlobs(paths map[string]*Glob, globs []string) []*Glob {
	var out []*Glob
	for _, g := range globs {
		if paths[g] == nil {
			return nil
		}
		out = append(out, paths[g])
	}
	return out
}
