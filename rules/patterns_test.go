package rules

import (
	"fmt"
	"strings"
	"testing"
)

func TestGlobExpansions(t *testing.T) {
	tests := map[string]int{
		"a":                    1,
		"Standards/scs-?1??-*": 1,
		"{a,b}":                2,
		"{a,b}{c,d,e}":         6,
		"{a,{b,c}}":            3,
		"{a,{b,c}}/{d,e}":      6,
		`\{a,b}`:               1,
		"[{]a,b":               1,
		"{a,b}/{c,d}/**":       4,
		"Standards/scs-{0110,0114,0117,0119,0211}-*": 5,
		strings.Repeat("{a,a}", 40):                  MaxGlobExpansions * MaxGlobs,
	}
	for in, want := range tests {
		if got := GlobExpansions(in); got != want {
			t.Errorf("GlobExpansions(%q) = %d, want %d", in, got, want)
		}
	}
}

// labelRules is a labels section with the given rules, each giving module m.
func labelRules(rules ...string) string {
	var b strings.Builder
	b.WriteString("labels:\n  rules:\n")
	for _, r := range rules {
		b.WriteString("    - modules: [m]\n" + r)
	}
	return b.String()
}

func repeat(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// A repository maintainer writes patterns that make every labels decision
// of the repository expensive: each limit is reported where it is crossed.
func TestParse_RepositoryMaintainersCostlyPatternsAreRefused(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
	}{
		{"201 label rules", labelRules(repeat(MaxLabelRules+1, func(int) string { return "      repos: [x]\n" })...),
			".github/contribot.yml:404:7: labels.rules: 201 rules; a rules file may have at most 200"},
		{"a glob of 201 bytes", labelRules("      files: {any: ['" + strings.Repeat("a", 201) + "']}\n"),
			".github/contribot.yml:5:21: labels.rules[0].files.any[0]: 201 bytes; a glob may have at most 200"},
		{"five **", labelRules("      repos: ['**/**/**/**/**']\n"),
			`.github/contribot.yml:5:15: labels.rules[0].repos[0]: 5 "**"; a glob may have at most 4`},
		{"{a,a} six times: 64 patterns, 2^n to match", labelRules("      files: {all: ['" + strings.Repeat("{a,a}", 6) + "']}\n"),
			".github/contribot.yml:5:21: labels.rules[0].files.all[0]: its {…} alternatives expand to more than 32 patterns; write fewer alternatives, or several globs"},
		{"501 glob patterns in one file", labelRules(repeat(17, func(int) string {
			return "      files: {any: [" + strings.Join(repeat(30, func(i int) string { return fmt.Sprintf("'d%d/*'", i) }), ", ") + "]}\n"
		})...),
			".github/contribot.yml:37:191: labels.rules[16].files.any[20]: the file's globs come to more than 500 patterns here (counting each {…} alternative); a rules file may have at most 500"},
		{"a glob of 32 expansions of 150 bytes: 4,000 instructions", labelRules("      files: {any: ['{a,b}{c,d}{e,f}{g,h}{i,j}" + strings.Repeat("x", 150) + "']}\n"),
			".github/contribot.yml:5:21: labels.rules[0].files.any[0]: compiles to 4897 instructions; a glob may have at most 2000 (each {…} alternative and each \"*\" before the end adds to it)"},
		{"path globs of more than 20,000 instructions in one file", labelRules(repeat(12, func(i int) string {
			return fmt.Sprintf("      files: {any: ['{a,b}{c,d}{e,f}%d%s', '{a,b}{c,d}{e,f}%d%s', '{a,b}{c,d}{e,f}%d%s']}\n", i, strings.Repeat("x", 180), i, strings.Repeat("y", 180), i, strings.Repeat("z", 180))
		})...),
			".github/contribot.yml:13:221: labels.rules[4].files.any[1]: the file's path globs compile to more than 20000 instructions together here; a rules file may have at most 20000"},
		{"a title of 501 bytes", labelRules("      title: '" + strings.Repeat("a", 501) + "'\n"),
			".github/contribot.yml:5:14: labels.rules[0].title: 501 bytes; a title expression may have at most 500"},
		{"the title expressions of issue 11: 8,003 instructions each", labelRules("      title: '(?i)(?:ab|ba|x1){1000}c'\n"),
			".github/contribot.yml:5:14: labels.rules[0].title: compiles to 8003 instructions; a title expression may have at most 1000 (counted repetitions such as {100} multiply it)"},
		{"seven titles of 803 instructions", labelRules(repeat(7, func(i int) string { return fmt.Sprintf("      title: '(?i)(?:ab|ba|x%d){100}c'\n", i) })...),
			".github/contribot.yml:17:14: labels.rules[6].title: the file's title expressions compile to more than 5000 instructions together here; a rules file may have at most 5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(repoFile, []byte("modules: {m: {}}\n"+tt.in))
			got := asErrors(repoFile, err)
			if len(got) != 1 || got[0].Error() != tt.want {
				t.Errorf("errors = %q\nwant %q", got, tt.want)
			}
		})
	}
	// The built-in rules are well within every limit.
	if _, err := Parse(BuiltinName, Builtin()); err != nil {
		t.Fatal(err)
	}
}

// Decisions match the expression compiled when the rules loaded: matching
// allocates nothing, where compiling would allocate kilobytes each time.
func TestMerge_TitleExpressionsAreCompiledOnce(t *testing.T) {
	f, err := Parse(repoFile, []byte("modules: {m: {}}\n"+labelRules("      title: '(?i)(?:ab|ba){20}c'\n")))
	if err != nil {
		t.Fatal(err)
	}
	rule := Merge(BuiltinLayer(), Layer{Kind: LayerRepo, File: f}).Rules.Labels.Rules[0]
	if !rule.MatchTitle(strings.Repeat("ab", 20)+"c") || rule.MatchTitle("docs") {
		t.Fatal("the compiled expression does not match as written")
	}
	title := strings.Repeat("ba", 30)
	// Matching may allocate a little (regexp keeps its matchers in a
	// sync.Pool, which the race detector empties at random); compiling
	// costs far more, which is what this tells apart.
	compiling := testing.AllocsPerRun(20, func() { _, _ = compileTitle(rule.Title) })
	if n := testing.AllocsPerRun(50, func() { rule.MatchTitle(title) }); n*4 > compiling {
		t.Errorf("MatchTitle allocates %v times a call, compiling %v: the expression is compiled per decision", n, compiling)
	}
}

// Path globs are matched as doublestar reads them, by RE2 (see glob.go);
// the few globs doublestar reads in ways no expression can follow are
// refused where they are written, with what to write instead.
func TestParse_GlobsDoublestarReadsDifferentlyAreRefused(t *testing.T) {
	tests := []struct{ glob, want string }{
		{"docs/[!.]*", `"docs/[!.]*" is not supported: a class [^…] or [!…] must list "/" among what it does not match, such as [^/.]: a class matches one character within a path segment`},
		{"a[/]b", `"a[/]b" is not supported: a class [...] must not list "/": a class matches one character within a path segment`},
		{"docs/*{a,b}", `"docs/*{a,b}" is not supported: "{" right after "*": doublestar reads "*{" and "**{" differently from the patterns they expand to; write the "*" inside each alternative`},
		{"docs/{**,README.md}", `"docs/{**,README.md}" is not supported: an alternative after "/" that leaves only "*" and "/" (such as "a/{**,b}"): doublestar matches it differently from the pattern it expands to; write it as two globs`},
		{"docs/**/", `"docs/**/" is not supported: it ends in "/", and changed paths name files, never directories: drop the final "/" (write dir/** for what is under dir)`},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			_, err := Parse(repoFile, []byte("modules: {m: {}}\n"+labelRules("      files: {any: ['"+tt.glob+"']}\n")))
			want := ".github/contribot.yml:5:21: labels.rules[0].files.any[0]: " + tt.want
			if got := asErrors(repoFile, err); len(got) != 1 || got[0].Error() != want {
				t.Errorf("errors = %q\nwant %q", got, want)
			}
		})
	}
	// Classes without "/", braces elsewhere, and repository globs (matched
	// by doublestar on names of at most 140 bytes) are fine.
	ok := labelRules("      repos: ['o/*{a,b}']\n      files: {any: ['docs/[^/.]*', '*.{yml,yaml}', '{a,b}/**', 'src/**/*_test.go']}\n")
	if _, err := Parse(repoFile, []byte("modules: {m: {}}\n"+ok)); err != nil {
		t.Error(err)
	}
}

// Decisions match the globs compiled when the rules loaded, without
// compiling or allocating.
func TestMerge_PathGlobsAreCompiledOnce(t *testing.T) {
	f := mustParse(t, repoFile, "modules: {m: {}}\n"+labelRules("      files: {any: ['docs/**', '**/*.md'], all: ['Standards/scs-{0110,0114}-*']}\n"))
	rule := Merge(BuiltinLayer(), Layer{Kind: LayerRepo, File: f}).Rules.Labels.Rules[0]
	if !rule.MatchAny("docs/a/b") || !rule.MatchAny("x/y.md") || rule.MatchAny("src/x.go") || !rule.MatchAll("Standards/scs-0114-v1.md") || rule.MatchAll("Standards/scs-0115-v1.md") {
		t.Fatal("the compiled globs do not match as written")
	}
	if n := testing.AllocsPerRun(50, func() { rule.MatchAny("src/deep/path/to/a/file.go") }); n != 0 {
		t.Errorf("MatchAny allocates %v times a call: the globs are compiled per decision", n)
	}
	if rule.GlobProgram() == 0 {
		t.Error("GlobProgram is 0")
	}
}
