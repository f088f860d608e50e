package rules

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const orgFile = "SovereignCloudStack/.github:.github/contribot.yml"

func mustParse(t *testing.T, name, data string) *File {
	t.Helper()
	f, err := Parse(name, []byte(data))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return f
}

func messages(es Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

func TestMerge(t *testing.T) {
	builtin := BuiltinLayer()
	def := builtin.File.Rules.DCO
	tests := []struct {
		name     string
		org      string // "" means no org layer
		orgOnly  bool   // org layer is LocksOnly
		repo     string
		want     func(d *DCO)
		locked   []string
		sources  map[string]string // path → Origin.String(), or just BuiltinName
		warnings []string
	}{
		{
			name: "built-in alone",
			want: func(*DCO) {},
			sources: map[string]string{
				"dco.enabled": BuiltinName,
			},
		},
		{
			name: "org overrides built-in, repo overrides org, field by field",
			org:  "dco:\n  skip_bots: false\n  require:\n    members: false\n",
			repo: "dco:\n  require:\n    members: true\n  recheck_command: /recheck\n",
			want: func(d *DCO) {
				d.SkipBots = false
				d.Require.Members = true
				d.RecheckCommand = "/recheck"
			},
			sources: map[string]string{
				"dco.skip_bots":       orgFile + ":2:14",
				"dco.require.members": ".github/contribot.yml:3:14",
				"dco.recheck_command": ".github/contribot.yml:4:20",
				"dco.override":        BuiltinName,
			},
		},
		{
			name: "lists are replaced, not appended",
			org:  "dco:\n  allow:\n    logins: [a, b]\n",
			repo: "dco:\n  allow:\n    logins: [c]\n",
			want: func(d *DCO) { d.Allow.Logins = []string{"c"} },
			sources: map[string]string{
				"dco.allow.logins": ".github/contribot.yml:3:13",
				"dco.allow.emails": BuiltinName,
			},
		},
		{
			name: "an empty list empties",
			repo: "dco:\n  allow:\n    emails: []\n",
			want: func(d *DCO) { d.Allow.Emails = nil },
		},
		{
			name: "an empty section changes nothing",
			org:  "dco:\n  enabled: false\n",
			repo: "dco:\n  # enabled: true\n",
			want: func(d *DCO) { d.Enabled = false },
		},
		{
			name:   "org lock keeps the repository's changes out",
			org:    "locked: [dco]\ndco:\n  override: false\n",
			repo:   "dco:\n  enabled: false\n  override: true\n",
			want:   func(d *DCO) { d.Override = false },
			locked: []string{"dco"},
			sources: map[string]string{
				"dco.enabled":  BuiltinName,
				"dco.override": orgFile + ":3:13",
			},
			warnings: []string{".github/contribot.yml:1:1: section dco is locked by the org layer (" + orgFile + ":1:10); this change is ignored"},
		},
		{
			name:   "restating a locked section is no change and no warning",
			org:    "locked: [dco]\ndco:\n  override: false\n",
			repo:   "dco:\n  override: false\n  enabled: true\n",
			want:   func(d *DCO) { d.Override = false },
			locked: []string{"dco"},
		},
		{
			name:     "locked in a repository file is ignored",
			repo:     "locked: [dco]\n",
			want:     func(*DCO) {},
			warnings: []string{".github/contribot.yml:1:1: locked is honoured only in the org default and the built-in rules; ignored in a repository's file"},
		},
		{
			name:     "extends in an org file is ignored",
			org:      "extends: none\n",
			want:     func(*DCO) {},
			warnings: []string{orgFile + ":1:1: extends is read only from a repository's own file; ignored here"},
		},
		{
			name:    "locks-only org layer contributes its locked sections",
			org:     "locked: [dco]\ndco:\n  remediation: {individual: true}\n",
			orgOnly: true,
			repo:    "dco:\n  enabled: false\n",
			want:    func(d *DCO) { d.Remediation.Individual = true },
			locked:  []string{"dco"},
			sources: map[string]string{
				"dco.remediation.individual": orgFile + ":3:29",
			},
			warnings: []string{".github/contribot.yml:1:1: section dco is locked by the org layer (" + orgFile + ":1:10); this change is ignored"},
		},
		{
			name:    "locks-only org layer without locks contributes nothing",
			org:     "dco:\n  enabled: false\n",
			orgOnly: true,
			want:    func(*DCO) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers := []Layer{builtin}
			if tt.org != "" {
				layers = append(layers, Layer{Kind: LayerOrg, File: mustParse(t, orgFile, tt.org), LocksOnly: tt.orgOnly})
			}
			if tt.repo != "" {
				layers = append(layers, Layer{Kind: LayerRepo, File: mustParse(t, repoFile, tt.repo)})
			}
			got := Merge(layers...)

			want := builtin.File.Rules
			want.Locked = tt.locked
			want.DCO.Allow.Logins = slices.Clone(def.Allow.Logins)
			tt.want(&want.DCO)
			if !reflect.DeepEqual(got.Rules, want) {
				t.Errorf("Rules = %+v\nwant    %+v", got.Rules, want)
			}
			for path, origin := range tt.sources {
				o := got.Sources[path]
				if origin == BuiltinName && o.File == BuiltinName {
					continue // the built-in file's comments move its lines
				}
				if o.String() != origin {
					t.Errorf("Sources[%q] = %s, want %s", path, got.Sources[path], origin)
				}
			}
			if !reflect.DeepEqual(messages(got.Warnings), tt.warnings) {
				t.Errorf("Warnings = %q\nwant %q", messages(got.Warnings), tt.warnings)
			}
			if len(got.Problems) > 0 {
				t.Errorf("Problems = %q", messages(got.Problems))
			}
		})
	}
}

func TestMergeDoesNotModifyLayers(t *testing.T) {
	// Parsed files are cached and shared by every repository of an org.
	org := mustParse(t, orgFile, "dco:\n  allow:\n    logins: [a]\n")
	before := clone(org.Root)
	repo := mustParse(t, repoFile, "dco:\n  allow:\n    logins: [b]\n    emails: [c]\n")
	Merge(BuiltinLayer(), Layer{Kind: LayerOrg, File: org}, Layer{Kind: LayerRepo, File: repo})
	if !reflect.DeepEqual(org.Root, before) {
		t.Error("Merge modified the org layer's nodes")
	}
	again := Merge(BuiltinLayer())
	if got := again.Rules.DCO.Allow.Logins; len(got) != 3 {
		t.Errorf("built-in logins after an earlier merge = %q", got)
	}
}

func TestMergeProblems(t *testing.T) {
	_, perr := Parse(repoFile, []byte("dco:\n  enabled: off\n"))
	got := Merge(
		BuiltinLayer(),
		Layer{Kind: LayerOrg, File: mustParse(t, orgFile, "dco:\n  override: false\n")},
		Layer{Kind: LayerRepo, Err: perr},
	)
	if want := []string{`.github/contribot.yml:2:12: dco.enabled: want a boolean (true or false), got "off"`}; !reflect.DeepEqual(messages(got.Problems), want) {
		t.Errorf("Problems = %q, want %q", messages(got.Problems), want)
	}
	// The broken file is skipped whole: DCO stays on, the org layer applies.
	if !got.Rules.DCO.Enabled || got.Rules.DCO.Override {
		t.Errorf("DCO = %+v, want enabled from built-in and override off from org", got.Rules.DCO)
	}
}

func TestMergeModulesAndLabels(t *testing.T) {
	const known = "(known: community, container, documentation, iaas, iam, monitoring, ops, registry, standards, storage)"
	builtin := BuiltinLayer().File.Rules
	tests := []struct {
		name     string
		org      string
		repo     string
		check    func(t *testing.T, r Rules)
		sources  map[string]string
		warnings []string
	}{
		{
			name: "modules merge by name and key by key",
			org:  "modules:\n  dns:\n    label: area/dns\n    implies: [ops]\n  storage:\n    label: storage\n",
			repo: "modules:\n  dns:\n    color: \"ff0000\"\n",
			check: func(t *testing.T, r Rules) {
				if got, want := r.Modules["dns"], (Module{Label: "area/dns", Color: "ff0000", Implies: []string{"ops"}}); !reflect.DeepEqual(got, want) {
					t.Errorf("dns = %+v, want %+v", got, want)
				}
				want := builtin.Modules["storage"]
				want.Label = "storage"
				if got := r.Modules["storage"]; !reflect.DeepEqual(got, want) {
					t.Errorf("storage = %+v, want %+v", got, want)
				}
				if got := r.Modules["iaas"]; !reflect.DeepEqual(got, builtin.Modules["iaas"]) {
					t.Errorf("iaas = %+v, want the built-in", got)
				}
			},
			sources: map[string]string{
				"modules.dns.label":     orgFile + ":3:12",
				"modules.dns.color":     repoFile + ":3:12",
				"modules.storage.label": orgFile + ":6:12",
			},
		},
		{
			name: "rules are replaced as a whole and keep their positions",
			org:  "labels:\n  rules:\n    - name: org\n      repos: [a]\n      modules: [iaas]\n",
			repo: "labels:\n  max_files: 10\n  rules:\n    - name: first\n      repos: [b]\n      modules: [ops]\n\n    - name: second\n      title: ^docs\n      modules: [documentation]\n",
			check: func(t *testing.T, r Rules) {
				want := []LabelRule{
					{Pos: Pos{Line: 4, Column: 7}, Name: "first", Repos: []string{"b"}, Modules: []string{"ops"}},
					{Pos: Pos{Line: 8, Column: 7}, Name: "second", Title: "^docs", Modules: []string{"documentation"}},
				}
				// Compiled once when the rules load, not on every decision.
				if re := r.Labels.Rules[1].title; re == nil || re.String() != "^docs" {
					t.Errorf("title compiled = %v, want ^docs", re)
				}
				r.Labels.Rules[1].title = nil
				if !reflect.DeepEqual(r.Labels.Rules, want) {
					t.Errorf("rules = %+v\nwant %+v", r.Labels.Rules, want)
				}
				if r.Labels.MaxFiles != 10 || r.Labels.MaxLabels != builtin.Labels.MaxLabels || r.Labels.Fallback != builtin.Labels.Fallback {
					t.Errorf("labels = %+v, want max_files from the repo, the rest from the built-in", r.Labels)
				}
			},
			sources: map[string]string{
				"labels.rules":     repoFile + ":4:5",
				"labels.max_files": repoFile + ":2:14",
			},
		},
		{
			name: "an empty list drops the inherited rules",
			repo: "labels:\n  rules: []\n",
			check: func(t *testing.T, r Rules) {
				if r.Labels.Rules != nil {
					t.Errorf("rules = %+v, want none", r.Labels.Rules)
				}
			},
		},
		{
			name: "unknown modules are reported where they were written, and their rules give nothing",
			repo: "labels:\n  rules:\n    - repos: [x]\n      modules: [iaas, stroage, dns]\n    - repos: [y]\n      modules:\n        - ops\n",
			check: func(t *testing.T, r Rules) {
				want := []LabelRule{
					{Pos: Pos{Line: 3, Column: 7}, Repos: []string{"x"}},
					{Pos: Pos{Line: 5, Column: 7}, Repos: []string{"y"}, Modules: []string{"ops"}},
				}
				if !reflect.DeepEqual(r.Labels.Rules, want) {
					t.Errorf("rules = %+v\nwant %+v", r.Labels.Rules, want)
				}
			},
			warnings: []string{
				repoFile + `:4:23: labels.rules[0].modules: unknown module "stroage" ` + known + `; this rule is ignored`,
				repoFile + `:4:32: labels.rules[0].modules: unknown module "dns" ` + known + `; this rule is ignored`,
			},
		},
		{
			name: "a module defined in another layer is known",
			org:  "modules:\n  dns: {label: area/dns}\n",
			repo: "labels:\n  rules:\n    - repos: [x]\n      modules: [dns]\n",
			check: func(t *testing.T, r Rules) {
				if len(r.Labels.Rules) != 1 {
					t.Errorf("rules = %+v, want the repository's one", r.Labels.Rules)
				}
			},
		},
		{
			name: "unknown implied modules are dropped",
			org:  "modules:\n  dns:\n    implies: [ops, netwrok]\n",
			repo: "modules:\n  storage:\n    implies:\n      - iaas\n      - ceph\n",
			check: func(t *testing.T, r Rules) {
				if got := r.Modules["dns"].Implies; !reflect.DeepEqual(got, []string{"ops"}) {
					t.Errorf("dns implies %q, want [ops]", got)
				}
				if got := r.Modules["storage"].Implies; !reflect.DeepEqual(got, []string{"iaas"}) {
					t.Errorf("storage implies %q, want [iaas]", got)
				}
			},
			warnings: []string{
				orgFile + `:3:20: modules.dns.implies: unknown module "netwrok" ` + strings.Replace(known, "documentation,", "dns, documentation,", 1) + `; ignored`,
				repoFile + `:5:9: modules.storage.implies: unknown module "ceph" ` + strings.Replace(known, "documentation,", "dns, documentation,", 1) + `; ignored`,
			},
		},
		{
			name: "thresholds that no longer increase switch size labels off",
			org:  "labels:\n  size:\n    enabled: true\n",
			repo: "labels:\n  size:\n    thresholds:\n      S: 50\n",
			check: func(t *testing.T, r Rules) {
				if r.Labels.Size.Enabled {
					t.Error("size labels stay on")
				}
			},
			warnings: []string{repoFile + ":4:10: labels.size.thresholds.S: 50 is not below M (30); want S < M < L < XL < XXL; size labels are off"},
		},
		{
			name:     "the threshold the later layer wrote is the one reported",
			org:      "labels:\n  size:\n    enabled: true\n    thresholds: {S: 40, M: 50}\n",
			repo:     "labels:\n  size:\n    thresholds: {M: 20}\n",
			warnings: []string{repoFile + ":3:21: labels.size.thresholds.M: 20 is not above S (40); want S < M < L < XL < XXL; size labels are off"},
		},
		{
			name: "thresholds of disabled size labels are not checked",
			repo: "labels:\n  size:\n    thresholds: {S: 5000}\n",
		},
		{
			name: "restating a locked labels section on other lines is no change",
			org:  "locked: [labels, modules]\nlabels:\n  rules:\n    - repos: [x]\n      modules: [iaas]\n",
			repo: "# a copy of the org file\n\nlabels:\n  rules:\n  - repos: [x]\n    modules: [iaas]\nmodules:\n  iaas: {label: IaaS}\n",
			check: func(t *testing.T, r Rules) {
				if len(r.Labels.Rules) != 1 || r.Labels.Rules[0].Pos != (Pos{Line: 4, Column: 7}) {
					t.Errorf("rules = %+v, want the org's", r.Labels.Rules)
				}
			},
		},
		{
			name: "changing a locked labels section is ignored",
			org:  "locked: [labels]\nlabels:\n  max_files: 100\n",
			repo: "labels:\n  max_files: 1000\n",
			check: func(t *testing.T, r Rules) {
				if r.Labels.MaxFiles != 100 {
					t.Errorf("max_files = %d, want the org's 100", r.Labels.MaxFiles)
				}
			},
			warnings: []string{repoFile + ":1:1: section labels is locked by the org layer (" + orgFile + ":1:10); this change is ignored"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers := []Layer{BuiltinLayer()}
			if tt.org != "" {
				layers = append(layers, Layer{Kind: LayerOrg, File: mustParse(t, orgFile, tt.org)})
			}
			if tt.repo != "" {
				layers = append(layers, Layer{Kind: LayerRepo, File: mustParse(t, repoFile, tt.repo)})
			}
			got := Merge(layers...)
			if tt.check != nil {
				tt.check(t, got.Rules)
			}
			for path, origin := range tt.sources {
				if o := got.Sources[path]; o.String() != origin {
					t.Errorf("Sources[%q] = %s, want %s", path, o, origin)
				}
			}
			if !reflect.DeepEqual(messages(got.Warnings), tt.warnings) {
				t.Errorf("Warnings = %q\nwant %q", messages(got.Warnings), tt.warnings)
			}
			if len(got.Problems) > 0 {
				t.Errorf("Problems = %q", messages(got.Problems))
			}
		})
	}
	// The merge drops references from its own copy only.
	if again := Merge(BuiltinLayer()); !reflect.DeepEqual(again.Rules.Modules, builtin.Modules) {
		t.Error("an earlier merge changed the built-in modules")
	}
}

func TestMergeSizeWithoutBuiltin(t *testing.T) {
	// Without the built-in thresholds, enabling size leaves S at zero.
	org := mustParse(t, orgFile, "labels:\n  size: {enabled: true}\n")
	got := Merge(Layer{Kind: LayerOrg, File: org})
	want := []string{orgFile + ":2:19: labels.size.thresholds.S: want 1 or more, got 0; size labels are off"}
	if !reflect.DeepEqual(messages(got.Warnings), want) || got.Rules.Labels.Size.Enabled {
		t.Errorf("Warnings = %q, size enabled %v; want %q and off", messages(got.Warnings), got.Rules.Labels.Size.Enabled, want)
	}
}

// Each feature shows only the warnings about its own sections.
func TestWarningsNameTheirSection(t *testing.T) {
	org := mustParse(t, "org.yml", "locked: [dco]\n")
	repo := mustParse(t, "repo.yml", `locked: [labels]
dco:
  skip_bots: false
labels:
  size:
    enabled: true
    thresholds: {S: 50}
  rules:
    - repos: [x]
      modules: [stroage]
welcome:
  first_pr: "{{.Links.chat}}"
`)
	res := Merge(BuiltinLayer(), Layer{Kind: LayerOrg, File: org}, Layer{Kind: LayerRepo, File: repo})
	got := map[string][]string{}
	for _, w := range res.Warnings {
		got[w.Section] = append(got[w.Section], w.Msg)
	}
	for section, want := range map[string]int{"": 1, "dco": 1, "labels": 2, "welcome": 1} {
		if len(got[section]) != want {
			t.Errorf("section %q: %d warnings %q, want %d", section, len(got[section]), got[section], want)
		}
	}
	for _, w := range res.Warnings {
		if w.Concerns("dco") != (w.Section == "" || w.Section == "dco") {
			t.Errorf("Concerns(dco) of a %q warning = %v", w.Section, w.Concerns("dco"))
		}
	}
}

func TestMergeWelcome(t *testing.T) {
	const known = "(known: calendar, code_of_conduct, community, contribute, contributor_docs, dco, good_first_issues, issue_hub, matrix, onboarding, slack)"
	builtin := BuiltinLayer().File.Rules.Welcome
	tests := []struct {
		name     string
		org      string
		repo     string
		noSrc    bool // the repository's File lacks its text
		check    func(t *testing.T, w Welcome)
		sources  map[string]string
		warnings []string
	}{
		{
			name: "links merge by name; templates may name links of any layer",
			org:  "welcome:\n  label: first-contribution\n  links:\n    slack: https://slack.example.org\n  first_issue: \"Hi, see {{.Links.slack}} and {{.Links.onboarding}}\"\n",
			repo: "welcome:\n  scope: repo\n  links:\n    onboarding: https://example.org/onboarding\n",
			check: func(t *testing.T, w Welcome) {
				if w.Links["onboarding"] != "https://example.org/onboarding" || w.Links["slack"] != "https://slack.example.org" || w.Links["dco"] != builtin.Links["dco"] {
					t.Errorf("links = %v, want onboarding from the repo, slack from the org, dco from the built-in", w.Links)
				}
				if w.Scope != ScopeRepo || w.Label != "first-contribution" || !w.Enabled || w.FirstPR != builtin.FirstPR {
					t.Errorf("welcome = %+v, want scope from the repo, label from the org, the rest built in", w)
				}
			},
			sources: map[string]string{
				"welcome.links.slack":      orgFile + ":4:12",
				"welcome.links.onboarding": repoFile + ":4:17",
				"welcome.links.dco":        BuiltinName,
				"welcome.first_issue":      orgFile + ":5:16",
			},
		},
		{
			name: "unknown links are warned about where they are written, once each",
			org:  "welcome:\n  links:\n    slack: https://slack.example.org\n",
			repo: "welcome:\n  first_pr: |\n    Hi @{{.Login}}: {{.Links.slack}}, {{.Links.onboardng}}\n    {{index .Links \"faq\"}} {{$.Links.onboardng}}\n",
			warnings: []string{
				repoFile + `:3:47: welcome.first_pr: link "onboardng" is not in welcome.links ` + known + `; it renders as empty text`,
				repoFile + `:4:20: welcome.first_pr: link "faq" is not in welcome.links ` + known + `; it renders as empty text`,
			},
		},
		{
			name: "an org template is warned about in the org file",
			org:  "welcome:\n  first_merged_pr: \"Thanks! {{.Links.chat}}\"\n",
			warnings: []string{
				orgFile + `:2:37: welcome.first_merged_pr: link "chat" is not in welcome.links ` + strings.Replace(known, ", slack", "", 1) + `; it renders as empty text`,
			},
		},
		{
			name:  "without the file's text, the template's own line is named",
			repo:  "welcome:\n  first_pr: |\n    Hi\n    {{.Links.chat}}\n",
			noSrc: true,
			warnings: []string{
				repoFile + `:2:13: welcome.first_pr: line 2, column 9 of the template: link "chat" is not in welcome.links ` + strings.Replace(known, ", slack", "", 1) + `; it renders as empty text`,
			},
		},
		{
			name: "a repository that drops a template drops its warnings",
			org:  "welcome:\n  first_pr: \"{{.Links.chat}}\"\n",
			repo: "welcome:\n  first_pr: \"\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers := []Layer{BuiltinLayer()}
			if tt.org != "" {
				layers = append(layers, Layer{Kind: LayerOrg, File: mustParse(t, orgFile, tt.org)})
			}
			if tt.repo != "" {
				f := mustParse(t, repoFile, tt.repo)
				if tt.noSrc {
					f = &File{Name: f.Name, Root: f.Root, Rules: f.Rules}
				}
				layers = append(layers, Layer{Kind: LayerRepo, File: f})
			}
			got := Merge(layers...)
			if tt.check != nil {
				tt.check(t, got.Rules.Welcome)
			}
			for path, origin := range tt.sources {
				if o := got.Sources[path]; o.String() != origin && (origin != BuiltinName || o.File != BuiltinName) {
					t.Errorf("Sources[%q] = %s, want %s", path, o, origin)
				}
			}
			if !reflect.DeepEqual(messages(got.Warnings), tt.warnings) {
				t.Errorf("Warnings = %q\nwant %q", messages(got.Warnings), tt.warnings)
			}
			for _, w := range got.Warnings {
				if w.Section != "welcome" {
					t.Errorf("warning %v: section %q, want welcome", w, w.Section)
				}
			}
			if len(got.Problems) > 0 {
				t.Errorf("Problems = %q", messages(got.Problems))
			}
		})
	}
}

func TestMergeUpstream(t *testing.T) {
	builtin := BuiltinLayer().File.Rules.Upstream
	tests := []struct {
		name     string
		org      string
		repo     string
		want     func(u *Upstream)
		locked   []string
		sources  map[string]string
		warnings []string
	}{
		{
			name: "built-in alone",
			want: func(*Upstream) {},
		},
		{
			name: "mappings merge key by key, lists are replaced",
			org:  "upstream:\n  label: tracked\n  gerrit: [review.gerrithub.io, review.opendev.org]\n  dashboard:\n    repo: example/.github\n",
			repo: "upstream:\n  stale_after: 4w\n  gerrit: [review.gerrithub.io]\n  dashboard:\n    title: Our upstream work\n",
			want: func(u *Upstream) {
				u.Label = "tracked"
				u.Gerrit = []string{"review.gerrithub.io"}
				u.StaleAfter = Duration(4 * week)
				u.Dashboard = UpstreamDashboard{Repo: "example/.github", Title: "Our upstream work"}
			},
			sources: map[string]string{
				"upstream.label":           orgFile + ":2:10",
				"upstream.gerrit":          repoFile + ":3:11",
				"upstream.stale_after":     repoFile + ":2:16",
				"upstream.dashboard.repo":  orgFile + ":5:11",
				"upstream.dashboard.title": repoFile + ":5:12",
				"upstream.gitlab":          BuiltinName,
			},
		},
		{
			name: "an empty list and an empty section",
			org:  "upstream:\n  gitlab: []\n",
			repo: "upstream:\n  # enabled: false\n",
			want: func(u *Upstream) { u.GitLab = nil },
		},
		{
			name:   "a locked upstream section keeps the repository's changes out",
			org:    "locked: [upstream]\nupstream:\n  comments: true\n",
			repo:   "upstream:\n  comments: false\n  show_private: true\n",
			want:   func(u *Upstream) { u.Comments = true },
			locked: []string{"upstream"},
			sources: map[string]string{
				"upstream.comments":     orgFile + ":3:13",
				"upstream.show_private": BuiltinName,
			},
			warnings: []string{repoFile + ":1:1: section upstream is locked by the org layer (" + orgFile + ":1:10); this change is ignored"},
		},
		{
			name:   "restating a locked upstream section on other lines is no change",
			org:    "locked: [upstream]\nupstream:\n  stale_after: 30d\n",
			repo:   "# a copy\nupstream:\n  stale_after: 720h\n  labels: false\n",
			want:   func(u *Upstream) { u.StaleAfter = Duration(30 * day) },
			locked: []string{"upstream"},
		},
		{
			name: "a host in both lists stays Gerrit's",
			org:  "upstream:\n  gitlab: [gitlab.com, git.example.org]\n",
			repo: "upstream:\n  gerrit:\n    - review.opendev.org\n    - git.example.org\n",
			want: func(u *Upstream) {
				u.Gerrit = []string{"review.opendev.org", "git.example.org"}
				u.GitLab = []string{"gitlab.com"}
			},
			warnings: []string{orgFile + `:2:24: upstream.gitlab[1]: "git.example.org" is also in upstream.gerrit (` + repoFile + `:3:5); its links are read as Gerrit changes`},
		},
		{
			name: "a tracking label under contribot's own prefix",
			org:  "upstream:\n  labels: true\n",
			repo: "upstream:\n  label: Upstream/Tracked\n",
			want: func(u *Upstream) {
				u.Labels = true
				u.Label = "Upstream/Tracked"
			},
			warnings: []string{repoFile + `:2:10: upstream.label: "Upstream/Tracked" starts with "upstream/", the prefix of the labels contribot sets itself under upstream.labels (upstream/merged, upstream/stale); choose a label outside it`},
		},
		{
			name: "the prefix does not matter while contribot sets no labels",
			repo: "upstream:\n  label: upstream/tracked\n",
			want: func(u *Upstream) { u.Label = "upstream/tracked" },
		},
		{
			name: "the built-in label is outside the prefix",
			repo: "upstream:\n  labels: true\n",
			want: func(u *Upstream) { u.Labels = true },
		},
		{
			name: "an empty title meeting another layer's repository means no dashboard",
			org:  "upstream:\n  dashboard:\n    repo: \"\"\n    title: \"\"\n",
			repo: "upstream:\n  dashboard:\n    repo: example/issues\n",
			want: func(u *Upstream) { u.Dashboard = UpstreamDashboard{} },
			warnings: []string{orgFile + `:4:12: upstream.dashboard.title: empty, but upstream.dashboard.repo is "example/issues" (` + repoFile +
				`:3:11); the dashboard issue needs a title, so there is no dashboard`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers := []Layer{BuiltinLayer()}
			if tt.org != "" {
				layers = append(layers, Layer{Kind: LayerOrg, File: mustParse(t, orgFile, tt.org)})
			}
			if tt.repo != "" {
				layers = append(layers, Layer{Kind: LayerRepo, File: mustParse(t, repoFile, tt.repo)})
			}
			got := Merge(layers...)
			want := builtin
			want.Gerrit = slices.Clone(builtin.Gerrit)
			want.GitLab = slices.Clone(builtin.GitLab)
			tt.want(&want)
			if !reflect.DeepEqual(got.Rules.Upstream, want) {
				t.Errorf("Upstream = %+v\nwant       %+v", got.Rules.Upstream, want)
			}
			if !reflect.DeepEqual(got.Rules.Locked, tt.locked) {
				t.Errorf("Locked = %q, want %q", got.Rules.Locked, tt.locked)
			}
			for path, origin := range tt.sources {
				if o := got.Sources[path]; o.String() != origin && (origin != BuiltinName || o.File != BuiltinName) {
					t.Errorf("Sources[%q] = %s, want %s", path, o, origin)
				}
			}
			if !reflect.DeepEqual(messages(got.Warnings), tt.warnings) {
				t.Errorf("Warnings = %q\nwant %q", messages(got.Warnings), tt.warnings)
			}
			for _, w := range got.Warnings {
				if w.Section != "upstream" {
					t.Errorf("warning %v: section %q, want upstream", w, w.Section)
				}
			}
			if len(got.Problems) > 0 {
				t.Errorf("Problems = %q", messages(got.Problems))
			}
		})
	}
	if again := Merge(BuiltinLayer()); !reflect.DeepEqual(again.Rules.Upstream, builtin) {
		t.Errorf("an earlier merge changed the built-in upstream section: %+v", again.Rules.Upstream)
	}
}

// Without the built-in layer no title is written anywhere; the warning
// then points at the repository setting that asked for a dashboard.
func TestMergeUpstreamDashboardWithoutBuiltin(t *testing.T) {
	org := mustParse(t, orgFile, "upstream:\n  dashboard: {repo: example/issues}\n")
	got := Merge(Layer{Kind: LayerOrg, File: org})
	want := []string{orgFile + `:2:21: upstream.dashboard.title: empty, but upstream.dashboard.repo is "example/issues"; the dashboard issue needs a title, so there is no dashboard`}
	if !reflect.DeepEqual(messages(got.Warnings), want) || got.Rules.Upstream.Dashboard.Repo != "" {
		t.Errorf("Warnings = %q, dashboard %+v; want %q and no dashboard", messages(got.Warnings), got.Rules.Upstream.Dashboard, want)
	}
}
