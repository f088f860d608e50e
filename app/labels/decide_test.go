package labels

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/rules"
)

// testRules is a small SCS-like rule set: repository rules, path rules in
// a multi-module repository, a title rule, and storage implying IaaS.
func testRules() *rules.Rules {
	return &rules.Rules{
		Modules: map[string]rules.Module{
			"iaas":      {Label: "IaaS"},
			"container": {Label: "Container"},
			"ops":       {Label: "Ops"},
			"storage":   {Label: "area/storage", Implies: []string{"iaas"}},
			"ceph":      {Label: "area/ceph", Implies: []string{"storage"}},
			"docs":      {Label: "documentation"},
			"standards": {}, // label is the module's name
			"loop-a":    {Label: "loop-a", Implies: []string{"loop-b"}},
			"loop-b":    {Label: "loop-b", Implies: []string{"loop-a"}},
		},
		Labels: rules.Labels{
			Enabled:  true,
			Sync:     rules.SyncAddOnly,
			Owned:    rules.Owned{Prefixes: []string{"area/", "size/"}, Names: []string{"Ops"}},
			Fallback: "area/tree-wide",
			Rules: []rules.LabelRule{
				{Name: "cluster stacks", Repos: []string{"SovereignCloudStack/cluster-stack*"}, Modules: []string{"container"}, Pos: rules.Pos{Line: 10}},
				{Name: "standards repo", Repos: []string{"standards"}, Modules: []string{"standards"}, Pos: rules.Pos{Line: 12}},
				{Name: "IaaS standards", Repos: []string{"standards"}, Files: rules.FileGlobs{Any: []string{"Standards/scs-?1??-*", "Tests/iaas/**"}}, Modules: []string{"iaas"}, Pos: rules.Pos{Line: 14}},
				{Name: "storage standards", Repos: []string{"standards"}, Files: rules.FileGlobs{Any: []string{"Standards/scs-0110-*", "Standards/scs-0211-*"}}, Modules: []string{"storage"}, Pos: rules.Pos{Line: 18}},
				{Name: "docs only", Repos: []string{"website"}, Files: rules.FileGlobs{All: []string{"*.md", "docs/**"}}, Modules: []string{"docs"}, Pos: rules.Pos{Line: 22}},
				{Name: "ceph by title", Title: `(?i)\bceph\b`, Modules: []string{"ceph"}, Pos: rules.Pos{Line: 26}},
				{Name: "typo", Repos: []string{"standards"}, Modules: []string{"stroage"}, Pos: rules.Pos{Line: 28}},
				{Name: "loop", Repos: []string{"loopy"}, Modules: []string{"loop-a"}, Pos: rules.Pos{Line: 30}},
			},
		},
	}
}

func files(paths ...string) []File {
	out := make([]File, len(paths))
	for i, p := range paths {
		if old, nw, ok := strings.Cut(p, " -> "); ok {
			out[i] = File{Path: nw, Previous: old}
			continue
		}
		out[i] = File{Path: p}
	}
	return out
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		rules  func(*rules.Rules)
		in     Input
		want   []string // wanted labels, in order
		add    []string
		remove []string
		held   []string
		tree   bool
	}{
		{
			name: "repository rule, glob over owner/name",
			in:   Input{Repo: "SovereignCloudStack/cluster-stacks", FilesListed: true, Files: files("main.go")},
			want: []string{"Container"}, add: []string{"Container"},
		},
		{
			name: "repository names compare case-insensitively",
			in:   Input{Repo: "sovereigncloudstack/CLUSTER-STACK-operator"},
			want: []string{"Container"}, add: []string{"Container"},
		},
		{
			name: "pattern without owner matches the name in any owner",
			in:   Input{Repo: "someone/standards", FilesListed: true, Files: files("README.md")},
			want: []string{"standards"}, add: []string{"standards"},
		},
		{
			name: "any: one matching file suffices; storage implies IaaS",
			in:   Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: files("Standards/scs-0110-v1-ssd-flavors.md", "Tests/kaas/x.py")},
			want: []string{"standards", "IaaS", "area/storage"},
			add:  []string{"standards", "IaaS", "area/storage"},
		},
		{
			name: "a rename counts for its old path",
			in:   Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: files("Tests/iaas/old.py -> Tests/common/new.py")},
			want: []string{"standards", "IaaS"}, add: []string{"standards", "IaaS"},
		},
		{
			name: "all: every path must match, a rename's both paths included",
			in:   Input{Repo: "o/website", FilesListed: true, Files: files("docs/a.txt", "README.md")},
			want: []string{"documentation"}, add: []string{"documentation"},
		},
		{
			name: "all: one path outside fails the rule",
			in:   Input{Repo: "o/website", FilesListed: true, Files: files("docs/a.txt", "main.go")},
		},
		{
			name: "all: a rename out of docs fails the rule",
			in:   Input{Repo: "o/website", FilesListed: true, Files: files("docs/a.txt -> src/a.txt")},
		},
		{
			name: "all: no files never matches",
			in:   Input{Repo: "o/website", FilesListed: true},
		},
		{
			name: "title rule; implies is transitive",
			in:   Input{Repo: "o/x", Title: "Bump Ceph to 19"},
			want: []string{"area/ceph", "IaaS", "area/storage"},
			add:  []string{"area/ceph", "IaaS", "area/storage"},
		},
		{
			name: "a cycle in implies ends",
			in:   Input{Repo: "o/loopy"},
			want: []string{"loop-a", "loop-b"}, add: []string{"loop-a", "loop-b"},
		},
		{
			name: "labels already there: nothing to write (case-insensitive)",
			in:   Input{Repo: "SovereignCloudStack/cluster-stacks", Current: []string{"container", "e2e-test"}},
			want: []string{"Container"},
		},
		{
			name: "add-only never removes, even an owned label",
			in:   Input{Repo: "SovereignCloudStack/cluster-stacks", Current: []string{"Container", "area/storage", "Ops"}},
			want: []string{"Container"},
		},
		{
			name:  "managed removes owned labels contribot added; e2e-test and IaaS are not owned",
			rules: func(r *rules.Rules) { r.Labels.Sync = rules.SyncManaged },
			in: Input{Repo: "SovereignCloudStack/cluster-stacks", Current: []string{"e2e-test", "IaaS", "area/storage", "OPS", "Container"},
				Ours: map[string]bool{"area/storage": true, "ops": true, "iaas": true, "e2e-test": true}},
			want: []string{"Container"}, remove: []string{"area/storage", "OPS"},
		},
		{
			name:  "managed leaves an owned label alone that contribot did not add",
			rules: func(r *rules.Rules) { r.Labels.Sync = rules.SyncManaged },
			in:    Input{Repo: "SovereignCloudStack/cluster-stacks", Current: []string{"area/storage", "Container"}},
			want:  []string{"Container"}, held: []string{"area/storage"},
		},
		{
			name:  "managed never removes what someone else added",
			rules: func(r *rules.Rules) { r.Labels.Sync = rules.SyncManaged },
			in: Input{Repo: "SovereignCloudStack/cluster-stacks", Current: []string{"area/storage", "Container"},
				AddedBy: map[string]string{"area/storage": "alice"}},
			want: []string{"Container"}, held: []string{"area/storage"},
		},
		{
			name: "a label someone removed is not added again",
			in: Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: files("Standards/scs-0110-v1-x.md"),
				Current: []string{"standards"}, RemovedBy: map[string]string{"area/storage": "bob"}},
			want: []string{"standards", "IaaS", "area/storage"}, add: []string{"IaaS"}, held: []string{"area/storage"},
		},
		{
			name:  "max_files: path labels give way to the fallback; repository labels stay",
			rules: func(r *rules.Rules) { r.Labels.MaxFiles = 100 },
			in:    Input{Repo: "SovereignCloudStack/standards", ChangedFiles: 101},
			want:  []string{"standards", "area/tree-wide"}, add: []string{"standards", "area/tree-wide"}, tree: true,
		},
		{
			name: "over GitHub's cap of 3,000 listed files: fallback, no guessing",
			in:   Input{Repo: "SovereignCloudStack/standards", ChangedFiles: 3001, FilesListed: true, Files: manyFiles(3000)},
			want: []string{"standards", "area/tree-wide"}, add: []string{"standards", "area/tree-wide"}, tree: true,
		},
		{
			name: "exactly 3,000 files are listed whole and decide",
			in:   Input{Repo: "SovereignCloudStack/standards", ChangedFiles: 3000, FilesListed: true, Files: manyFiles(3000)},
			want: []string{"standards", "IaaS", "area/storage"}, add: []string{"standards", "IaaS", "area/storage"},
		},
		{
			name: "3,000 listed and no count: taken as cut",
			in:   Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: manyFiles(3000)},
			want: []string{"standards", "area/tree-wide"}, add: []string{"standards", "area/tree-wide"}, tree: true,
		},
		{
			name:  "max_labels: too many path labels give the fallback",
			rules: func(r *rules.Rules) { r.Labels.MaxLabels = 1 },
			in:    Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: files("Standards/scs-0110-v1-x.md")},
			want:  []string{"standards", "area/tree-wide"}, add: []string{"standards", "area/tree-wide"}, tree: true,
		},
		{
			name:  "max_files does not apply where no rule reads paths",
			rules: func(r *rules.Rules) { r.Labels.MaxFiles = 10 },
			in:    Input{Repo: "SovereignCloudStack/cluster-stacks", ChangedFiles: 5000},
			want:  []string{"Container"}, add: []string{"Container"},
		},
		{
			name:  "max_labels counts only what the paths add to the repository's labels",
			rules: func(r *rules.Rules) { r.Labels.MaxLabels = 2 },
			in:    Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: files("Standards/scs-0110-v1-x.md")},
			want:  []string{"standards", "IaaS", "area/storage"}, add: []string{"standards", "IaaS", "area/storage"},
		},
		{
			name:  "size label",
			rules: func(r *rules.Rules) { r.Labels.Size = sizeOn },
			in:    Input{Repo: "SovereignCloudStack/cluster-stacks", Additions: 2, Deletions: 1, Current: []string{"Container"}},
			want:  []string{"Container", "size/XS"}, add: []string{"size/XS"},
		},
		{
			name: "managed: contribot's stale size label is replaced",
			rules: func(r *rules.Rules) {
				r.Labels.Size, r.Labels.Sync = sizeOn, rules.SyncManaged
			},
			in: Input{Repo: "SovereignCloudStack/cluster-stacks", Additions: 25, Deletions: 5, Current: []string{"Container", "size/S"},
				Ours: map[string]bool{"size/s": true}},
			want: []string{"Container", "size/M"}, add: []string{"size/M"}, remove: []string{"size/S"},
		},
		{
			name:  "add-only: a size label already there stays, and no second one is added",
			rules: func(r *rules.Rules) { r.Labels.Size = sizeOn },
			in: Input{Repo: "SovereignCloudStack/cluster-stacks", Additions: 25, Deletions: 5, Current: []string{"Container", "size/S"},
				Ours: map[string]bool{"size/s": true}},
			want: []string{"Container", "size/M"}, held: []string{"size/M"},
		},
		{
			name: "managed: a size label someone else set stays, and no second one is added",
			rules: func(r *rules.Rules) {
				r.Labels.Size, r.Labels.Sync = sizeOn, rules.SyncManaged
			},
			in: Input{Repo: "SovereignCloudStack/cluster-stacks", Additions: 25, Deletions: 5, Current: []string{"Container", "size/S"},
				AddedBy: map[string]string{"size/s": "erin"}},
			want: []string{"Container", "size/M"}, held: []string{"size/S", "size/M"},
		},
		{
			name:  "disabled: nothing at all",
			rules: func(r *rules.Rules) { r.Labels.Enabled = false },
			in:    Input{Repo: "SovereignCloudStack/cluster-stacks"},
		},
		{
			name: "no rule matches",
			in:   Input{Repo: "o/unrelated", FilesListed: true, Files: files("main.go")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRules()
			if tt.rules != nil {
				tt.rules(r)
			}
			d := Decide(r, tt.in)
			var held []string
			for _, h := range d.Held {
				held = append(held, h.Label)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"wanted", d.Labels(), tt.want}, {"add", d.Add, tt.add}, {"remove", d.Remove, tt.remove}, {"held", held, tt.held}} {
				if !slices.Equal(c.got, c.want) && len(c.got)+len(c.want) > 0 {
					t.Errorf("%s = %q, want %q\n%s", c.what, c.got, c.want, Explain(d, "rules.yml"))
				}
			}
			if (d.TreeWide != "") != tt.tree {
				t.Errorf("TreeWide = %q, want set: %v", d.TreeWide, tt.tree)
			}
		})
	}
}

var sizeOn = rules.Size{Enabled: true, Thresholds: rules.SizeThresholds{S: 10, M: 30, L: 100, XL: 500, XXL: 1000}}

func manyFiles(n int) []File {
	out := make([]File, n)
	for i := range out {
		out[i] = File{Path: "Standards/scs-0110-" + strings.Repeat("x", i%7) + ".md"}
	}
	return out
}

func TestExplainCitesRuleFileAndLine(t *testing.T) {
	d := Decide(testRules(), Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: files("docs/x.txt", "Standards/scs-0110-v1-ssd-flavors.md")})
	got := Explain(d, ".github/contribot.yml")
	want := strings.Join([]string{
		`standards     module standards: labels.rules[1] "standards repo" (.github/contribot.yml:12) names this repository`,
		`IaaS          module iaas: labels.rules[2] "IaaS standards" (.github/contribot.yml:14) matched Standards/scs-0110-v1-ssd-flavors.md`,
		`              module iaas, implied by module storage, which labels.rules[3] "storage standards" (.github/contribot.yml:18) matched Standards/scs-0110-v1-ssd-flavors.md`,
		`area/storage  module storage: labels.rules[3] "storage standards" (.github/contribot.yml:18) matched Standards/scs-0110-v1-ssd-flavors.md`,
		`add: standards, IaaS, area/storage`,
	}, "\n")
	if got != want {
		t.Errorf("explanation:\n%s\nwant:\n%s", got, want)
	}
}

// Any GitHub user names the files of their pull request; a path with a
// line break must not print a line that reads like a decision of its own.
func TestExplain_AnyGitHubUsersFileNameForgesNoLine(t *testing.T) {
	tests := []struct{ name, path, want string }{
		{"plain path as it is", "Standards/scs-0110-v1.md", "matched Standards/scs-0110-v1.md"},
		{"line break forging an add line", "Standards/scs-0110-x.md\nadd: admin", `matched "Standards/scs-0110-x.md\nadd: admin"`},
		{"carriage return", "Standards/scs-0110-\rIaaS.md", `matched "Standards/scs-0110-\rIaaS.md"`},
		{"bidi override", "Standards/scs-0110-\u202edm.txt", `matched "Standards/scs-0110-\u202edm.txt"`},
		{"Hangul filler that prints as blank", "Standards/scs-0110-\u3164.md", `matched "Standards/scs-0110-\u3164.md"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(testRules(), Input{Repo: "SovereignCloudStack/standards", FilesListed: true, Files: []File{{Path: tt.path}}})
			got := Explain(d, "")
			if !strings.Contains(got, tt.want) {
				t.Errorf("explanation lacks %s:\n%s", tt.want, got)
			}
			for _, line := range strings.Split(got, "\n") {
				if strings.HasPrefix(line, "add: admin") {
					t.Errorf("a file name forged the line %q", line)
				}
			}
		})
	}
}

func TestSizeLabel(t *testing.T) {
	th := rules.SizeThresholds{S: 10, M: 30, L: 100, XL: 500, XXL: 1000}
	for _, tt := range []struct {
		lines int
		want  string
	}{{0, "size/XS"}, {9, "size/XS"}, {10, "size/S"}, {29, "size/S"}, {30, "size/M"}, {99, "size/M"}, {100, "size/L"}, {500, "size/XL"}, {999, "size/XL"}, {1000, "size/XXL"}, {1 << 20, "size/XXL"}} {
		if got := SizeLabel(th, tt.lines); got != tt.want {
			t.Errorf("SizeLabel(%d) = %s, want %s", tt.lines, got, tt.want)
		}
	}
}

func TestFingerprintIgnoresOrder(t *testing.T) {
	a := Fingerprint(files("a", "b -> c"))
	if b := Fingerprint(files("b -> c", "a")); a != b {
		t.Errorf("order changed the fingerprint: %s != %s", a, b)
	}
	if c := Fingerprint(files("a", "c")); a == c {
		t.Error("a rename's old path is not in the fingerprint")
	}
}

// Repositories whose modules do not depend on paths cost no file listing.
func TestNeedsFiles(t *testing.T) {
	r := rules.Merge(rules.BuiltinLayer()).Rules
	for repo, want := range map[string]bool{
		"SovereignCloudStack/standards":      true,
		"SovereignCloudStack/docs":           true,
		"SovereignCloudStack/cluster-stacks": false,
		"SovereignCloudStack/rookify":        false,
		"someone/else":                       false,
	} {
		if got := NeedsFiles(r.Labels, repo); got != want {
			t.Errorf("NeedsFiles(%s) = %v, want %v", repo, got, want)
		}
	}
}

// Any GitHub user opens a pull request of 3,000 renamed files with long
// paths in a repository whose maintainer wrote hundreds of path globs that
// backtrack on them: matching every path against every glob took seconds
// per event. Past MaxGlobWork the paths do not decide (the fallback label,
// as for any tree-wide change); the built-in rules on 3,000 files stay
// well inside it.
func TestDecide_AnyGitHubUsersLongPathsMeetAMaintainersGlobs(t *testing.T) {
	long := strings.Repeat("a", 120) + "/" + strings.Repeat("a", 120)
	var hostile []File
	for i := range GitHubFileCap {
		hostile = append(hostile, File{Path: fmt.Sprintf("%s%d", long, i), Previous: fmt.Sprintf("%s%dx", long, i)})
	}
	globs := make([]string, 300)
	for i := range globs {
		globs[i] = "*a*a*a*a*a*a*a*b"
	}
	maintainer := testRules()
	maintainer.Labels.Rules = append(maintainer.Labels.Rules, rules.LabelRule{Name: "backtracking", Files: rules.FileGlobs{Any: globs}, Modules: []string{"docs"}})
	// Issue 11 review (B4): a few long globs cost the glob's length per
	// path byte in doublestar, which counting globs times bytes missed.
	withGlobs := func(globs ...string) *rules.Rules {
		r := testRules()
		r.Labels.Rules = append(r.Labels.Rules, rules.LabelRule{Name: "long", Files: rules.FileGlobs{Any: globs}, Modules: []string{"docs"}})
		return r
	}
	literal := "**/*" + strings.Repeat("a", 195) + "b"
	class := "*[" + strings.Repeat("bcdefghijk", 19) + "]"
	segments := func(n, seg int) []File {
		s := strings.Repeat("a", seg)
		path := strings.Join([]string{s, s, s, s}[:n], "/")
		var files []File
		for i := range GitHubFileCap {
			files = append(files, File{Path: fmt.Sprintf("%s%04d", path[:len(path)-4], i)})
		}
		return files
	}
	builtin := rules.Merge(rules.BuiltinLayer()).Rules
	builtin.Labels.MaxFiles = 0
	tests := []struct {
		name     string
		rules    *rules.Rules
		in       Input
		treeWide string
	}{
		{"a maintainer's 300 globs, any GitHub user's 6,000 long paths", maintainer,
			Input{Repo: "o/x", Files: hostile, ChangedFiles: GitHubFileCap, FilesListed: true},
			"matching 6000 changed paths (1476780 bytes) against 300 path globs is more than contribot matches for one pull request"},
		{"a maintainer's 3 long literal globs, any GitHub user's 3,000 paths of 1 KB", withGlobs(literal, literal, literal),
			Input{Repo: "o/x", Files: segments(4, 250), ChangedFiles: GitHubFileCap, FilesListed: true},
			"matching 3000 changed paths (3012000 bytes) against 3 path globs is more than contribot matches for one pull request"},
		{"a maintainer's 13 long class globs, any GitHub user's 3,000 paths of 250 bytes", withGlobs(slices.Repeat([]string{class}, 13)...),
			Input{Repo: "o/x", Files: segments(1, 250), ChangedFiles: GitHubFileCap, FilesListed: true},
			"matching 3000 changed paths (753000 bytes) against 13 path globs is more than contribot matches for one pull request"},
		{"the built-in rules on 3,000 standards files", &builtin,
			Input{Repo: "SovereignCloudStack/standards", Files: manyFiles(GitHubFileCap), ChangedFiles: GitHubFileCap, FilesListed: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.rules, tt.in)
			if d.TreeWide != tt.treeWide {
				t.Errorf("TreeWide = %q, want %q", d.TreeWide, tt.treeWide)
			}
		})
	}
}

// manyModulesFile is a repository's rules file of n modules given by
// rules of 50 modules each, on every title (or, fixed, in repository o/r),
// with no max_labels.
func manyModulesFile(n int, fixed bool) string {
	var b strings.Builder
	b.WriteString("modules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  m%d: {}\n", i)
	}
	b.WriteString("labels:\n  max_labels: 0\n  create_missing: {enabled: true}\n  rules:\n")
	for start := 0; start < n; start += rules.MaxModuleList {
		var mods []string
		for i := start; i < min(start+rules.MaxModuleList, n); i++ {
			mods = append(mods, fmt.Sprint("m", i))
		}
		cond := "title: '.'"
		if fixed {
			cond = "repos: [o/r]"
		}
		fmt.Fprintf(&b, "    - {%s, modules: [%s]}\n", cond, strings.Join(mods, ", "))
	}
	return b.String()
}

// A repository maintainer's rules give every pull request hundreds of
// module labels (issue 11 review, B5: 9,000, each a CreateLabel call with
// create_missing). GitHub carries 100 labels on a pull request: past
// MaxModuleLabels the pull request gets the fallback label instead.
func TestDecide_RepositoryMaintainersRulesGiveAtMostAPullRequestsLabels(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		add      int
		treeWide string
	}{
		{"98 module labels from titles", manyModulesFile(MaxModuleLabels, false), MaxModuleLabels, ""},
		{"200 module labels from titles", manyModulesFile(200, false), 1,
			"the rules give 200 module labels, more than the 98 a pull request can carry beside the fallback and size labels"},
		{"200 module labels from the repository", manyModulesFile(200, true), 1,
			"the repository rules give 200 module labels, more than the 98 a pull request can carry beside the fallback and size labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := rules.Parse(".github/contribot.yml", []byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res := rules.Merge(rules.BuiltinLayer(), rules.Layer{Kind: rules.LayerRepo, File: f})
			d := Decide(&res.Rules, Input{Repo: "o/r", Title: "x"})
			if len(d.Add) != tt.add || d.TreeWide != tt.treeWide {
				t.Errorf("adds %d labels, tree-wide %q; want %d and %q", len(d.Add), d.TreeWide, tt.add, tt.treeWide)
			}
			if tt.treeWide != "" && (d.Add[0] != res.Rules.Labels.Fallback || len(d.Want) != 1) {
				t.Errorf("adds %q, wants %d labels; want only the fallback %q", d.Add, len(d.Want), res.Rules.Labels.Fallback)
			}
		})
	}
}
