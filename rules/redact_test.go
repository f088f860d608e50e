package rules

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The canary is text of a private file that must never reach a message
// about it: a value, a key, a number.
const (
	canary       = "SECRETcanary"
	canaryNumber = 987654
)

// canaryValues are the shapes a hostile value takes at any setting: each is
// wrong for some setting, or right in type and wrong in meaning.
var canaryValues = []any{
	canary,
	canaryNumber,
	-canaryNumber,
	[]any{canary, canaryNumber},
	map[string]any{canary: canary},
	"#" + canary,
	"/" + canary,
	canary + "[",
	canary + "{",
	canary + "(",
	"(?P<" + canary + ">",
	"https://" + canary + ".example/x",
	"https://github.com/" + canary + "/" + canary,
	canary + "/" + canary + ":../x",
	"{{" + canary + "}}",
	"{{." + canary + "}}",
	"{{printf \"%99999s\" ." + canary + "}}",
	"{{template \"" + canary + "\"}}",
	"x{{define \"" + canary + "\"}}{{end}}",
	"{{printf \"%[1]s" + canary + "\" 1}}",
	"{{\"" + canary + "\" | printf}}",
	"{{$" + canary + " := 1}}",
	"{{call ." + canary + "}}",
	"{{range ." + canary + "}}{{end}}",
	"{{if}}" + canary,
	"{{.Links." + canary + "}}",
	"{{index .Modules " + "9" + "}}" + canary,
	"-" + canary + "d",
	strings.Repeat(canary, 10),
}

// settingPaths lists every setting of t as a path of keys, with "" for a
// list entry and canary for a map key (a name the file's author chose).
func settingPaths(t reflect.Type, prefix []string, out *[][]string) {
	switch t.Kind() {
	case reflect.Struct:
		if t == durationType {
			break
		}
		for _, f := range fieldsOf(t) {
			settingPaths(t.Field(f.index).Type, append(append([]string{}, prefix...), f.name), out)
		}
		return
	case reflect.Map:
		*out = append(*out, prefix)
		settingPaths(t.Elem(), append(append([]string{}, prefix...), canary), out)
		return
	case reflect.Slice:
		*out = append(*out, prefix)
		settingPaths(t.Elem(), append(append([]string{}, prefix...), ""), out)
		return
	}
	*out = append(*out, prefix)
}

// nest writes v at path: a mapping per key, a one-entry list per "".
func nest(path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	inner := nest(path[1:], v)
	if path[0] == "" {
		return []any{inner}
	}
	return map[string]any{path[0]: inner}
}

// hostileFiles are files whose text must not be quoted: every setting with
// every canary value, unknown keys at every level, and files that are not
// rules files at all or not even YAML.
func hostileFiles(t *testing.T) map[string]string {
	files := map[string]string{
		"a .env file":                         canary + "=" + canary + "\nAWS_SECRET=" + canary + "\n",
		"an .env file with a colon":           "AWS_SECRET: " + canary + "\n",
		"an unclosed quote":                   "dco: '" + canary + "\n",
		"an unclosed flow list":               "x: [" + canary + "\n",
		"an unclosed flow mapping":            "x: {" + canary + ": 1\n",
		"a bad escape":                        "x: \"\\q" + canary + "\"\n",
		"an anchor and an alias":              "dco: &" + canary + " {}\nlabels: *" + canary + "\n",
		"an alias to no anchor":               "dco: *" + canary + "\n",
		"a duplicate unknown key":             canary + ": 1\n" + canary + ": 2\n",
		"a key with a colon in the text":      "dco:\n  " + canary + ": x: y\n",
		"a tab in the indentation":            "dco:\n\t" + canary + ": 1\n",
		"a control character":                 "x: " + canary + "\x01\n",
		"a list at the top":                   "- " + canary + "\n",
		"text at the top":                     canary + "\n",
		"a second document":                   "dco: {}\n---\n" + canary + ": 1\n",
		"a comment after a key":               "modules:\n  m:\n    color: #" + canary + "\n",
		"a tag":                               "dco: !" + canary + " x\n",
		"a block scalar with a bad indicator": "x: |0\n  " + canary + "\n",
		"a document marker inside":            "x: '\n--- " + canary + "'\n",
		// Shapes from the review of issue 11.
		"a %TAG directive":         "%TAG !" + canary + "! tag:" + canary + ",2000:\n---\ndco: !" + canary + "!x 1\n",
		"a %YAML directive":        "%YAML 9." + canary + "\n---\ndco: {}\n",
		"an unknown directive":     "%" + canary + " x\n---\ndco: {}\n",
		"a verbatim tag":           "dco: !<tag:" + canary + "> 1\n",
		"a bad tag URI":            "dco: !<" + canary + "\n",
		"a complex key":            "? " + canary + "\n: 1\n",
		"a long simple key":        strings.Repeat(canary, 200) + ": 1\n",
		"an anchor on a key":       "&" + canary + " dco: {}\n",
		"an alias as a key":        "a: &" + canary + " x\n*" + canary + " : 1\n",
		"a merge key":              "x: &" + canary + " {enabled: true}\ndco:\n  <<: *" + canary + "\n",
		"a unicode escape":         "dco: \"\\u" + canary + "\"\n",
		"a mapping as a key":       "dco: {{" + canary + ": 1}: 2}\n",
		"a list as a key":          "[" + canary + "]: 1\n",
		"a BOM inside":             "dco: \ufeff" + canary + "\n",
		"junk after a document":    "dco: {}\n... " + canary + "\n",
		"a glob of alternatives":   "labels:\n  rules:\n    - files: {any: ['{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}" + canary + "']}\n      modules: [x]\n",
		"named groups twice":       "labels:\n  rules:\n    - title: '(?P<" + canary + ">x)(?P<" + canary + ">y)'\n      modules: [x]\n",
		"a template chained":       "welcome:\n  first_issue: '{{.Links." + canary + "." + canary + "}}'\n",
		"a template block":         "welcome:\n  first_issue: '{{block \"" + canary + "\" .}}x{{end}}'\n",
		"a template wide printf":   "welcome:\n  first_issue: '{{printf \"%9999s" + canary + "\" \"\"}}'\n",
		"a template with bad utf8": "welcome:\n  first_issue: \"{{\\\"" + canary + "\\xff\\\"}}\"\n",
	}
	var paths [][]string
	settingPaths(reflect.TypeFor[Rules](), nil, &paths)
	for _, p := range paths {
		for i, v := range append(canaryValues, nil) {
			doc := nest(p, v)
			b, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.Join(p, ".")+"="+string(rune('a'+i))] = string(b)
		}
		// An unknown key beside the setting.
		if len(p) > 0 && p[len(p)-1] != "" && p[len(p)-1] != canary {
			b, _ := yaml.Marshal(nest(append(append([]string{}, p[:len(p)-1]...), canary), canary))
			files[strings.Join(p, ".")+" unknown key"] = string(b)
		}
	}
	return files
}

// An org admin's, or any other repository's, file is read with the org's
// installation; its problems are shown in every repository's DCO check run
// and logs. A repository maintainer who names a private file there (or an
// org whose private .github holds something else) must learn only where
// the file is wrong, never what it says.
func TestParseRedacted_RepositoryMaintainerLearnsNoTextOfAnotherRepositorysFile(t *testing.T) {
	parsers := map[string]func(string, []byte) (*File, error){
		"contribot.yml": ParseRedacted,
		"dco.yml":       ParseProbotDCORedacted,
	}
	files := hostileFiles(t)
	failed := 0
	for pname, parse := range parsers {
		for name, text := range files {
			_, err := parse("org/private:.env", []byte(text))
			if err == nil {
				continue
			}
			for _, e := range asErrors("org/private:.env", err) {
				msg := e.Error()
				if strings.Contains(strings.ToLower(msg), "canary") || strings.Contains(msg, "987654") {
					if failed++; failed <= 20 {
						t.Errorf("%s, %s: message quotes the file:\n  %s\nfile:\n%s", pname, name, msg, text)
					}
				}
				if e.File != "org/private:.env" || (e.Line == 0 && !strings.Contains(e.Msg, "KiB")) {
					t.Errorf("%s, %s: message %q is not positioned", pname, name, msg)
				}
			}
		}
	}
	if failed > 20 {
		t.Errorf("... and %d more", failed-20)
	}
}

// The redacted messages still say what is wrong and where.
func TestParseRedacted_MessagesStayActionable(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"an .env file", "AWS_SECRET=" + canary + "\n",
			[]string{"o/r:f:1:1: want a mapping of sections at the top level (such as dco:), got text"}},
		{"unknown key", "dco:\n  " + canary + ": true\n",
			[]string{"o/r:f:2:3: unknown key (not shown) in dco (known: enabled, require, remediation, skip_bots, allow, recheck_command, override)"}},
		{"wrong type", "dco:\n  enabled: " + canary + "\n",
			[]string{"o/r:f:2:12: dco.enabled: want a boolean (true or false), got text"}},
		{"module names are hidden in paths", "modules:\n  " + canary + ":\n    color: nope\n",
			[]string{`o/r:f:3:12: modules.*.color: want 6 hex digits such as "c5def5", got (not shown)`}},
		{"YAML syntax", "dco: '" + canary + "\n",
			[]string{"o/r:f:2: YAML syntax error: found unexpected end of stream"}},
		{"alias", "dco: *" + canary + "\n",
			[]string{"o/r:f:1:6: YAML alias: aliases and anchors are not allowed in rules files; write the value out"}},
		{"regexp", "labels:\n  rules:\n    - title: '" + canary + "('\n      modules: [a]\n",
			[]string{"o/r:f:3:14: labels.rules[0].title: not a regular expression: missing closing )"}},
		{"template", "welcome:\n  first_pr: '{{." + canary + "}}'\n",
			[]string{"o/r:f:2:16: welcome.first_pr: unknown field (known: .Login, .Repo, .Org, .Kind, .Number, .Title, .URL, .Modules, .Links)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRedacted("o/r:f", []byte(tt.in))
			var got []string
			for _, e := range asErrors("o/r:f", err) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// A length is text too: "has 64 characters" tells a hidden value's length,
// a token's say. Over a limit, a redacted message says "too long" or "too
// many", and only the limit; the repository's own file shows the count.
func TestParseRedacted_RepositoryMaintainerLearnsNoLengthOfAnotherRepositorysValue(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	glob := "labels:\n  rules:\n    - modules: [m]\n      files: {any: ['%s']}\n"
	tests := []struct{ name, file, length string }{
		{"a label", "welcome:\n  label: " + long(77) + "\n", "77"},
		{"a module's name as its label", "modules:\n  " + long(66) + ": {}\n", "66"},
		{"a description", "modules:\n  m: {description: " + long(177) + "}\n", "177"},
		{"a glob", fmt.Sprintf(glob, long(277)), "277"},
		{"a glob's **", fmt.Sprintf(glob, strings.Repeat("**/", 7)+"x"), "7"},
		{"a title expression", "labels:\n  rules:\n    - modules: [m]\n      title: " + long(577) + "\n", "577"},
		{"a title program", "labels:\n  rules:\n    - modules: [m]\n      title: '(?:abc){400}'\n", "1202"},
		{"a template", "welcome:\n  first_pr: " + long(16999) + "\n", "16999"},
		{"a link", "welcome:\n  links:\n    a: https://example.org/" + long(2777) + "\n", "2797"},
		{"a dashboard title", "upstream:\n  dashboard: {repo: o/r, title: " + long(377) + "}\n", "377"},
		{"links", "welcome:\n" + hostileLinks(61), "61"},
		{"modules", modulesFile(211, 0, 0, 0), "211"},
		{"implies", modulesFile(1, 66, 0, 0), "66"},
		{"label rules", labelRules(repeat(233, func(int) string { return "      repos: [x]\n" })...), "233"},
		{"the file", "#" + long(MaxFileSize+1233) + "\n", fmt.Sprint(MaxFileSize + 1235)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, own := Parse("f", []byte(tt.file))
			_, other := ParseRedacted("o/.github:f", []byte(tt.file))
			if own == nil || !strings.Contains(own.Error(), tt.length) {
				t.Fatalf("the repository's own file does not show the length %s: %v", tt.length, own)
			}
			for _, e := range asErrors("o/.github:f", other) {
				if strings.Contains(e.Msg, tt.length) {
					t.Errorf("redacted message shows the length: %s", e)
				}
			}
		})
	}
}
