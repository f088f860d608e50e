package rules

import (
	"reflect"
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

			want := Rules{DCO: def, Locked: tt.locked}
			want.DCO.Allow.Logins = append([]string(nil), def.Allow.Logins...)
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
