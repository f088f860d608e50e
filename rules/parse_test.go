package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const repoFile = ".github/contribot.yml"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "unknown top-level key",
			in:   "dcoo:\n  enabled: true\n",
			want: []string{`.github/contribot.yml:1:1: unknown key "dcoo" at the top level (known: extends, locked, dco)`},
		},
		{
			name: "recheck command intake would never see",
			in:   "dco:\n  recheck_command: \"@contribot recheck\"\n",
			want: []string{`.github/contribot.yml:2:20: dco.recheck_command: "@contribot recheck" must start with "/", e.g. "/dco recheck"`},
		},
		{
			name: "unknown key in dco",
			in:   "dco:\n  enabled: true\n\n  requre:\n    members: false\n",
			want: []string{`.github/contribot.yml:4:3: unknown key "requre" in dco (known: enabled, require, remediation, skip_bots, allow, recheck_command, override)`},
		},
		{
			name: "unknown key two levels down",
			in:   "dco:\n  remediation:\n    thirdParty: true\n",
			want: []string{`.github/contribot.yml:3:5: unknown key "thirdParty" in dco.remediation (known: individual, third_party)`},
		},
		{
			name: "bad boolean",
			in:   "dco:\n  enabled: yes please\n",
			want: []string{`.github/contribot.yml:2:12: dco.enabled: want a boolean (true or false), got "yes please"`},
		},
		{
			name: "YAML 1.1 boolean is refused",
			in:   "dco:\n  skip_bots: no\n",
			want: []string{`.github/contribot.yml:2:14: dco.skip_bots: want a boolean (true or false), got "no"`},
		},
		{
			name: "quoted true is a string",
			in:   "dco:\n  override: \"true\"\n",
			want: []string{`.github/contribot.yml:2:13: dco.override: want a boolean (true or false), got "true"`},
		},
		{
			name: "empty value for a boolean",
			in:   "dco:\n  enabled:\n",
			want: []string{`.github/contribot.yml:2:11: dco.enabled: want a boolean (true or false), got an empty value`},
		},
		{
			name: "list where a section belongs",
			in:   "dco: [enabled]\n",
			want: []string{`.github/contribot.yml:1:6: dco: want a mapping, got a list`},
		},
		{
			name: "mapping where a boolean belongs",
			in:   "dco:\n  require:\n    members:\n      x: 1\n",
			want: []string{`.github/contribot.yml:4:7: dco.require.members: want a boolean (true or false), got a mapping`},
		},
		{
			name: "scalar where a list belongs",
			in:   "dco:\n  allow:\n    logins: dependabot[bot]\n",
			want: []string{`.github/contribot.yml:3:13: dco.allow.logins: want a list, got "dependabot[bot]"`},
		},
		{
			name: "bad list items are all reported",
			in:   "dco:\n  allow:\n    emails: [a@example.org, {b: c}, 5]\n",
			want: []string{
				`.github/contribot.yml:3:29: dco.allow.emails[1]: want a string, got a mapping`,
				`.github/contribot.yml:3:37: dco.allow.emails[2]: want a string, got 5; put it in quotes to use it as text`,
			},
		},
		{
			name: "number where a string belongs",
			in:   "dco:\n  recheck_command: 42\n",
			want: []string{`.github/contribot.yml:2:20: dco.recheck_command: want a string, got 42; put it in quotes to use it as text`},
		},
		{
			name: "every problem in one go, in file order",
			in:   "dco:\n  override: maybe\n  enabled: 1\nlabels: {}\n",
			want: []string{
				`.github/contribot.yml:2:13: dco.override: want a boolean (true or false), got "maybe"`,
				`.github/contribot.yml:3:12: dco.enabled: want a boolean (true or false), got 1`,
				`.github/contribot.yml:4:1: unknown key "labels" at the top level (known: extends, locked, dco)`,
			},
		},
		{
			name: "duplicate key",
			in:   "dco:\n  enabled: true\n  enabled: false\n",
			want: []string{`.github/contribot.yml:3:3: duplicate key "enabled" in dco (first at line 2)`},
		},
		{
			name: "non-string key",
			in:   "? [a]\n: 1\n",
			want: []string{`.github/contribot.yml:1:3: the top level: keys must be plain names, got a list`},
		},
		{
			name: "top level is not a mapping",
			in:   "- dco\n",
			want: []string{`.github/contribot.yml:1:1: want a mapping of sections at the top level (such as dco:), got a list`},
		},
		{
			name: "bad extends",
			in:   "extends: SovereignCloudStack\n",
			want: []string{`.github/contribot.yml:1:10: extends: want "none", "owner/repo" or "owner/repo:path", got "SovereignCloudStack"`},
		},
		{
			name: "extends path leaves the repository",
			in:   "extends: o/r:../x.yml\n",
			want: []string{`.github/contribot.yml:1:10: extends: path in "o/r:../x.yml": want a clean path inside the repository (no ., .. or //)`},
		},
		{
			name: "unknown locked section",
			in:   "locked: [dco, labels]\n",
			want: []string{`.github/contribot.yml:1:15: locked[1]: "labels" is not a section that can be locked (known: dco)`},
		},
		{
			name: "extends cannot be locked",
			in:   "locked: [extends]\n",
			want: []string{`.github/contribot.yml:1:10: locked[0]: "extends" is not a section that can be locked (known: dco)`},
		},
		{
			name: "syntax error: unclosed flow list",
			in:   "dco:\n  allow:\n    logins: [a, b\n",
			want: []string{`.github/contribot.yml:3: YAML syntax error: did not find expected ',' or ']'`},
		},
		{
			name: "syntax error: mapping value on the first line",
			in:   "dco: enabled: true\n",
			want: []string{`.github/contribot.yml:1: YAML syntax error: mapping values are not allowed in this context`},
		},
		{
			name: "syntax error: tab indentation",
			in:   "dco:\n\tenabled: true\n",
			want: []string{`.github/contribot.yml:2: YAML syntax error: found character that cannot start any token`},
		},
		{
			name: "syntax error: bad dedent",
			in:   "dco:\n  enabled: true\n skip_bots: true\n",
			want: []string{`.github/contribot.yml:3: YAML syntax error: did not find expected key (check the indentation from this line on)`},
		},
		{
			name: "syntax error: list item after a mapping",
			in:   "- a\ndco: {}\n",
			want: []string{`.github/contribot.yml:2: YAML syntax error: did not find expected '-' indicator (check the indentation from this line on)`},
		},
		{
			name: "control character",
			in:   "dco:\n  recheck_command: \"/dco\x07\"\n",
			want: []string{`.github/contribot.yml:2:25: character U+0007 is not allowed in YAML`},
		},
		{
			name: "invalid UTF-8",
			in:   "# Müller \xff\n",
			want: []string{`.github/contribot.yml:1:10: the file is not valid UTF-8`},
		},
		{
			name: "anchor and alias",
			in:   "dco:\n  allow:\n    logins: &bots [a]\n    emails: *bots\n",
			want: []string{
				`.github/contribot.yml:3:13: YAML anchor &bots: aliases and anchors are not allowed in rules files; write the value out`,
				`.github/contribot.yml:4:13: YAML alias *bots: aliases and anchors are not allowed in rules files; write the value out`,
			},
		},
		{
			name: "alias to an unknown anchor",
			in:   "dco:\n  enabled: *on\n",
			want: []string{`.github/contribot.yml:2:12: YAML alias *on: aliases and anchors are not allowed in rules files; write the value out`},
		},
		{
			name: "second document",
			in:   "dco: {}\n---\ndco: {enabled: false}\n",
			want: []string{`.github/contribot.yml:3:1: a second YAML document (after ---): a rules file holds exactly one`},
		},
		{
			name: "a hopeless file is cut short",
			in:   strings.Repeat("x: 1\n", maxErrors+3),
			want: func() []string {
				var w []string
				for i := 1; i <= maxErrors; i++ {
					if i == 1 {
						w = append(w, `.github/contribot.yml:1:1: unknown key "x" at the top level (known: extends, locked, dco)`)
						continue
					}
					w = append(w, fmt.Sprintf(`.github/contribot.yml:%d:1: duplicate key "x" in the top level (first at line 1)`, i))
				}
				return append(w, `.github/contribot.yml:51:1: 3 more problems from here on are not shown`)
			}(),
		},
		{
			name: "oversize",
			in:   "# " + strings.Repeat("x", MaxFileSize) + "\n",
			want: []string{`.github/contribot.yml: file is 262147 bytes; rules files may be at most 256 KiB`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(repoFile, []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want errors %q", f.Rules, tt.want)
			}
			if f != nil {
				t.Errorf("Parse returned a file along with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     Rules
		sections []string
	}{
		{name: "empty file", in: ""},
		{name: "only comments", in: "# nothing yet\n"},
		{name: "only a document marker", in: "---\n"},
		{name: "trailing empty document", in: "dco: {enabled: false}\n---\n", want: Rules{DCO: DCO{}}, sections: []string{"dco"}},
		{
			name:     "section with everything commented out",
			in:       "dco:\n  # enabled: false\n",
			sections: []string{"dco"},
		},
		{
			name:     "empty list",
			in:       "dco:\n  allow:\n    logins:\n    # - someone\n",
			sections: []string{"dco"},
		},
		{
			name: "full file",
			in: `extends: SovereignCloudStack/.github:rules/strict.yml
dco:
  enabled: true
  require: {members: false}
  remediation:
    individual: true
    third_party: false
  skip_bots: false
  allow:
    logins: ["bot[bot]"]
    emails: [bot@example.org]
  recheck_command: /recheck
  override: true
`,
			want: Rules{
				Extends: "SovereignCloudStack/.github:rules/strict.yml",
				DCO: DCO{
					Enabled:        true,
					Require:        Require{Members: false},
					Remediation:    Remediation{Individual: true},
					Allow:          Allow{Logins: []string{"bot[bot]"}, Emails: []string{"bot@example.org"}},
					RecheckCommand: "/recheck",
					Override:       true,
				},
			},
			sections: []string{"extends", "dco"},
		},
		{name: "locked in an org file", in: "locked: [dco]\n", want: Rules{Locked: []string{"dco"}}, sections: []string{"locked"}},
		{name: "extends none", in: "extends: none\n", want: Rules{Extends: "none"}, sections: []string{"extends"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(repoFile, []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(f.Rules, tt.want) {
				t.Errorf("Rules = %+v, want %+v", f.Rules, tt.want)
			}
			for _, s := range []string{"extends", "locked", "dco"} {
				want := false
				for _, w := range tt.sections {
					want = want || w == s
				}
				if f.Has(s) != want {
					t.Errorf("Has(%q) = %v, want %v", s, f.Has(s), want)
				}
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	f, err := Parse(BuiltinName, Builtin())
	if err != nil {
		t.Fatalf("built-in rules do not parse: %v", err)
	}
	want := Rules{DCO: DCO{
		Enabled:     true,
		Require:     Require{Members: true},
		Remediation: Remediation{Individual: false, ThirdParty: false},
		SkipBots:    true,
		Allow: Allow{
			Logins: []string{"dependabot[bot]", "renovate[bot]", "github-actions[bot]"},
			Emails: []string{"support@github.com", "49699333+dependabot[bot]@users.noreply.github.com"},
		},
		RecheckCommand: "/dco recheck",
		Override:       true,
	}}
	if !reflect.DeepEqual(f.Rules, want) {
		t.Errorf("built-in rules = %+v\nwant %+v", f.Rules, want)
	}
	// Every setting is written out, so Sources can always name a file.
	got := Merge(BuiltinLayer())
	for _, path := range []string{"dco.enabled", "dco.require.members", "dco.remediation.individual", "dco.remediation.third_party", "dco.skip_bots", "dco.allow.logins", "dco.allow.emails", "dco.recheck_command", "dco.override"} {
		if o, ok := got.Sources[path]; !ok || o.File != BuiltinName || o.Line == 0 {
			t.Errorf("Sources[%q] = %+v, want a line of the built-in file", path, o)
		}
	}
}

// TestDecoderKnowsEveryRulesType fails when a field of a type the decoder
// cannot read is added to Rules, before any rules file meets it.
func TestDecoderKnowsEveryRulesType(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Struct:
			for _, f := range fieldsOf(ty) {
				walk(ty.Field(f.index).Type, join(path, f.name))
			}
		case reflect.Slice:
			walk(ty.Elem(), path+"[]")
		case reflect.Map:
			if ty.Key().Kind() != reflect.String {
				t.Errorf("%s: map key %s is not a string", path, ty.Key())
			}
			walk(ty.Elem(), path+".*")
		case reflect.Bool, reflect.String:
		default:
			t.Errorf("%s: the decoder cannot read %s", path, ty)
		}
	}
	walk(reflect.TypeFor[Rules](), "")
}

func TestDecodeMap(t *testing.T) {
	// No Rules field is a map yet; the decoder supports them for sections
	// such as module labels, so check them on a type of their own.
	type modules struct {
		Repos map[string][]string `yaml:"repos"`
	}
	tests := []struct {
		name string
		in   string
		want map[string][]string
		errs []string
	}{
		{name: "entries", in: "repos:\n  IaaS: [rookify]\n  Ops: [zuul-config]\n", want: map[string][]string{"IaaS": {"rookify"}, "Ops": {"zuul-config"}}},
		{name: "empty", in: "repos:\n"},
		{name: "not a mapping", in: "repos: [a]\n", errs: []string{"f:1:8: repos: want a mapping, got a list"}},
		{name: "bad value", in: "repos:\n  IaaS: rookify\n", errs: []string{`f:2:9: repos.IaaS: want a list, got "rookify"`}},
		{name: "duplicate", in: "repos:\n  IaaS: []\n  IaaS: []\n", errs: []string{`f:3:3: duplicate key "IaaS" in repos (first at line 2)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := readYAML("f", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var m modules
			d := &decoder{file: "f"}
			d.decode(root, reflect.ValueOf(&m).Elem(), "")
			var got []string
			for _, e := range d.errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors = %q, want %q", got, tt.errs)
			}
			if tt.errs == nil && !reflect.DeepEqual(m.Repos, tt.want) {
				t.Errorf("Repos = %v, want %v", m.Repos, tt.want)
			}
		})
	}
}
