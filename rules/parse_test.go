package rules

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
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
			want: []string{`.github/contribot.yml:1:1: unknown key "dcoo" at the top level (known: extends, locked, dco, modules, labels, welcome, upstream)`},
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
			in:   "dco:\n  override: maybe\n  enabled: 1\nlabel: {}\n",
			want: []string{
				`.github/contribot.yml:2:13: dco.override: want a boolean (true or false), got "maybe"`,
				`.github/contribot.yml:3:12: dco.enabled: want a boolean (true or false), got 1`,
				`.github/contribot.yml:4:1: unknown key "label" at the top level (known: extends, locked, dco, modules, labels, welcome, upstream)`,
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
			want: []string{`.github/contribot.yml:1:10: extends: want "none", "owner/.github" or "owner/.github:path", got "SovereignCloudStack"`},
		},
		{
			name: "extends path leaves the repository",
			in:   "extends: o/.github:../x.yml\n",
			want: []string{`.github/contribot.yml:1:10: extends: path in "o/.github:../x.yml": want a clean path inside the repository (no ., .. or //)`},
		},
		{
			name: "a repository maintainer extends a file outside the org's .github repository",
			in:   "extends: o/secret:.env\n",
			want: []string{`.github/contribot.yml:1:10: extends: "o/secret" is not the org's .github repository; only files there can be extended ("owner/.github" or "owner/.github:path")`},
		},
		{
			name: "unknown locked section",
			in:   "locked: [dco, labels, label]\n",
			want: []string{`.github/contribot.yml:1:23: locked[2]: "label" is not a section that can be locked (known: dco, modules, labels, welcome, upstream)`},
		},
		{
			name: "extends cannot be locked",
			in:   "locked: [extends]\n",
			want: []string{`.github/contribot.yml:1:10: locked[0]: "extends" is not a section that can be locked (known: dco, modules, labels, welcome, upstream)`},
		},
		{
			name: "fraction where a whole number belongs",
			in:   "labels:\n  max_files: 3.5\n",
			want: []string{`.github/contribot.yml:2:14: labels.max_files: want a whole number, got 3.5`},
		},
		{
			name: "quoted whole number",
			in:   "labels:\n  max_labels: \"4\"\n",
			want: []string{`.github/contribot.yml:2:15: labels.max_labels: want a whole number, got "4"; remove the quotes`},
		},
		{
			name: "list where a whole number belongs",
			in:   "labels:\n  size:\n    thresholds: {S: [10]}\n",
			want: []string{`.github/contribot.yml:3:21: labels.size.thresholds.S: want a whole number, got a list`},
		},
		{
			name: "negative guards",
			in:   "labels:\n  max_labels: -1\n  max_files: -2\n",
			want: []string{
				`.github/contribot.yml:2:15: labels.max_labels: want 0 (no limit) or more, got -1`,
				`.github/contribot.yml:3:14: labels.max_files: want 0 (no limit) or more, got -2`,
			},
		},
		{
			name: "unknown sync policy",
			in:   "labels:\n  sync: manage\n",
			want: []string{`.github/contribot.yml:2:9: labels.sync: want "add-only" or "managed", got "manage"`},
		},
		{
			name: "colour with #",
			in:   "modules:\n  storage:\n    color: \"#c5def5\"\n",
			want: []string{`.github/contribot.yml:3:12: modules.storage.color: write "c5def5", not "#c5def5"`},
		},
		{
			name: "colour without quotes is a comment",
			in:   "modules:\n  storage:\n    color: #c5def5\n",
			want: []string{`.github/contribot.yml:3:11: modules.storage.color: want a string, got an empty value; "#c5def5" is read as a YAML comment`},
		},
		{
			name: "colour by name",
			in:   "labels:\n  create_missing:\n    color: red\n",
			want: []string{`.github/contribot.yml:3:12: labels.create_missing.color: want 6 hex digits such as "c5def5", got "red"`},
		},
		{
			name: "bad globs",
			in: `labels:
  rules:
    - repos: ["SovereignCloudStack/[a", "x/[]"]
      files:
        any: ["docs/{a,b", "/docs/**", 'a\']
        all: ["x}", ""]
      modules: [iaas]
`,
			want: []string{
				`.github/contribot.yml:3:15: labels.rules[0].repos[0]: "SovereignCloudStack/[a" is not a valid glob: "[" is not closed (write \[ for a literal [)`,
				`.github/contribot.yml:3:41: labels.rules[0].repos[1]: "x/[]" is not a valid glob: empty character class "[]" (write \[ for a literal [)`,
				`.github/contribot.yml:5:15: labels.rules[0].files.any[0]: "docs/{a,b" is not a valid glob: "{" is not closed (write \{ for a literal {)`,
				`.github/contribot.yml:5:28: labels.rules[0].files.any[1]: "/docs/**" starts with "/"; paths are relative to the repository root`,
				`.github/contribot.yml:5:40: labels.rules[0].files.any[2]: "a\\" is not a valid glob: it ends in a lone \ (write \\ for a backslash)`,
				`.github/contribot.yml:6:15: labels.rules[0].files.all[0]: "x}" is not a valid glob: "}" without "{" (write \} for a literal })`,
				`.github/contribot.yml:6:21: labels.rules[0].files.all[1]: empty glob`,
			},
		},
		{
			name: "bad title",
			in:   "labels:\n  rules:\n    - title: \"^(fix\"\n      modules: [iaas]\n",
			want: []string{`.github/contribot.yml:3:14: labels.rules[0].title: not a regular expression: missing closing ) in "^(fix"`},
		},
		{
			name: "rules without condition or modules",
			in:   "labels:\n  rules:\n    - name: nothing\n    - repos: [a]\n      title: \"\"\n      modules: []\n    - files: {any: []}\n      modules: [\"\", iaas]\n    -\n",
			want: []string{
				`.github/contribot.yml:3:7: labels.rules[0]: no condition; set repos, files.any, files.all or title`,
				`.github/contribot.yml:3:7: labels.rules[0]: no modules; list the modules this rule gives`,
				`.github/contribot.yml:4:7: labels.rules[1]: no modules; list the modules this rule gives`,
				`.github/contribot.yml:7:7: labels.rules[2]: no condition; set repos, files.any, files.all or title`,
				`.github/contribot.yml:8:17: labels.rules[2].modules[0]: empty module name`,
				`.github/contribot.yml:9:6: labels.rules[3]: no condition; set repos, files.any, files.all or title`,
				`.github/contribot.yml:9:6: labels.rules[3]: no modules; list the modules this rule gives`,
			},
		},
		{
			name: "a rule of the wrong type is reported once",
			in:   "labels:\n  rules:\n    - iaas\n    - repos: rookify\n      modules: iaas\n",
			want: []string{
				`.github/contribot.yml:3:7: labels.rules[0]: want a mapping, got "iaas"`,
				`.github/contribot.yml:4:14: labels.rules[1].repos: want a list, got "rookify"`,
				`.github/contribot.yml:5:16: labels.rules[1].modules: want a list, got "iaas"`,
			},
		},
		{
			name: "size thresholds",
			in:   "labels:\n  size:\n    thresholds: {S: 0, M: 30, L: 20, XL: 500, XXL: 500}\n",
			want: []string{
				`.github/contribot.yml:3:21: labels.size.thresholds.S: want 1 or more, got 0`,
				`.github/contribot.yml:3:34: labels.size.thresholds.L: 20 is not above M (30); want S < M < L < XL < XXL`,
				`.github/contribot.yml:3:52: labels.size.thresholds.XXL: 500 is not above XL (500); want S < M < L < XL < XXL`,
			},
		},
		{
			name: "empty owned entries",
			in:   "labels:\n  owned:\n    prefixes: [\"area/\", \" \"]\n    names: [\"\"]\n",
			want: []string{
				`.github/contribot.yml:3:25: labels.owned.prefixes[1]: empty prefix; it would own every label`,
				`.github/contribot.yml:4:13: labels.owned.names[0]: empty label name`,
			},
		},
		{
			name: "long fallback label",
			in:   "labels:\n  fallback: " + strings.Repeat("x", 51) + "\n",
			want: []string{`.github/contribot.yml:2:13: labels.fallback: 51 characters; GitHub label names have at most 50`},
		},
		{
			name: "bad modules",
			in: "modules:\n  \"\": {label: x}\n  a: {label: \" \"}\n  b:\n    label: " + strings.Repeat("ü", 51) +
				"\n    description: " + strings.Repeat("d", 101) + "\n  c: {implies: [ops, \"\"]}\n",
			want: []string{
				`.github/contribot.yml:2:3: modules: empty module name`,
				`.github/contribot.yml:3:14: modules.a.label: empty; leave label out to use the module's name`,
				`.github/contribot.yml:5:12: modules.b.label: 51 characters; GitHub label names have at most 50`,
				`.github/contribot.yml:6:18: modules.b.description: 101 characters; GitHub label descriptions have at most 100`,
				`.github/contribot.yml:7:22: modules.c.implies[1]: empty module name`,
			},
		},
		{
			name: "a module without a label whose name is too long for one",
			in:   "modules:\n  " + strings.Repeat("m", 51) + ": {implies: []}\n",
			want: []string{`.github/contribot.yml:2:3: modules.` + strings.Repeat("m", 51) + `: the module's name is its label, and is 51 characters long; GitHub label names have at most 50: set label`},
		},
		{
			name: "module of the wrong type",
			in:   "modules:\n  storage: area/storage\n",
			want: []string{`.github/contribot.yml:2:12: modules.storage: want a mapping, got "area/storage"`},
		},
		{
			name: "unknown welcome scope",
			in:   "welcome:\n  scope: team\n",
			want: []string{`.github/contribot.yml:2:10: welcome.scope: want "org" or "repo", got "team"`},
		},
		{
			name: "welcome links and label",
			in: `welcome:
  label: " "
  links:
    contributor-guide: https://scs.community/contribute/
    2nd: https://example.org
    dco: community/tools/github/dco-and-licenses
    ftp: ftp://example.org/x
    space: https://example.org/a b
    ok_1: HTTPS://example.org
`,
			want: []string{
				`.github/contribot.yml:2:10: welcome.label: empty label name`,
				`.github/contribot.yml:4:5: welcome.links: "contributor-guide" cannot be written as {{.Links.name}}; use letters, digits and _, not starting with a digit`,
				`.github/contribot.yml:5:5: welcome.links: "2nd" cannot be written as {{.Links.name}}; use letters, digits and _, not starting with a digit`,
				`.github/contribot.yml:6:10: welcome.links.dco: want an absolute http(s) URL such as "https://example.org/contribute", got "community/tools/github/dco-and-licenses"`,
				`.github/contribot.yml:7:10: welcome.links.ftp: want an absolute http(s) URL such as "https://example.org/contribute", got "ftp://example.org/x"`,
				`.github/contribot.yml:8:12: welcome.links.space: want an absolute http(s) URL such as "https://example.org/contribute", got "https://example.org/a b"`,
			},
		},
		{
			name: "long welcome label",
			in:   "welcome:\n  label: " + strings.Repeat("x", 51) + "\n",
			want: []string{`.github/contribot.yml:2:10: welcome.label: 51 characters; GitHub label names have at most 50`},
		},
		{
			name: "template syntax error on line 3 of a block",
			in:   "welcome:\n  first_pr: |\n    Hello @{{.Login}},\n\n    see {{if}} here.\n",
			want: []string{`.github/contribot.yml:5: welcome.first_pr: missing value for if`},
		},
		{
			name: "template syntax error in a quoted template",
			in:   "welcome:\n  first_issue: 'Hi {{.Login}'\n",
			want: []string{`.github/contribot.yml:2: welcome.first_issue: bad character U+007D '}'`},
		},
		{
			name: "unknown template fields, in every branch",
			in: `welcome:
  first_issue: "Hi @{{.Logn}}!"
  first_pr: |
    Hello
    {{if .Modules}}{{.Login}}{{else}}{{$.Titel}}{{end}}
    {{with .Title}}{{.}}{{end}}{{range .Modules}}{{.}}{{end}}
`,
			want: []string{
				`.github/contribot.yml:2:23: welcome.first_issue: unknown field .Logn (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)`,
				`.github/contribot.yml:5:41: welcome.first_pr: unknown field .Titel (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)`,
			},
		},
		{
			name: "templates that fail on sample data",
			in: `welcome:
  first_issue: Hi {{.Login.Name}}
  first_pr: |
    Hi
      {{index .Modules 5}}
  first_merged_pr: "{{with .Links}}{{.contribute}}{{end}}{{.Links.dco}}"
`,
			want: []string{
				`.github/contribot.yml:2:27: welcome.first_issue: {{.Login.Name}}: can't evaluate field Name in type string`,
				`.github/contribot.yml:5:9: welcome.first_pr: {{index .Modules 5}}: error calling index: index out of range: 5`,
				`.github/contribot.yml:6:38: welcome.first_merged_pr: {{.contribute}}: map has no entry for key "contribute"`,
			},
		},
		{
			name: "an unknown function",
			in:   "welcome:\n  first_pr: \"{{upper .Login}}\"\n",
			want: []string{`.github/contribot.yml:2: welcome.first_pr: function "upper" not defined`},
		},
		{
			name: "templates that could run away",
			in: `welcome:
  first_pr: |
    {{range 1000000000}}{{end}}
    {{range .Links}}{{range $.Modules}}{{end}}{{end}}
    {{block "b" .}}{{end}}
    {{printf "%s%999999s" .Login ""}}{{printf "%*s" 9 ""}}{{printf .Title}}
  first_issue: "{{range .Links}}` + strings.Repeat("x", 15100) + `{{end}}{{.Links.a}}{{.Links.b}}{{.Links.c}}{{.Links.d}}"
`,
			want: []string{
				`.github/contribot.yml:3:13: welcome.first_pr: range only over .Modules or .Links`,
				`.github/contribot.yml:4:29: welcome.first_pr: a range inside a range is not supported`,
				`.github/contribot.yml:5:13: welcome.first_pr: {{template}} and {{block}} are not supported in welcome messages; write the text out`,
				`.github/contribot.yml:6:14: welcome.first_pr: printf: "%999999" is too wide; widths and precisions go up to 999`,
				`.github/contribot.yml:6:47: welcome.first_pr: printf: "%*" takes a width or precision from an argument; write it out, up to 999`,
				`.github/contribot.yml:6:68: welcome.first_pr: printf: write the format in quotes`,
				`.github/contribot.yml:7:16: welcome.first_issue: renders more than 60000 characters of sample data; GitHub comments hold at most 65536`,
			},
		},
		{
			name: "a template that renders nothing",
			in:   "welcome:\n  first_pr: \"{{if .Modules}}{{end}}\\n\"\n",
			want: []string{`.github/contribot.yml:2:13: welcome.first_pr: renders as empty text; write "" to greet nobody on this occasion`},
		},
		{
			name: "where folding or escapes move the text, the template's own line is named",
			in:   "welcome:\n  first_pr: >\n    Hi\n    there {{.Logn}}\n  first_issue: \"Hi\\t{{.Logn}}\"\n",
			want: []string{
				`.github/contribot.yml:2:13: welcome.first_pr: line 1, column 12 of the template: unknown field .Logn (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)`,
				`.github/contribot.yml:5:16: welcome.first_issue: line 1, column 6 of the template: unknown field .Logn (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)`,
			},
		},
		{
			name: "unknown key in upstream",
			in:   "upstream:\n  lable: upstream\n  dashboard:\n    owner: x\n",
			want: []string{
				`.github/contribot.yml:2:3: unknown key "lable" in upstream (known: enabled, label, comments, gerrit, gitlab, status_comment, stale_after, labels, show_private, dashboard)`,
				`.github/contribot.yml:4:5: unknown key "owner" in upstream.dashboard (known: repo, title)`,
			},
		},
		{
			name: "upstream values of the wrong type",
			in:   "upstream:\n  enabled: yes\n  gitlab: gitlab.com\n  dashboard: SovereignCloudStack/issues\n",
			want: []string{
				`.github/contribot.yml:2:12: upstream.enabled: want a boolean (true or false), got "yes"`,
				`.github/contribot.yml:3:11: upstream.gitlab: want a list, got "gitlab.com"`,
				`.github/contribot.yml:4:14: upstream.dashboard: want a mapping, got "SovereignCloudStack/issues"`,
			},
		},
		{
			name: "upstream hosts",
			in: `upstream:
  gerrit:
    - https://review.opendev.org/
    - Review.OpenDev.org
    - review.opendev.org/c/openstack/keystone/+/903172
    - "review.opendev.org."
    - "review.opendev.org:29418"
    - ""
  gitlab: [gitlab.com, "git@gitlab.com", opendev_gitlab, 5]
`,
			want: []string{
				`.github/contribot.yml:3:7: upstream.gerrit[0]: write "review.opendev.org", not "https://review.opendev.org/"`,
				`.github/contribot.yml:4:7: upstream.gerrit[1]: write "review.opendev.org", not "Review.OpenDev.org"`,
				`.github/contribot.yml:5:7: upstream.gerrit[2]: write "review.opendev.org", not "review.opendev.org/c/openstack/keystone/+/903172"`,
				`.github/contribot.yml:6:7: upstream.gerrit[3]: write "review.opendev.org", not "review.opendev.org."`,
				`.github/contribot.yml:7:7: upstream.gerrit[4]: want a host name such as "review.opendev.org", without scheme, port or path, got "review.opendev.org:29418"`,
				`.github/contribot.yml:8:7: upstream.gerrit[5]: empty host name`,
				`.github/contribot.yml:9:24: upstream.gitlab[1]: want a host name such as "gitlab.com", without scheme, port or path, got "git@gitlab.com"`,
				`.github/contribot.yml:9:42: upstream.gitlab[2]: want a host name such as "gitlab.com", without scheme, port or path, got "opendev_gitlab"`,
				`.github/contribot.yml:9:58: upstream.gitlab[3]: want a string, got 5; put it in quotes to use it as text`,
			},
		},
		{
			name: "upstream label",
			in:   "upstream:\n  label: \"  \"\n",
			want: []string{`.github/contribot.yml:2:10: upstream.label: empty label name`},
		},
		{
			name: "long upstream label",
			in:   "upstream:\n  label: upstream-" + strings.Repeat("x", 42) + "\n",
			want: []string{`.github/contribot.yml:2:10: upstream.label: 51 characters; GitHub label names have at most 50`},
		},
		{
			name: "stale_after that does not parse",
			in:   "upstream:\n  stale_after: 60 days\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: want a duration such as "60d", "8w" or "72h", got "60 days"`},
		},
		{
			name: "stale_after in days without a unit",
			in:   "upstream:\n  stale_after: 60\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: want a duration such as "60d", "8w" or "72h", got 60; add a unit, such as 60d`},
		},
		{
			name: "stale_after in fractional days",
			in:   "upstream:\n  stale_after: 1.5d\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: want a duration such as "60d", "8w" or "72h", got "1.5d"`},
		},
		{
			name: "stale_after as a list",
			in:   "upstream:\n  stale_after: [60d]\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: want a duration such as "60d", "8w" or "72h", got a list`},
		},
		{
			name: "stale_after zero",
			in:   "upstream:\n  stale_after: 0d\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: want more than 0, such as "60d", "8w" or "72h", got "0d"`},
		},
		{
			name: "stale_after negative",
			in:   "upstream:\n  stale_after: -72h\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: want more than 0, such as "60d", "8w" or "72h", got "-72h"`},
		},
		{
			name: "stale_after beyond time.Duration",
			in:   "upstream:\n  stale_after: 200000w\n",
			want: []string{`.github/contribot.yml:2:16: upstream.stale_after: "200000w" is too long; durations go up to 106751d`},
		},
		{
			name: "dashboard repo as a URL, and an empty title",
			in:   "upstream:\n  dashboard:\n    repo: https://github.com/SovereignCloudStack/issues/issues\n    title: \"\"\n",
			want: []string{
				`.github/contribot.yml:3:11: upstream.dashboard.repo: write "SovereignCloudStack/issues", not "https://github.com/SovereignCloudStack/issues/issues"`,
				`.github/contribot.yml:4:12: upstream.dashboard.title: empty; the dashboard issue needs a title (write repo: "" for no dashboard)`,
			},
		},
		{
			name: "dashboard repo without owner",
			in:   "upstream:\n  dashboard:\n    repo: issues\n",
			want: []string{`.github/contribot.yml:3:11: upstream.dashboard.repo: want "owner/name" such as "SovereignCloudStack/issues", got "issues"`},
		},
		{
			name: "an empty title is an error even without repo in the file",
			in:   "upstream:\n  dashboard:\n    title: \"   \"\n",
			want: []string{`.github/contribot.yml:3:12: upstream.dashboard.title: empty; the dashboard issue needs a title (write repo: "" for no dashboard)`},
		},
		{
			name: "long dashboard title",
			in:   "upstream:\n  dashboard:\n    title: " + strings.Repeat("x", 257) + "\n",
			want: []string{`.github/contribot.yml:3:12: upstream.dashboard.title: 257 characters; GitHub issue titles have at most 256`},
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
						w = append(w, `.github/contribot.yml:1:1: unknown key "x" at the top level (known: extends, locked, dco, modules, labels, welcome, upstream)`)
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
			in: `extends: SovereignCloudStack/.github:.github/strict.yml
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
				Extends: "SovereignCloudStack/.github:.github/strict.yml",
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
		{
			name: "modules and labels",
			in: `modules:
  storage:
    label: area/storage
    description: Ceph and Rook
    color: C5DEF5
    implies: [iaas]
  iaas: {label: IaaS}
  plain:
labels:
  enabled: true
  sync: managed
  owned: {prefixes: [area/], names: [upstream]}
  create_missing: {enabled: true, color: "", description: Set by contribot}
  max_labels: 0
  max_files: 0x10
  fallback: ""
  rules:
    - name: rookify
      repos: [rookify, "SovereignCloudStack/rook*"]
      modules: [storage]
    - files:
        any: ["Standards/scs-{0110,0114}-*"]
        all: ["**/*.md"]
      title: "(?i)^docs"
      modules: [storage, iaas]
  size:
    enabled: true
    thresholds: {S: 1, M: 2, L: 3, XL: 4, XXL: 1_000}
`,
			want: Rules{
				Modules: map[string]Module{
					"storage": {Label: "area/storage", Description: "Ceph and Rook", Color: "C5DEF5", Implies: []string{"iaas"}},
					"iaas":    {Label: "IaaS"},
					"plain":   {},
				},
				Labels: Labels{
					Enabled:       true,
					Sync:          SyncManaged,
					Owned:         Owned{Prefixes: []string{"area/"}, Names: []string{"upstream"}},
					CreateMissing: CreateMissing{Enabled: true, Description: "Set by contribot"},
					MaxFiles:      16,
					Rules: []LabelRule{
						{Pos: Pos{Line: 18, Column: 7}, Name: "rookify", Repos: []string{"rookify", "SovereignCloudStack/rook*"}, Modules: []string{"storage"}},
						{
							Pos:     Pos{Line: 21, Column: 7},
							Files:   FileGlobs{Any: []string{"Standards/scs-{0110,0114}-*"}, All: []string{"**/*.md"}},
							Title:   "(?i)^docs",
							Modules: []string{"storage", "iaas"},
						},
					},
					Size: Size{Enabled: true, Thresholds: SizeThresholds{S: 1, M: 2, L: 3, XL: 4, XXL: 1000}},
				},
			},
			sections: []string{"modules", "labels"},
		},
		{
			name:     "sections with everything commented out",
			in:       "modules:\n  # storage: {}\nlabels:\n  # enabled: false\n",
			sections: []string{"modules", "labels"},
		},
		{
			name: "welcome",
			in: `welcome:
  enabled: true
  scope: repo
  label: first-contribution
  links:
    guide: https://example.org/guide
    _chat2: http://chat.example.org
  first_issue: ""
  first_pr: |
    Hi @{{.Login}}, see the [guide]({{.Links.guide}}) and {{index .Links "faq"}}{{.Links.elsewhere}}.
    {{- if .Modules}} Modules: {{join .Modules ", "}}.{{end}}
    {{range $name, $url := .Links}}{{$name}}{{end}}
  first_merged_pr: Thanks, @{{$.Login}}!
`,
			want: Rules{Welcome: Welcome{
				Enabled: true, Scope: ScopeRepo, Label: "first-contribution",
				Links:       map[string]string{"guide": "https://example.org/guide", "_chat2": "http://chat.example.org"},
				FirstPR:     "Hi @{{.Login}}, see the [guide]({{.Links.guide}}) and {{index .Links \"faq\"}}{{.Links.elsewhere}}.\n{{- if .Modules}} Modules: {{join .Modules \", \"}}.{{end}}\n{{range $name, $url := .Links}}{{$name}}{{end}}\n",
				FirstMerged: "Thanks, @{{$.Login}}!",
			}},
			sections: []string{"welcome"},
		},
		{
			name: "upstream",
			in: `upstream:
  enabled: true
  label: ""
  comments: true
  gerrit: [review.opendev.org, review.gerrithub.io]
  gitlab: []
  status_comment: false
  stale_after: 8w
  labels: true
  show_private: true
  dashboard:
    repo: example/tracking
    title: Upstream work
`,
			want: Rules{Upstream: Upstream{
				Enabled:     true,
				Comments:    true,
				Gerrit:      []string{"review.opendev.org", "review.gerrithub.io"},
				StaleAfter:  Duration(56 * 24 * time.Hour),
				Labels:      true,
				ShowPrivate: true,
				Dashboard:   UpstreamDashboard{Repo: "example/tracking", Title: "Upstream work"},
			}},
			sections: []string{"upstream"},
		},
		{
			name:     "no dashboard",
			in:       "upstream:\n  stale_after: 36h\n  dashboard: {repo: \"\", title: \"\"}\n",
			want:     Rules{Upstream: Upstream{StaleAfter: Duration(36 * time.Hour)}},
			sections: []string{"upstream"},
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
			if got := withoutPatterns(f.Rules); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Rules = %+v, want %+v", got, tt.want)
			}
			for _, s := range []string{"extends", "locked", "dco", "modules", "labels", "welcome", "upstream"} {
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
	wantDCO := DCO{
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
	}
	if !reflect.DeepEqual(f.Rules.DCO, wantDCO) {
		t.Errorf("built-in dco = %+v\nwant %+v", f.Rules.DCO, wantDCO)
	}
	if f.Rules.Locked != nil {
		t.Errorf("built-in locks %q; orgs must be free to change every section", f.Rules.Locked)
	}
	if w := f.Rules.Welcome; !w.Enabled || w.Scope != ScopeOrg || w.Label != "" {
		t.Errorf("built-in welcome: enabled %v, scope %q, label %q; want on, org, no label", w.Enabled, w.Scope, w.Label)
	}
	labels := f.Rules.Labels
	labels.Rules = nil
	wantLabels := Labels{
		Enabled:       true,
		Sync:          SyncAddOnly,
		Owned:         Owned{Prefixes: []string{"area/", "size/"}},
		CreateMissing: CreateMissing{Enabled: true, Color: "ededed", Description: "Set by contribot from the module rules"},
		MaxLabels:     4,
		MaxFiles:      300,
		Fallback:      "area/tree-wide",
		Size:          Size{Thresholds: SizeThresholds{S: 10, M: 30, L: 100, XL: 500, XXL: 1000}},
	}
	if !reflect.DeepEqual(labels, wantLabels) {
		t.Errorf("built-in labels = %+v\nwant %+v", labels, wantLabels)
	}
	// github-manager owns the colours of the org's labels; only labels
	// that contribot may create carry their own.
	wantModules := map[string]string{
		"iaas": "IaaS", "container": "Container", "ops": "Ops", "iam": "IAM", "community": "Community",
		"standards": "standards", "documentation": "documentation",
		"storage": "area/storage", "monitoring": "area/monitoring", "registry": "area/registry",
	}
	wantImplies := map[string][]string{"storage": {"iaas"}, "monitoring": {"ops"}, "registry": {"container"}}
	if len(f.Rules.Modules) != len(wantModules) {
		t.Errorf("built-in modules = %v, want %v", f.Rules.Modules, wantModules)
	}
	for name, label := range wantModules {
		m := f.Rules.Modules[name]
		if m.Label != label || !reflect.DeepEqual(m.Implies, wantImplies[name]) {
			t.Errorf("module %s = %+v, want label %q implying %q", name, m, label, wantImplies[name])
		}
		if owned := strings.HasPrefix(label, "area/"); owned != (m.Color != "") || owned != (m.Description != "") {
			t.Errorf("module %s: colour %q, description %q; want both exactly for area/ labels", name, m.Color, m.Description)
		}
	}
	for i, r := range f.Rules.Labels.Rules {
		if r.Name == "" || r.Pos.Line == 0 || len(r.Repos) == 0 {
			t.Errorf("rule %d %+v: want a name, a position and repos", i, r)
		}
	}

	wantUpstream := Upstream{
		Enabled:       true,
		Label:         "upstream",
		Gerrit:        []string{"review.opendev.org"},
		GitLab:        []string{"gitlab.com"},
		StatusComment: true,
		StaleAfter:    Duration(60 * 24 * time.Hour),
		Dashboard:     UpstreamDashboard{Repo: "SovereignCloudStack/issues", Title: "Upstream contributions"},
	}
	if !reflect.DeepEqual(f.Rules.Upstream, wantUpstream) {
		t.Errorf("built-in upstream = %+v\nwant %+v", f.Rules.Upstream, wantUpstream)
	}

	got := Merge(BuiltinLayer())
	if len(got.Warnings) > 0 || len(got.Problems) > 0 {
		t.Errorf("built-in alone: warnings %q, problems %q", messages(got.Warnings), messages(got.Problems))
	}
	if !reflect.DeepEqual(got.Rules, f.Rules) {
		t.Errorf("built-in merged alone differs from the built-in parsed")
	}
	// Every setting is written out, so Sources can always name a file.
	for _, path := range []string{
		"dco.enabled", "dco.require.members", "dco.remediation.individual", "dco.remediation.third_party", "dco.skip_bots",
		"dco.allow.logins", "dco.allow.emails", "dco.recheck_command", "dco.override",
		"modules.storage.implies", "labels.enabled", "labels.sync", "labels.owned.prefixes", "labels.owned.names",
		"labels.create_missing.enabled", "labels.create_missing.color", "labels.create_missing.description",
		"labels.max_labels", "labels.max_files", "labels.fallback", "labels.rules",
		"labels.size.enabled", "labels.size.thresholds.S", "labels.size.thresholds.XXL",
		"welcome.enabled", "welcome.scope", "welcome.label", "welcome.links.dco", "welcome.links.issue_hub",
		"welcome.first_issue", "welcome.first_pr", "welcome.first_merged_pr",
		"upstream.enabled", "upstream.label", "upstream.comments", "upstream.gerrit", "upstream.gitlab",
		"upstream.status_comment", "upstream.stale_after", "upstream.labels", "upstream.show_private",
		"upstream.dashboard.repo", "upstream.dashboard.title",
	} {
		if o, ok := got.Sources[path]; !ok || o.File != BuiltinName || o.Line == 0 {
			t.Errorf("Sources[%q] = %+v, want a line of the built-in file", path, o)
		}
	}
}

// TestBuiltinLabelRules routes real SCS paths through the built-in rules
// with a plain reading of the rules (no implies, no guards), so that a
// glob that matches nothing is caught here.
func TestBuiltinLabelRules(t *testing.T) {
	rules := builtinFile().Rules.Labels.Rules
	match := func(pattern, s string) bool {
		ok, err := doublestar.Match(pattern, s)
		if err != nil {
			t.Fatalf("glob %q: %v", pattern, err)
		}
		return ok
	}
	tests := []struct {
		repo  string
		files []string
		want  []string
	}{
		{"SovereignCloudStack/cluster-stacks", []string{"README.md"}, []string{"container"}},
		{"SovereignCloudStack/cluster-stack-operator", []string{"go.mod"}, []string{"container"}},
		{"SovereignCloudStack/csctl", []string{"main.go"}, []string{"container"}},
		{"SovereignCloudStack/zuul-scs-jobs", []string{"zuul.d/jobs.yaml"}, []string{"ops"}},
		{"SovereignCloudStack/github-manager", []string{"config.yaml"}, []string{"ops"}},
		{"SovereignCloudStack/openstack-health-monitor", []string{"api_monitor.sh"}, []string{"monitoring", "ops"}},
		{"SovereignCloudStack/openstack-workload-generator", []string{"main.py"}, []string{"iaas"}},
		{"SovereignCloudStack/rookify", []string{"src/rookify/__main__.py"}, []string{"iaas", "storage"}},
		{"SovereignCloudStack/.github", []string{"profile/README.md"}, []string{"community"}},
		{"SovereignCloudStack/release-notes", []string{"Release8.md"}, []string{"documentation"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0001-v1-sovereign-cloud-standards.md"}, []string{"standards"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0110-v1-ssd-flavors.md"}, []string{"iaas", "standards", "storage"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0102-v1-image-metadata.md"}, []string{"iaas", "standards"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0211-v1-kaas-default-storage-class.md"}, []string{"container", "standards", "storage"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0218-v1-container-registry.md"}, []string{"container", "registry", "standards"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0302-v1-domain-manager-role.md"}, []string{"iam", "standards"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0403-v1-csp-kaas-observability-stack.md"}, []string{"monitoring", "ops", "standards"}},
		{"SovereignCloudStack/standards", []string{"Standards/scs-0500-v1-scope.md"}, []string{"standards"}},
		{"SovereignCloudStack/standards", []string{"Tests/kaas/kaas-sonobuoy-tests/Makefile"}, []string{"container", "standards"}},
		{"SovereignCloudStack/standards", []string{"Tests/iaas/flavor-naming/flavor-names.py"}, []string{"iaas", "standards"}},
		{"SovereignCloudStack/standards", []string{"Tests/iam/domain-manager/domain-manager-check.py"}, []string{"iam", "standards"}},
		{"SovereignCloudStack/standards", []string{"Drafts/node-monitoring.md"}, []string{"monitoring", "standards"}},
		{"SovereignCloudStack/standards", []string{"compliance-monitor/monitor.py"}, []string{"standards"}},
		{"SovereignCloudStack/docs", []string{"docs/02-iaas/deployment-examples/index.md"}, []string{"documentation", "iaas"}},
		{"SovereignCloudStack/docs", []string{"docs/03-container/components/index.md"}, []string{"container", "documentation"}},
		{"SovereignCloudStack/docs", []string{"docs/04-operating-scs/index.md"}, []string{"documentation", "ops"}},
		{"SovereignCloudStack/docs", []string{"docs/05-iam/index.md"}, []string{"documentation", "iam"}},
		{"SovereignCloudStack/docs", []string{"community/index.md", "contributor-docs/index.md"}, []string{"community", "documentation"}},
		{"SovereignCloudStack/docs", []string{"standards/scs-0100.md"}, []string{"documentation", "standards"}},
		{"SovereignCloudStack/docs", []string{"user-docs/index.md"}, []string{"documentation"}},
		{"osism/cluster-stacks", []string{"README.md"}, nil},
		{"SovereignCloudStack/issues", []string{"README.md"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.repo+":"+tt.files[0], func(t *testing.T) {
			var got []string
			for _, r := range rules {
				repoOK := len(r.Repos) == 0
				for _, p := range r.Repos {
					repoOK = repoOK || match(p, tt.repo)
				}
				anyOK := len(r.Files.Any) == 0
				for _, f := range tt.files {
					for _, p := range r.Files.Any {
						anyOK = anyOK || match(p, f)
					}
				}
				if repoOK && anyOK && len(r.Files.All) == 0 && r.Title == "" {
					got = append(got, r.Modules...)
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("modules = %q, want %q", got, tt.want)
			}
		})
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
		case reflect.Bool, reflect.String, reflect.Int:
		default:
			if ty == durationType {
				return
			}
			t.Errorf("%s: the decoder cannot read %s", path, ty)
		}
	}
	walk(reflect.TypeFor[Rules](), "")
}

func TestDecodeMap(t *testing.T) {
	// Maps of lists, which Rules does not have yet, on a type of their own.
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
			root, err := readYAML("f", []byte(tt.in), false)
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

// TestBuiltinWelcome renders the built-in messages as contribot does, with
// the built-in links, and checks that they say what a newcomer needs.
func TestBuiltinWelcome(t *testing.T) {
	w := builtinFile().Rules.Welcome
	wantLinks := map[string]string{
		"contribute":        "https://scs.community/contribute/",
		"contributor_docs":  "https://docs.scs.community/contributor-docs",
		"code_of_conduct":   "https://github.com/SovereignCloudStack/.github/blob/main/CODE_OF_CONDUCT.md",
		"dco":               "https://docs.scs.community/community/tools/github/dco-and-licenses",
		"community":         "https://docs.scs.community/community",
		"onboarding":        "https://docs.scs.community/community/collaboration",
		"calendar":          "https://sovereigncloudstack.github.io/calendar/scs.ics",
		"matrix":            "https://matrix.to/#/#scs-community:matrix.org",
		"good_first_issues": "https://github.com/search?q=org%3ASovereignCloudStack+label%3A%22good+first+issue%22+is%3Aopen&type=issues",
		"issue_hub":         "https://github.com/SovereignCloudStack/issues/issues",
	}
	if !reflect.DeepEqual(w.Links, wantLinks) {
		t.Errorf("built-in links = %v\nwant %v", w.Links, wantLinks)
	}
	l := wantLinks
	meetings := []string{"every 4 weeks", "Friday", "11:05", "Europe/Berlin", "#scs-community:matrix.org", "(" + l["calendar"] + ")", "(" + l["matrix"] + ")"}
	tests := []struct {
		name, src string
		data      WelcomeData
		want      []string
		not       []string
	}{
		{
			name: "first issue",
			src:  w.FirstIssue,
			data: WelcomeData{Kind: "issue"},
			want: append([]string{"@alice", "(" + l["contribute"] + ")", "(" + l["code_of_conduct"] + ")", "(" + l["community"] + ")", "(" + l["good_first_issues"] + ")"}, meetings...),
		},
		{
			name: "first pull request with modules",
			src:  w.FirstPR,
			data: WelcomeData{Kind: "pull request", Modules: []string{"IaaS", "area/storage"}},
			want: append([]string{
				"@alice", "It touches IaaS, area/storage.", "`git commit -s`", "`git commit --amend --signoff`", "`git rebase --signoff",
				"(" + l["dco"] + ")", "(" + l["contributor_docs"] + ")", "(" + l["code_of_conduct"] + ")", "(" + l["onboarding"] + ")",
			}, meetings...),
		},
		{
			name: "first pull request without modules",
			src:  w.FirstPR,
			data: WelcomeData{Kind: "pull request"},
			want: []string{"pull request! 🎉\n\n", "`git commit -s`"},
			not:  []string{"touches"},
		},
		{
			name: "first merged pull request",
			src:  w.FirstMerged,
			data: WelcomeData{Kind: "pull request"},
			want: []string{"@alice", "Congratulations", "(" + l["good_first_issues"] + ")"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.data.Login, tt.data.Repo, tt.data.Org, tt.data.Number, tt.data.Links = "alice", "SovereignCloudStack/standards", "SovereignCloudStack", 1, w.Links
			got, err := RenderWelcome(t.Context(), tt.name, tt.src, tt.data, MaxGreeting)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("message lacks %q:\n%s", s, got)
				}
			}
			for _, s := range append(tt.not, "<no value>", "{{", "\n\n\n") {
				if strings.Contains(got, s) {
					t.Errorf("message contains %q:\n%s", s, got)
				}
			}
			if n := strings.Count(strings.TrimSpace(got), "\n") + 1; n > 12 {
				t.Errorf("message has %d lines, want at most 12:\n%s", n, got)
			}
		})
	}
}

func TestCheckWelcomeTemplate(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{src: "Hi @{{.Login}} {{.Links.anything}}{{if .Modules}}{{join .Modules \", \"}}{{end}}"},
		{src: "Hi\n  {{.Logn}}", want: "t:2:5: unknown field .Logn (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)"},
		{src: "Hi\n{{end}}", want: "t:2: unexpected {{end}}"},
		{src: "{{.Logn}} {{.Titel}}", want: "t:1:3: unknown field .Logn (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)\n" +
			"t:1:13: unknown field .Titel (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)"},
		{src: " ", want: `t: renders as empty text; write "" to greet nobody on this occasion`},
	}
	for _, tt := range tests {
		err := CheckWelcomeTemplate("t", tt.src)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckWelcomeTemplate(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
	var te *TemplateError
	if err := CheckWelcomeTemplate("t", "a\nb {{.X}}"); !errors.As(err, &te) || te.Line != 2 || te.Column != 5 {
		t.Errorf("CheckWelcomeTemplate error %#v, want a *TemplateError at 2:5", err)
	}
	// As contribot runs templates, a link that no layer defines is empty.
	out, err := RenderWelcome(t.Context(), "t", "[x]({{.Links.none}}) {{join .Modules \"+\"}}", WelcomeData{Modules: []string{"a", "b"}, Links: map[string]string{}}, MaxGreeting)
	if err != nil || out != "[x]() a+b" {
		t.Errorf("rendered %q, %v; want \"[x]() a+b\"", out, err)
	}
}

// withoutPatterns is r without the compiled title expressions and path
// globs that Parse keeps for Merge, to compare with rules written out.
func withoutPatterns(r Rules) Rules {
	r.Labels.Rules = slices.Clone(r.Labels.Rules)
	for i := range r.Labels.Rules {
		rule := &r.Labels.Rules[i]
		rule.title, rule.any, rule.all = nil, nil, nil
	}
	return r
}
