package rules

import (
	"bytes"
	"reflect"
	"slices"

	"gopkg.in/yaml.v3"
)

// Salvage says how FailClosed read the locks of a file that does not parse.
type Salvage int

const (
	// SalvageListed: the file's locked list could be read; it locks what
	// it lists (perhaps nothing).
	SalvageListed Salvage = iota
	// SalvageMentioned: the YAML could be read but not its locks (locked
	// is malformed, or an unknown top-level key may be a misspelt
	// locked): it locks dco and every section it writes.
	SalvageMentioned
	// SalvageAll: not even the YAML could be read: it locks every section.
	SalvageAll
)

// FailClosed stands in for an org file that does not parse, when no earlier
// version of it is known: a typo beside "locked: [dco]" must not drop the
// lock, or a repository could switch DCO off until the org fixes its file.
// It reads only what the file locks, leniently, and returns a file that
// holds just those locks, positioned where they are written, for a layer of
// its own: the sections it locks keep what the layers below give (the
// built-in rules), and repositories cannot change them.
//
// When the locks cannot be read it fails closed: a malformed locked list,
// or an unknown top-level key that may be a misspelt one, locks dco (the
// built-in DCO check is the safe value) and every section the file writes;
// a file that is not YAML at all locks every section. A wrong lock costs a
// repository its own settings until the org fixes a file that every check
// run names; a lost lock lets a repository turn DCO off meanwhile.
func FailClosed(name string, data []byte) (*File, Salvage) {
	root := lenientRoot(data)
	if root == nil {
		return locksFile(name, Lockable(), nil), SalvageAll
	}
	known := fieldsOf(reflect.TypeFor[Rules]())
	var list *yaml.Node
	lists, unknown := 0, false
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i]
		switch {
		case key.Value == "locked":
			list = root.Content[i+1]
			lists++
		case !slices.ContainsFunc(known, func(f field) bool { return f.name == key.Value }):
			unknown = true
		}
	}
	if sections, at, ok := readLocks(list); lists == 1 && ok {
		return locksFile(name, sections, at), SalvageListed
	}
	if lists == 0 && !unknown {
		// The file locks nothing, and no key could be meant to.
		return locksFile(name, nil, nil), SalvageListed
	}
	var sections []string
	var at []*yaml.Node
	for _, s := range Lockable() {
		key, _ := lookup(root, s)
		switch {
		case key != nil:
			sections, at = append(sections, s), append(at, key)
		case s == "dco":
			// Not written, so the lock points at the file's first line.
			sections, at = append(sections, s), append(at, root)
		}
	}
	return locksFile(name, sections, at), SalvageMentioned
}

// lenientRoot is the top-level mapping of a file, read as YAML and nothing
// more (anchors and unknown keys are fine here); nil when there is none.
func lenientRoot(data []byte) *yaml.Node {
	if len(data) > MaxFileSize || checkText("", data, true) != nil {
		return nil
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	if root := doc.Content[0]; root.Kind == yaml.MappingNode {
		return root
	}
	return nil
}

// readLocks reads a locked list that names only lockable sections; ok is
// false for anything else.
func readLocks(list *yaml.Node) (sections []string, at []*yaml.Node, ok bool) {
	if list == nil || isNull(list) {
		return nil, nil, list != nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, nil, false
	}
	lockable := Lockable()
	for _, item := range list.Content {
		if !isString(item) || !slices.Contains(lockable, item.Value) {
			return nil, nil, false
		}
		sections, at = append(sections, item.Value), append(at, item)
	}
	return sections, at, true
}

// locksFile is a file that writes only "locked: [sections]", each entry at
// the position of the node at[i] (line 1 when at is shorter), so Merge's
// warnings cite where the lock comes from.
func locksFile(name string, sections []string, at []*yaml.Node) *File {
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: 1, Column: 1}
	for i, s := range sections {
		line, col := 1, 1
		if i < len(at) {
			line, col = at[i].Line, at[i].Column
		}
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: line, Column: col})
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "locked", Line: 1, Column: 1}, list,
	}}
	return &File{Name: name, Root: root, Rules: Rules{Locked: slices.Clone(sections)}}
}
