package rules

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Salvage says how FailClosed read the locks of a file that does not parse.
type Salvage int

const (
	// SalvageListed: the file's locked list could be read; it locks what
	// it lists (perhaps nothing).
	SalvageListed Salvage = iota
	// SalvageMentioned: the YAML could be read but not its locks with
	// certainty (locked is malformed, or something else in the file
	// looks like a lock): it locks dco, every section it writes and
	// every section a lock-like list names.
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
// The file's locks count as read only when its first document has one
// top-level locked list of lockable sections and nothing else in the file
// looks like a lock: no unknown top-level key (a misspelt locked), no key
// like "locked" at any depth or in a later document ("locked" indented
// under a section, "lockd", "Locked"), no list of section names under a
// key the schema does not have there, no later document that cannot be
// read. Otherwise it fails closed: it locks dco (the built-in DCO check is
// the safe value), every section the file writes, and every section such a
// list names; a file that is not YAML at all locks every section. A wrong
// lock costs a repository its own settings until the org fixes a file that
// every check run names; a lost lock lets a repository turn DCO off
// meanwhile. A file that names no lock anywhere locks nothing.
func FailClosed(name string, data []byte) (*File, Salvage) {
	docs, complete := lenientDocs(data)
	if len(docs) == 0 || docs[0] == nil || docs[0].Kind != yaml.MappingNode {
		return locksFile(name, Lockable(), nil), SalvageAll
	}
	root := docs[0]
	known := fieldsOf(reflect.TypeFor[Rules]())
	isSection := func(key string) bool { return slices.ContainsFunc(known, func(f field) bool { return f.name == key }) }
	var list *yaml.Node
	lists, doubtful := 0, !complete
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i]
		switch {
		case key.Value == "locked":
			list = root.Content[i+1]
			lists++
		case !isSection(key.Value):
			doubtful = true
		}
	}
	// Whatever else looks like a lock, anywhere in the file.
	var named []*yaml.Node
	for d, doc := range docs {
		eachPair(doc, func(key, val *yaml.Node, depth int) {
			if d == 0 && depth == 0 && (key.Value == "locked" || isSection(key.Value)) {
				return // the top-level locked list, or a section
			}
			items := sectionNames(val)
			if lockLike(key.Value) || len(items) > 0 && !schemaList(key.Value) {
				doubtful = true
				named = append(named, items...)
			}
		})
	}
	sections, at, ok := readLocks(list)
	switch {
	case lists == 1 && ok && !doubtful:
		return locksFile(name, sections, at), SalvageListed
	case lists == 0 && !doubtful:
		// The file locks nothing, and nothing in it could be meant to.
		return locksFile(name, nil, nil), SalvageListed
	}
	locks := map[string]*yaml.Node{}
	add := func(s string, n *yaml.Node) {
		if _, seen := locks[s]; !seen {
			locks[s] = n
		}
	}
	for i, s := range sections {
		add(s, at[i])
	}
	for _, n := range named {
		add(n.Value, n)
	}
	for _, doc := range docs {
		for _, s := range Lockable() {
			if key, _ := lookup(doc, s); key != nil {
				add(s, key)
			}
		}
	}
	add("dco", root) // not written: the lock points at the file's first line
	var out []string
	var where []*yaml.Node
	for _, s := range Lockable() {
		if n, ok := locks[s]; ok {
			out, where = append(out, s), append(where, n)
		}
	}
	return locksFile(name, out, where), SalvageMentioned
}

// schemaList reports a key whose value the schema has as a list of names
// that may be section names too (modules.*.implies, labels.rules[].modules
// may name a module "dco").
func schemaList(key string) bool {
	return key == "implies" || key == "modules"
}

// lenientDocs are the top-level nodes of a file's documents, read as YAML
// and nothing more (anchors and unknown keys are fine here), nil for an
// empty document; complete is false when a document could not be read,
// whose text may hold a lock.
func lenientDocs(data []byte) (docs []*yaml.Node, complete bool) {
	if len(data) > MaxFileSize || checkText("", data, true) != nil {
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		switch err := dec.Decode(&doc); {
		case errors.Is(err, io.EOF):
			return docs, true
		case err != nil:
			return docs, false
		}
		var root *yaml.Node
		if len(doc.Content) > 0 && !isNull(doc.Content[0]) {
			root = doc.Content[0]
		}
		docs = append(docs, root)
	}
}

// eachPair calls fn for every key of every mapping under n, with the
// depth of its mapping (0 for n's own keys); aliases are not followed.
func eachPair(n *yaml.Node, fn func(key, val *yaml.Node, depth int)) {
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				fn(n.Content[i], n.Content[i+1], depth)
				walk(n.Content[i+1], depth+1)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
	}
	walk(n, 0)
}

// sectionNames are the entries of a list that name lockable sections.
func sectionNames(list *yaml.Node) []*yaml.Node {
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	lockable := Lockable()
	var out []*yaml.Node
	for _, item := range list.Content {
		if isString(item) && slices.Contains(lockable, item.Value) {
			out = append(out, item)
		}
	}
	return out
}

// lockLike reports a key that may be meant as locked: any spelling with
// "lock" in it, or within two typos of "locked".
func lockLike(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	return strings.Contains(k, "lock") || len(k) <= 10 && typos(k, "locked") <= 2
}

// typos is the edit distance of a and b, counting a swap of two adjacent
// characters as one edit.
func typos(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
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
