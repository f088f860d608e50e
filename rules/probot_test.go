package rules

import (
	"reflect"
	"testing"
)

const dcoFile = ".github/dco.yml"

func TestParseProbotDCO(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    DCO
		sources map[string]string
		errs    []string
	}{
		{name: "empty file", in: ""},
		{
			name: "all settings",
			in:   "require:\n  members: false\nallowRemediationCommits:\n  individual: true\n  thirdParty: true\n",
			want: DCO{Remediation: Remediation{Individual: true, ThirdParty: true}},
			sources: map[string]string{
				"dco.require.members":         ".github/dco.yml:2:12",
				"dco.remediation.individual":  ".github/dco.yml:4:15",
				"dco.remediation.third_party": ".github/dco.yml:5:15",
			},
		},
		{
			name:    "only individual",
			in:      "allowRemediationCommits:\n  individual: true\n",
			want:    DCO{Remediation: Remediation{Individual: true}},
			sources: map[string]string{"dco.remediation.individual": ".github/dco.yml:2:15"},
		},
		{
			name: "contribot spelling is not Probot's",
			in:   "allowRemediationCommits:\n  third_party: true\n",
			errs: []string{`.github/dco.yml:2:3: unknown key "third_party" in allowRemediationCommits (known: individual, thirdParty)`},
		},
		{
			name: "bad value",
			in:   "require:\n  members: nope\n",
			errs: []string{`.github/dco.yml:2:12: require.members: want a boolean (true or false), got "nope"`},
		},
		{
			name: "contribot file given as dco.yml",
			in:   "dco:\n  enabled: true\n",
			errs: []string{`.github/dco.yml:1:1: unknown key "dco" at the top level (known: require, allowRemediationCommits)`},
		},
		{
			name: "syntax error",
			in:   "require: members: false\n",
			errs: []string{`.github/dco.yml:1: YAML syntax error: mapping values are not allowed in this context`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseProbotDCO(dcoFile, []byte(tt.in))
			if tt.errs != nil {
				if got := messages(asErrors(dcoFile, err)); err == nil || !reflect.DeepEqual(got, tt.errs) {
					t.Fatalf("errors = %q, want %q", got, tt.errs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Rules.DCO, tt.want) {
				t.Errorf("DCO = %+v, want %+v", f.Rules.DCO, tt.want)
			}
			// The layer must merge to what its Rules say, and point back at dco.yml.
			res := Merge(Layer{Kind: LayerRepo, File: f})
			if !reflect.DeepEqual(res.Rules.DCO, tt.want) || len(res.Problems) > 0 {
				t.Errorf("merged DCO = %+v (problems %q), want %+v", res.Rules.DCO, messages(res.Problems), tt.want)
			}
			for path, origin := range tt.sources {
				if got := res.Sources[path].String(); got != origin {
					t.Errorf("Sources[%q] = %s, want %s", path, got, origin)
				}
			}
		})
	}
}

func TestProbotLayerOverOrg(t *testing.T) {
	// The migration layer sits between the org and the repository file.
	probot, err := ParseProbotDCO(dcoFile, []byte("require:\n  members: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Merge(
		BuiltinLayer(),
		Layer{Kind: LayerOrg, File: mustParse(t, orgFile, "dco:\n  skip_bots: false\n")},
		Layer{Kind: LayerRepo, File: probot},
	)
	d := res.Rules.DCO
	if !d.Enabled || d.Require.Members || d.SkipBots || !d.Override {
		t.Errorf("DCO = %+v: want enabled (built-in), members false (dco.yml), skip_bots false (org), override (built-in)", d)
	}
}
