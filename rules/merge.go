package rules

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// LayerKind says what authority a layer has: built-in and org layers may
// lock sections, only a repository's own layer may set extends.
type LayerKind int

const (
	LayerBuiltin LayerKind = iota
	LayerOrg
	LayerRepo
)

func (k LayerKind) String() string {
	switch k {
	case LayerBuiltin:
		return "built-in"
	case LayerOrg:
		return "org"
	case LayerRepo:
		return "repository"
	}
	return fmt.Sprintf("LayerKind(%d)", int(k))
}

// Layer is one file in the merge, lowest priority first.
type Layer struct {
	Kind LayerKind
	// File is nil when the file does not exist or did not parse.
	File *File
	// Err is why the file is missing from the merge (its parse errors, or an
	// extends target that does not exist); Merge reports it in Problems.
	Err error
	// LocksOnly keeps only the sections this layer locks, with their locks.
	// It keeps the org default's locks in force for a repository that
	// extends another file or none, so extends cannot escape a lock.
	LocksOnly bool
}

// Origin is where an effective setting was written.
type Origin struct {
	File         string
	Line, Column int
	Layer        LayerKind
}

func (o Origin) String() string {
	return fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Column)
}

// Result is the effective rules of one repository and how they came about.
type Result struct {
	Rules Rules
	// Sources maps each effective setting, by dotted path ("dco.enabled",
	// "dco.allow.logins"), to the file and line that set it, so a check run
	// can say which file disabled or relaxed something.
	Sources map[string]Origin
	// Warnings are settings that were read but not applied, such as a
	// repository's change to a locked section.
	Warnings Errors
	// Problems are files that could not be used at all; the result is what
	// the remaining layers give.
	Problems Errors

	// warned counts the warnings of each section, and unshown holds the
	// first one past maxErrors, which addWarning did not keep.
	warned  map[string]int
	unshown map[string]*Error
}

// Merge combines layers, lowest priority first (built-in, org, repository),
// at field level: mappings merge key by key, scalars and lists are replaced.
// A section locked by a built-in or org layer cannot be changed by a later
// layer; such changes become Warnings. Rules.Locked is the union of the locks.
func Merge(layers ...Layer) *Result {
	res := &Result{Sources: map[string]Origin{}}
	merged := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	locks := map[string]Origin{} // section → the entry that locked it
	for _, l := range layers {
		if l.Err != nil {
			name := ""
			if l.File != nil {
				name = l.File.Name
			}
			res.Problems = append(res.Problems, asErrors(name, l.Err)...)
		}
		if l.File == nil || l.File.Root == nil {
			continue
		}
		res.applyLayer(merged, l, locks)
		if l.Kind != LayerRepo {
			addLocks(l, locks)
		}
	}
	d := &decoder{file: "merged rules"}
	d.decode(merged, reflect.ValueOf(&res.Rules).Elem(), "")
	// Every layer decoded on its own, so this would be a merge bug; report
	// it rather than hide it.
	res.Problems = append(res.Problems, d.errs...)
	res.Rules.Locked = slices.Sorted(maps.Keys(locks))
	res.compilePatterns(layers)
	res.checkModuleRefs(merged)
	res.checkSize()
	res.checkWelcomeLinks(merged, layers)
	res.checkWelcomeSize()
	res.checkUpstream(merged)
	res.closeWarnings()
	return res
}

func (res *Result) applyLayer(merged *yaml.Node, l Layer, locks map[string]Origin) {
	f := l.File
	root := f.Root
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		section := key.Value
		switch {
		case section == "locked":
			// Locks are collected by addLocks, not merged as a list.
			if l.Kind == LayerRepo {
				res.warn(f, key, "", "locked is honoured only in the org default and the built-in rules; ignored in a repository's file")
			}
			continue
		case section == "extends" && l.Kind != LayerRepo:
			res.warn(f, key, "", "extends is read only from a repository's own file; ignored here")
			continue
		case l.LocksOnly && !slices.Contains(f.Rules.Locked, section):
			continue
		}
		if by, ok := locks[section]; ok {
			if changes(merged, key, val) {
				res.warn(f, key, section, fmt.Sprintf("section %s is locked by the %s layer (%s); this change is ignored", section, by.Layer, by))
			}
			continue
		}
		mergePair(merged, key, val, "", func(path string, n *yaml.Node) {
			res.Sources[path] = Origin{File: f.Name, Line: n.Line, Column: n.Column, Layer: l.Kind}
		})
	}
}

func (res *Result) warn(f *File, at *yaml.Node, section, msg string) {
	res.addWarning(&Error{File: f.Name, Line: at.Line, Column: at.Column, Msg: msg, Section: section})
}

// addWarning keeps at most maxErrors warnings per section: a file that
// names thousands of unknown modules must not cost a warning each, in
// memory, in check runs and in every log line of every event.
func (res *Result) addWarning(e *Error) {
	if res.warned == nil {
		res.warned, res.unshown = map[string]int{}, map[string]*Error{}
	}
	res.warned[e.Section]++
	switch n := res.warned[e.Section]; {
	case n <= maxErrors:
		res.Warnings = append(res.Warnings, e)
	case n == maxErrors+1:
		res.unshown[e.Section] = e
	}
}

// closeWarnings says how many warnings of each section were not kept,
// positioned at the first of them.
func (res *Result) closeWarnings() {
	for _, section := range slices.Sorted(maps.Keys(res.unshown)) {
		first := res.unshown[section]
		res.Warnings = append(res.Warnings, &Error{File: first.File, Line: first.Line, Column: first.Column, Section: section,
			Msg: fmt.Sprintf("%d more warnings from here on are not shown", res.warned[section]-maxErrors)})
	}
}

// shortList names at most maxListed of names, so that a message about one
// name stays short however many the rules define.
func shortList(names []string) string {
	const maxListed = 20
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// addLocks records the sections a built-in or org file locks. The first lock
// of a section is kept, so the warning names the highest authority.
func addLocks(l Layer, locks map[string]Origin) {
	_, list := lookup(l.File.Root, "locked")
	if list == nil {
		return
	}
	for _, item := range list.Content {
		if _, ok := locks[item.Value]; !ok {
			locks[item.Value] = Origin{File: l.File.Name, Line: item.Line, Column: item.Column, Layer: l.Kind}
		}
	}
}

// changes reports whether merging key: val would change the effective value
// of the section, so that restating a locked section as the org has it (as
// a copied org file does) gives no warning.
func changes(merged, key, val *yaml.Node) bool {
	trial := clone(merged)
	mergePair(trial, key, val, "", nil)
	var before, after Rules
	// Without positions: a copied org file restates the same values on
	// other lines.
	(&decoder{noPos: true}).decode(merged, reflect.ValueOf(&before).Elem(), "")
	(&decoder{noPos: true}).decode(trial, reflect.ValueOf(&after).Elem(), "")
	for _, f := range fieldsOf(reflect.TypeFor[Rules]()) {
		if f.name == key.Value {
			return !reflect.DeepEqual(reflect.ValueOf(before).Field(f.index).Interface(), reflect.ValueOf(after).Field(f.index).Interface())
		}
	}
	return true
}

// mergePair sets key: val in the mapping dst, merging mappings key by key
// and replacing anything else. It copies what it inserts, because layers'
// nodes are shared by every repository that reads the same file. set, if
// not nil, is told each setting that was written, for Sources.
func mergePair(dst, key, val *yaml.Node, path string, set func(path string, n *yaml.Node)) {
	p := join(path, key.Value)
	_, cur := lookup(dst, key.Value)
	switch {
	case cur == nil:
		dst.Content = append(dst.Content, clone(key), clone(val))
	case cur.Kind == yaml.MappingNode && val.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(val.Content); i += 2 {
			mergePair(cur, val.Content[i], val.Content[i+1], p, set)
		}
		return
	case cur.Kind == yaml.MappingNode && isNull(val):
		// An empty section ("dco:" with everything commented out) adds nothing.
		return
	default:
		*cur = *clone(val)
	}
	if set != nil {
		record(val, p, set)
	}
}

// record reports every setting under a newly written node.
func record(n *yaml.Node, path string, set func(string, *yaml.Node)) {
	if n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			record(n.Content[i+1], join(path, n.Content[i].Value), set)
		}
		return
	}
	set(path, n)
}

func clone(n *yaml.Node) *yaml.Node {
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = clone(child)
		}
	}
	return &c
}

// checkModuleRefs warns about module names that no layer defines. A file
// may name a module that another layer defines, so only the merged rules
// can tell. The references are dropped so that the warning's "ignored"
// holds for every reader of the rules; a rule stays in place, without
// modules, so that labels.rules[i] still names the i-th rule of the file.
func (res *Result) checkModuleRefs(merged *yaml.Node) {
	mods := res.Rules.Modules
	known := "(no modules are defined)"
	if len(mods) > 0 {
		known = "(known: " + shortList(slices.Sorted(maps.Keys(mods))) + ")"
	}
	var rules []*yaml.Node
	if _, labels := lookup(merged, "labels"); labels != nil {
		rules = listAt(labels, "rules")
	}
	for i := range res.Rules.Labels.Rules {
		rule := &res.Rules.Labels.Rules[i]
		ignored := false
		for j, m := range rule.Modules {
			if _, found := mods[m]; !found {
				ignored = true
				res.warnMerged("labels.rules", nodeAt(rules, i, "modules", j),
					fmt.Sprintf("labels.rules[%d].modules: unknown module %q %s; this rule is ignored", i, m, known))
			}
		}
		if ignored {
			rule.Modules = nil
		}
	}
	_, modNodes := lookup(merged, "modules")
	for _, name := range slices.Sorted(maps.Keys(mods)) {
		mod := mods[name]
		_, modNode := lookup(modNodes, name)
		var implies []string
		for j, m := range mod.Implies {
			if _, found := mods[m]; found {
				implies = append(implies, m)
				continue
			}
			res.warnMerged("modules."+name+".implies", nodeAt([]*yaml.Node{modNode}, 0, "implies", j),
				fmt.Sprintf("modules.%s.implies: unknown module %q %s; ignored", name, m, known))
		}
		if len(implies) < len(mod.Implies) {
			mod.Implies = implies
			mods[name] = mod
		}
	}
}

// nodeAt is the j-th entry of list key in the i-th mapping of items; nil
// when the tree does not have it.
func nodeAt(items []*yaml.Node, i int, key string, j int) *yaml.Node {
	if i >= len(items) {
		return nil
	}
	if list := listAt(items[i], key); j < len(list) {
		return list[j]
	}
	return nil
}

// checkSize switches size labels off when the effective thresholds do not
// increase: each file's own thresholds were checked by Parse, but one
// layer's M may sit below another layer's S.
func (res *Result) checkSize() {
	size := &res.Rules.Labels.Size
	if !size.Enabled {
		return
	}
	t := size.Thresholds
	vals := []int{t.S, t.M, t.L, t.XL, t.XXL}
	const path = "labels.size.thresholds."
	var at, msg string
	if vals[0] < 1 {
		at, msg = "S", fmt.Sprintf("want 1 or more, got %d", vals[0])
	}
	for i := 1; msg == "" && i < len(vals); i++ {
		if vals[i] > vals[i-1] {
			continue
		}
		lo, hi := sizeNames[i-1], sizeNames[i]
		// Point at whichever of the two the later layer wrote: that is
		// the edit that broke the order.
		if res.Sources[path+lo].Layer > res.Sources[path+hi].Layer {
			at, msg = lo, fmt.Sprintf("%d is not below %s (%d); want S < M < L < XL < XXL", vals[i-1], hi, vals[i])
		} else {
			at, msg = hi, fmt.Sprintf("%d is not above %s (%d); want S < M < L < XL < XXL", vals[i], lo, vals[i-1])
		}
	}
	if msg == "" {
		return
	}
	size.Enabled = false
	source := path + at
	if _, ok := res.Sources[source]; !ok {
		source = "labels.size.enabled"
	}
	o := res.Sources[source]
	res.addWarning(&Error{File: o.File, Line: o.Line, Column: o.Column,
		Msg: fmt.Sprintf("%s%s: %s; size labels are off", path, at, msg), Section: "labels"})
}

// warnMerged positions a warning at node n of the merged tree, whose
// positions are those of the file that Sources names for path.
func (res *Result) warnMerged(path string, n *yaml.Node, msg string) {
	o := res.Sources[path]
	section, _, _ := strings.Cut(path, ".")
	e := &Error{File: o.File, Line: o.Line, Column: o.Column, Msg: msg, Section: section}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	res.addWarning(e)
}

// checkUpstream checks what only the merged rules can tell: the settings
// involved may come from different layers, each fine on its own.
func (res *Result) checkUpstream(merged *yaml.Node) {
	up := &res.Rules.Upstream
	_, node := lookup(merged, "upstream")
	var gitlab []string
	for j, h := range up.GitLab {
		if !slices.Contains(up.Gerrit, h) {
			gitlab = append(gitlab, h)
			continue
		}
		// A link goes to one provider, so one list must keep the host;
		// Gerrit does, as Upstream.GitLab documents.
		res.warnMerged("upstream.gitlab", nodeAt([]*yaml.Node{node}, 0, "gitlab", j),
			fmt.Sprintf("upstream.gitlab[%d]: %q is also in upstream.gerrit (%s); its links are read as Gerrit changes", j, h, res.Sources["upstream.gerrit"]))
	}
	if len(gitlab) < len(up.GitLab) {
		up.GitLab = gitlab
	}
	// GitHub compares label names without case.
	if up.Labels && strings.HasPrefix(strings.ToLower(up.Label), UpstreamLabelPrefix) {
		res.warnMerged("upstream.label", nil, fmt.Sprintf("upstream.label: %q starts with %q, the prefix of the labels contribot sets itself under upstream.labels (%s, %s); choose a label outside it",
			up.Label, UpstreamLabelPrefix, UpstreamLabelMerged, UpstreamLabelStale))
	}
	if up.Dashboard.Repo != "" && strings.TrimSpace(up.Dashboard.Title) == "" {
		// Parse refuses an empty title unless its file also writes repo: "",
		// so a later layer set the repository again.
		path, where := "upstream.dashboard.title", " ("+res.Sources["upstream.dashboard.repo"].String()+")"
		if _, ok := res.Sources[path]; !ok {
			// No layer wrote a title: point at the repo, named once.
			path, where = "upstream.dashboard.repo", ""
		}
		res.warnMerged(path, nil, fmt.Sprintf("upstream.dashboard.title: empty, but upstream.dashboard.repo is %q%s; the dashboard issue needs a title, so there is no dashboard",
			up.Dashboard.Repo, where))
		up.Dashboard.Repo = ""
	}
}
