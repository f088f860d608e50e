// Package labels labels pull requests by the modules they touch. Decide is
// pure: it takes the rules and what is known of one pull request and says
// which labels to add and remove, and why; Handler gathers the inputs from
// GitHub and the database and applies the decision.
package labels

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/SovereignCloudStack/contribot/rules"
)

// GitHubFileCap is how many files GitHub lists for a pull request at most;
// a larger PR's list is cut there without saying which files are missing.
const GitHubFileCap = 3000

// MaxModuleLabels bounds the module labels of one decision: GitHub puts at
// most 100 labels on a pull request, and this leaves room for the fallback
// and size labels. Past it the rules cannot be applied as written (and
// with create_missing, each label would be one more call), so the pull
// request is decided like a tree-wide change.
const MaxModuleLabels = 98

// File is one changed file; Previous is set for renames, whose old path
// counts as changed too.
type File struct {
	Path     string `json:"filename"`
	Previous string `json:"previous_filename,omitempty"`
}

// Input is what Decide knows of one pull request.
type Input struct {
	// Repo is "owner/name".
	Repo  string
	Title string
	// Files are the changed files, when they were listed.
	Files []File
	// ChangedFiles is GitHub's count, which stays right when the list is cut.
	ChangedFiles int
	// FilesListed is false when the list was not read, because the PR is
	// over max_files or no rule needs paths.
	FilesListed bool
	// Additions and Deletions give the size label.
	Additions, Deletions int
	// Current are the labels on the pull request now.
	Current []string
	// AddedBy and RemovedBy record who else (a person or another bot) added
	// or removed a label on this PR, by lower-case label name. RemovedBy
	// holds only removals still in force: the changed files have not changed
	// since.
	AddedBy   map[string]string
	RemovedBy map[string]string
	// Ours are the labels contribot added itself, the only ones sync:
	// managed removes: a label from before contribot, or one whose history
	// is lost, is somebody's.
	Ours map[string]bool
}

// Cause kinds, in the order explanations list them.
const (
	CauseRepo     = "repository"
	CauseFiles    = "files"
	CauseTitle    = "title"
	CauseImplied  = "implied"
	CauseFallback = "fallback"
	CauseSize     = "size"
)

// Cause is one reason a label is wanted.
type Cause struct {
	Kind string `json:"kind"`
	// Module is the module the label marks; empty for size and fallback.
	Module string `json:"module,omitempty"`
	// Rule is the index in labels.rules, or -1.
	Rule     int       `json:"rule"`
	RuleName string    `json:"rule_name,omitempty"`
	Pos      rules.Pos `json:"-"`
	// File is the changed file that matched, for path rules.
	File string `json:"file,omitempty"`
	// ImpliedBy is the module that implied this one.
	ImpliedBy string `json:"implied_by,omitempty"`
	// Detail says the rest in words, e.g. the guard that tripped.
	Detail string `json:"detail,omitempty"`
	// Source is the rule's file:line, set by Cite.
	Source string `json:"source,omitempty"`
}

// Cite sets each cause's Source from the file that wrote labels.rules.
func (d *Decision) Cite(rulesFile string) {
	for i := range d.Want {
		for j, c := range d.Want[i].Causes {
			if rulesFile != "" && c.Pos.Line > 0 {
				d.Want[i].Causes[j].Source = fmt.Sprintf("%s:%d", rulesFile, c.Pos.Line)
			}
		}
	}
}

// Want is a label the rules give, with every cause.
type Want struct {
	Label  string  `json:"label"`
	Causes []Cause `json:"causes"`
}

// Held is a label the decision leaves alone, and why.
type Held struct {
	Label  string `json:"label"`
	Reason string `json:"reason"`
}

// Decision is what to do with one pull request's labels.
type Decision struct {
	Want   []Want   `json:"want"`
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
	// Held are wanted labels not added and unwanted owned labels not
	// removed, because someone else decided otherwise.
	Held []Held `json:"held,omitempty"`
	// TreeWide is set when a guard replaced the path labels by the fallback.
	TreeWide string `json:"tree_wide,omitempty"`
}

// Unchanged reports whether the decision writes nothing.
func (d *Decision) Unchanged() bool { return len(d.Add) == 0 && len(d.Remove) == 0 }

// Labels returns the names of the wanted labels.
func (d *Decision) Labels() []string {
	out := make([]string, len(d.Want))
	for i, w := range d.Want {
		out[i] = w.Label
	}
	return out
}

// NeedsFiles reports whether deciding for repo reads changed paths, so a
// handler can skip listing files for repositories whose modules are fixed.
func NeedsFiles(cfg rules.Labels, repo string) bool {
	if !cfg.Enabled {
		return false
	}
	for _, r := range cfg.Rules {
		if (len(r.Files.Any) > 0 || len(r.Files.All) > 0) && (len(r.Repos) == 0 || rules.MatchRepo(r.Repos, repo)) {
			return true
		}
	}
	return false
}

// Decide computes the labels a pull request should carry under the rules.
func Decide(r *rules.Rules, in Input) *Decision {
	cfg := r.Labels
	d := &Decision{}
	if !cfg.Enabled {
		return d
	}
	want := map[string]*Want{}
	var order []string
	add := func(label string, c Cause) {
		key := strings.ToLower(label)
		w := want[key]
		if w == nil {
			w = &Want{Label: label}
			want[key] = w
			order = append(order, key)
		}
		w.Causes = append(w.Causes, c)
	}

	paths := changedPaths(in.Files)
	treeWide := ""
	if NeedsFiles(cfg, in.Repo) {
		// Where the modules do not depend on paths, a big PR is big, but
		// not tree-wide.
		treeWide = cmp.Or(tooManyFiles(cfg, in), tooMuchGlobWork(cfg, in.Repo, paths, in.FilesListed))
	}
	fixed := map[string][]Cause{}  // modules from repository rules
	varied := map[string][]Cause{} // modules from path and title rules
	for i, rule := range cfg.Rules {
		cause, ok := matchRule(rule, i, in.Repo, in.Title, paths, in.FilesListed && treeWide == "")
		if !ok {
			continue
		}
		into := varied
		if cause.Kind == CauseRepo {
			into = fixed
		}
		for _, m := range rule.Modules {
			if _, known := r.Modules[m]; !known {
				continue // reported as a rules warning when the rules were merged
			}
			c := cause
			c.Module = m
			into[m] = append(into[m], c)
		}
	}
	implied(r.Modules, fixed)
	implied(r.Modules, varied)
	for m := range fixed {
		delete(varied, m)
	}
	// Only labels that paths and titles add can be too many: the ones a
	// repository always gets are the admin's own choice.
	if treeWide == "" && cfg.MaxLabels > 0 {
		fixedLabels := moduleLabels(r.Modules, fixed)
		n := 0
		for l := range moduleLabels(r.Modules, varied) {
			if !fixedLabels[l] {
				n++
			}
		}
		if n > cfg.MaxLabels {
			treeWide = fmt.Sprintf("the paths give %d module labels, more than max_labels (%d)", n, cfg.MaxLabels)
		}
	}
	if n := len(moduleLabels(r.Modules, fixed, varied)); treeWide == "" && n > MaxModuleLabels {
		treeWide = fmt.Sprintf("the rules give %d module labels, more than the %d a pull request can carry beside the fallback and size labels", n, MaxModuleLabels)
	}
	if treeWide != "" {
		d.TreeWide = treeWide
		varied = nil
	}
	if n := len(moduleLabels(r.Modules, fixed)); n > MaxModuleLabels {
		// The repository's own rules alone give too many: none applies.
		d.TreeWide = fmt.Sprintf("the repository rules give %d module labels, more than the %d a pull request can carry beside the fallback and size labels", n, MaxModuleLabels)
		treeWide, fixed = d.TreeWide, nil
	}
	for _, set := range []map[string][]Cause{fixed, varied} {
		for _, m := range sortedKeys(set) {
			for _, c := range set[m] {
				add(moduleLabel(r.Modules, m), c)
			}
		}
	}
	if treeWide != "" && cfg.Fallback != "" {
		add(cfg.Fallback, Cause{Kind: CauseFallback, Rule: -1, Detail: treeWide})
	}
	if cfg.Size.Enabled {
		lines := in.Additions + in.Deletions
		add(SizeLabel(cfg.Size.Thresholds, lines), Cause{Kind: CauseSize, Rule: -1, Detail: fmt.Sprintf("%d lines changed (+%d −%d)", lines, in.Additions, in.Deletions)})
	}

	for _, key := range order {
		d.Want = append(d.Want, *want[key])
	}
	current := map[string]bool{}
	for _, l := range in.Current {
		current[strings.ToLower(l)] = true
	}
	// Removals first: whether a new size label may be added depends on
	// whether the old one goes.
	keptSize := ""
	for _, l := range in.Current {
		key := strings.ToLower(l)
		if want[key] != nil || !Owns(cfg.Owned, l) {
			continue // contribot never touches a label it does not own
		}
		switch by, ok := in.AddedBy[key]; {
		case cfg.Sync != rules.SyncManaged:
		case ok:
			d.Held = append(d.Held, Held{Label: l, Reason: fmt.Sprintf("added by @%s; contribot never removes a label someone else added", by)})
		case !in.Ours[key]:
			d.Held = append(d.Held, Held{Label: l, Reason: "not added by contribot; sync: managed removes only labels contribot added"})
		default:
			d.Remove = append(d.Remove, l)
			continue
		}
		if cfg.Size.Enabled && isSizeLabel(l) {
			keptSize = l
		}
	}
	for _, key := range order {
		w := want[key]
		switch by, removed := in.RemovedBy[key]; {
		case current[key]:
		case removed:
			d.Held = append(d.Held, Held{Label: w.Label, Reason: fmt.Sprintf("removed by @%s; added again only when the changed files change", by)})
		case keptSize != "" && isSizeLabel(w.Label):
			// Two size labels would contradict each other.
			d.Held = append(d.Held, Held{Label: w.Label, Reason: fmt.Sprintf("the PR keeps %s, which contribot may not remove (sync: %s)", keptSize, cfg.Sync)})
		default:
			d.Add = append(d.Add, w.Label)
		}
	}
	return d
}

// tooManyFiles says why the changed files cannot decide, or "". GitHub
// lists up to GitHubFileCap files: a PR with exactly that many is listed
// whole, a larger one is cut without saying where.
func tooManyFiles(cfg rules.Labels, in Input) string {
	n := max(in.ChangedFiles, len(in.Files))
	switch {
	case cfg.MaxFiles > 0 && n > cfg.MaxFiles:
		return fmt.Sprintf("%d files changed, more than max_files (%d)", n, cfg.MaxFiles)
	case n > GitHubFileCap:
		return fmt.Sprintf("%d files changed; GitHub lists only the first %d, so the paths cannot decide", n, GitHubFileCap)
	case in.FilesListed && in.ChangedFiles == 0 && len(in.Files) >= GitHubFileCap:
		return fmt.Sprintf("GitHub listed %d files, its limit, and the PR does not say how many it changes", len(in.Files))
	}
	return ""
}

// MaxGlobWork bounds the path matching of one decision, in bytes of path
// times instructions of glob program: the compiled programs of the path
// globs that apply to the repository (rules.Glob, RE2), times the bytes
// of the changed paths. RE2 matches in time linear in that product, 2.5
// to 7 ns a unit for the costliest globs (BenchmarkDecide, idle to busy
// machine), so this is 0.1 to 0.2 s; the built-in rules on 3,000 changed
// files of the standards repository come to 24 million, and take under a
// millisecond (literal text fails fast). The parser bounds the programs a
// file may carry (rules.MaxGlobPrograms) and GitHub the paths a pull
// request lists, but both together, with paths as long as the pull
// request's author likes, could cost seconds per event.
const MaxGlobWork = 32_000_000

// tooMuchGlobWork says why matching the paths would cost more than
// MaxGlobWork, or "": such a pull request is decided like a tree-wide one.
func tooMuchGlobWork(cfg rules.Labels, repo string, paths []string, listed bool) string {
	if !listed {
		return ""
	}
	program, globs := 0, 0
	for _, r := range cfg.Rules {
		if len(r.Repos) > 0 && !rules.MatchRepo(r.Repos, repo) {
			continue // the repository condition fails first
		}
		program += r.GlobProgram()
		globs += len(r.Files.Any) + len(r.Files.All)
	}
	if program == 0 {
		return ""
	}
	size := 0
	for _, p := range paths {
		size += len(p) + 1
	}
	if program*size <= MaxGlobWork {
		return ""
	}
	return fmt.Sprintf("matching %d changed paths (%d bytes) against %d path globs is more than contribot matches for one pull request", len(paths), size, globs)
}

// changedPaths lists every path a PR changes: for a rename both the old and
// the new path, since moving a file out of a module touches that module.
func changedPaths(files []File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Path)
		if f.Previous != "" && f.Previous != f.Path {
			out = append(out, f.Previous)
		}
	}
	return out
}

// matchRule checks one rule; pathsUsable is false when the file list is
// missing or cut, and then a rule with path conditions does not match.
func matchRule(rule rules.LabelRule, i int, repo, title string, paths []string, pathsUsable bool) (Cause, bool) {
	c := Cause{Kind: CauseRepo, Rule: i, RuleName: rule.Name, Pos: rule.Pos}
	conditions := 0
	if len(rule.Repos) > 0 {
		conditions++
		if !rules.MatchRepo(rule.Repos, repo) {
			return c, false
		}
	}
	if len(rule.Files.Any) > 0 || len(rule.Files.All) > 0 {
		conditions++
		if !pathsUsable {
			return c, false
		}
		c.Kind = CauseFiles
		if len(rule.Files.Any) > 0 {
			f, ok := anyMatch(&rule, paths)
			if !ok {
				return c, false
			}
			c.File = f
		}
		if len(rule.Files.All) > 0 {
			if len(paths) == 0 {
				return c, false
			}
			for _, p := range paths {
				if !rule.MatchAll(p) {
					return c, false
				}
			}
			if c.File == "" {
				c.File = paths[0]
				c.Detail = fmt.Sprintf("all %d changed paths match", len(paths))
			}
		}
	}
	if rule.Title != "" {
		conditions++
		// Compiled once when the rules loaded.
		if !rule.MatchTitle(title) {
			return c, false
		}
		if c.Kind == CauseRepo {
			c.Kind = CauseTitle
		}
		c.Detail = strings.TrimSpace(c.Detail + fmt.Sprintf(" title matches /%s/", rule.Title))
	}
	return c, conditions > 0
}

// anyMatch is the first path that matches one of the rule's files.any
// globs, compiled to RE2 when the rules loaded.
func anyMatch(rule *rules.LabelRule, paths []string) (string, bool) {
	for _, p := range paths {
		if rule.MatchAny(p) {
			return p, true
		}
	}
	return "", false
}

// implied adds the modules that the found ones imply, transitively, each
// with the cause that led there. A module already found gets the implied
// cause too, so an explanation shows every path to it; only new modules
// are followed further, so a cycle in implies ends.
func implied(modules map[string]rules.Module, found map[string][]Cause) {
	queue := sortedKeys(found)
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, next := range modules[m].Implies {
			if _, known := modules[next]; !known || next == m {
				continue
			}
			c := found[m][0]
			c.Kind, c.Module, c.ImpliedBy = CauseImplied, next, m
			_, seen := found[next]
			if seen && slices.ContainsFunc(found[next], func(e Cause) bool { return e.ImpliedBy == m }) {
				continue
			}
			found[next] = append(found[next], c)
			if !seen {
				queue = append(queue, next)
			}
		}
	}
}

func moduleLabel(modules map[string]rules.Module, m string) string {
	return modules[m].LabelOf(m)
}

func moduleLabels(modules map[string]rules.Module, sets ...map[string][]Cause) map[string]bool {
	out := map[string]bool{}
	for _, set := range sets {
		for m := range set {
			out[strings.ToLower(moduleLabel(modules, m))] = true
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Owns reports whether contribot owns a label by the rules' prefixes and
// names; names compare case-insensitively, as GitHub's label names do.
func Owns(o rules.Owned, label string) bool {
	lower := strings.ToLower(label)
	for _, p := range o.Prefixes {
		if p != "" && strings.HasPrefix(lower, strings.ToLower(p)) {
			return true
		}
	}
	return slices.ContainsFunc(o.Names, func(n string) bool { return strings.EqualFold(n, label) })
}

// SizeLabels are the size labels from smallest to largest.
var SizeLabels = []string{"size/XS", "size/S", "size/M", "size/L", "size/XL", "size/XXL"}

// SizeLabel names the size of a change of lines added plus deleted.
func SizeLabel(t rules.SizeThresholds, lines int) string {
	starts := []int{t.S, t.M, t.L, t.XL, t.XXL}
	label := SizeLabels[0]
	for i, s := range starts {
		if lines >= s {
			label = SizeLabels[i+1]
		}
	}
	return label
}

func isSizeLabel(l string) bool {
	return slices.ContainsFunc(SizeLabels, func(s string) bool { return strings.EqualFold(s, l) })
}
