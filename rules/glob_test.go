package rules

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// doublestarCases are the pattern and name pairs of doublestar's own
// match tests (v4.10.4, matchTests in doublestar_test.go).
var doublestarCases = [][2]string{
	{"", ""},
	{"*", ""},
	{"*", "/"},
	{"/*", "/"},
	{"/*", "/debug/"},
	{"/*", "//"},
	{"abc", "abc"},
	{"*", "abc"},
	{"*c", "abc"},
	{"*/", "a/"},
	{"a*", "a"},
	{"a*", "abc"},
	{"a*", "ab/c"},
	{"a*/b", "abc/b"},
	{"a*/b", "a/c/b"},
	{"a*/c/", "a/b"},
	{"a*b*c*d*e*", "axbxcxdxe"},
	{"a*b*c*d*e*/f", "axbxcxdxe/f"},
	{"a*b*c*d*e*/f", "axbxcxdxexxx/f"},
	{"a*b*c*d*e*/f", "axbxcxdxe/xxx/f"},
	{"a*b*c*d*e*/f", "axbxcxdxexxx/fff"},
	{"a*b?c*x", "abxbbxdbxebxczzx"},
	{"a*b?c*x", "abxbbxdbxebxczzy"},
	{"ab[c]", "abc"},
	{"ab[b-d]", "abc"},
	{"ab[e-g]", "abc"},
	{"ab[^c]", "abc"},
	{"ab[^b-d]", "abc"},
	{"ab[^e-g]", "abc"},
	{"a\\*b", "ab"},
	{"a?b", "a☺b"},
	{"a[^a]b", "a☺b"},
	{"a[!a]b", "a☺b"},
	{"a???b", "a☺b"},
	{"a[^a][^a][^a]b", "a☺b"},
	{"[a-ζ]*", "α"},
	{"*[a-ζ]", "A"},
	{"a?b", "a/b"},
	{"a*b", "a/b"},
	{"[\\]a]", "]"},
	{"[\\-]", "-"},
	{"[x\\-]", "x"},
	{"[x\\-]", "-"},
	{"[x\\-]", "z"},
	{"[\\-x]", "x"},
	{"[\\-x]", "-"},
	{"[\\-x]", "a"},
	{"[]a]", "]"},
	{"[-]", "-"},
	{"[x-]", "x"},
	{"[x-]", "-"},
	{"[x-]", "z"},
	{"[-x]", "x"},
	{"[-x]", "-"},
	{"[-x]", "a"},
	{"[a-b-d]", "a"},
	{"[a-b-d]", "b"},
	{"[a-b-d]", "-"},
	{"[a-b-d]", "c"},
	{"[a-b-x]", "x"},
	{"\\", "a"},
	{"[", "a"},
	{"[^", "a"},
	{"[^bc", "a"},
	{"a[", "a"},
	{"a[", "ab"},
	{"ad[", "ab"},
	{"*x", "xxx"},
	{"[abc]", "b"},
	{"[abc123]", "1"},
	{"[a-z0-9]", "1"},
	{"**", ""},
	{"a/**", "a"},
	{"a/**/", "a"},
	{"a/**", "a/"},
	{"a/**/", "a/"},
	{"a/**", "a/b"},
	{"a/**", "a/b/c"},
	{"**/c", "c"},
	{"**/c", "b/c"},
	{"**/c", "a/b/c"},
	{"**/c", "a/b"},
	{"**/c", "abcd"},
	{"**/c", "a/abc"},
	{"a/**/b", "a/b"},
	{"a/**/c", "a/b/c"},
	{"a/**/d", "a/b/c/d"},
	{"a/\\**", "a/b/c"},
	{"a/\\[*\\]", "a/bc"},
	{"a/b/c", "a/b//c"},
	{"a/", "a"},
	{"ab{c,d}", "abc"},
	{"ab{c,d,*}", "abcde"},
	{"ab{c,d}[", "abcd"},
	{"a{,bc}", "a"},
	{"a{,bc}", "abc"},
	{"a/{b/c,c/b}", "a/b/c"},
	{"a/{b/c,c/b}", "a/c/b"},
	{"a/a*{b,c}", "a/abc"},
	{"{a/{b,c},abc}", "a/b"},
	{"{a/{b,c},abc}", "a/c"},
	{"{a/{b,c},abc}", "abc"},
	{"{a/{b,c},abc}", "a/b/c"},
	{"{a/ab*}", "a/abc"},
	{"{a/*}", "a/b"},
	{"{a/abc}", "a/abc"},
	{"{a/b,a/c}", "a/c"},
	{"abc/**", "abc/b"},
	{"**/abc", "abc"},
	{"a{**/b,bcd}", "a/c/b"},
	{"a{bcd,**/b}", "a/c/b"},
	{"a/{**/b,abc}", "a/c/b"},
	{"abc**", "abc/b"},
	{"**/*.txt", "abc/【test】.txt"},
	{"**/【*", "abc/【test】.txt"},
	{"**/{a,b}", "a/b"},
	{"{[a,b]bcd,a/abc}", "abcd"},
	{"{[a,b]bcd,a/abc}", "a/abc"},
	{"{[a,b]bcd,a/abc}", "abcde"},
	{"{[}],a}", "}"},
	{"{[}],a}", "a"},
	{"{[}],a}", "b"},
	{"a/*/*/d", "a/b/c/d"},
	{"symlinks/broken-symlink", "symlinks/broken-symlink"},
	{"symlinks/broken-symlink/*", "a"},
	{"symlinks/broken*/*", "a"},
	{"symlinks/**/f", "symlinks/symlink-dir/f"},
	{"symlinks/*/xxx/*", "symlinks/symlink-dir/xxx/f"},
	{"*/symlink-dir/*", "symlinks/symlink-dir/f"},
	{"e/\\[x\\]/*", "e/[x]/[y]"},
	{"e/\\[x\\]/*/z", "e/[x]/[y]/z"},
	{"e/**/{z,other}", "e/[x]/[y]/z"},
	{"f/\\{a,b\\}/{c,other*}", "f/{a,b}/c"},
	{"f/\\*/{a,other*}", "f/*/a"},
	{"f/\\?/{a,other*}", "f/?/a"},
	{"e/**", "e/**"},
	{"e/**", "e/*"},
	{"e/**", "e/?"},
	{"e/**", "e/["},
	{"e/**", "e/]"},
	{"e/**", "e/[]"},
	{"e/**", "e/{"},
	{"e/**", "e/}"},
	{"e/**", "e/\\"},
	{"e/*", "e/*"},
	{"e/?", "e/?"},
	{"e/?", "e/*"},
	{"e/?", "e/["},
	{"e/?", "e/]"},
	{"e/?", "e/{"},
	{"e/?", "e/}"},
	{"e/\\[", "e/["},
	{"e/[", "e/["},
	{"e/]", "e/]"},
	{"e/\\]", "e/]"},
	{"e/\\{", "e/{"},
	{"e/\\}", "e/}"},
	{"e/[\\*\\?]", "e/*"},
	{"e/[\\*\\?]", "e/?"},
	{"e/[\\*\\?]", "e/**"},
	{"e/[\\*\\?]?", "e/**"},
	{"e/{\\*,\\?}", "e/*"},
	{"e/{\\*,\\?}", "e/?"},
	{"e/\\*", "e/*"},
	{"e/\\?", "e/?"},
	{"e/\\?", "e/**"},
	{"*\\}", "}"},
	{"case-sensitive/fi*", "case-sensitive/file"},
	{"case-sensitive/FI*", "case-sensitive/FILE"},
	{"case-sensitive/Fi*", "case-sensitive/File"},
	{"case-sensitive/[f]*", "case-sensitive/file"},
	{"case-sensitive/[a-z]*", "case-sensitive/file"},
	{"nonexistent-path", "a"},
	{"nonexistent-path/", "a"},
	{"nonexistent-path/file", "a"},
	{"nonexistent-path/*", "a"},
	{"nonexistent-path/**", "a"},
	{"nopermission/*", "nopermission/file"},
	{"nopermission/dir/", "nopermission/dir"},
	{"nopermission/file", "nopermission/file"},
	{"hidden-tests/.*", "hidden-tests/.hidden-file"},
	{"hidden-tests/?hidden*", "hidden-tests/.hidden-file"},
	{"hidden-tests/*", "hidden-tests/visible-file"},
	{"hidden-tests/**", "hidden-tests/.hidden-dir/.hidden-file"},
	{"hidden-tests/**", "hidden-tests/hidden-dir/hidden-file"},
	{"hidden-tests/.hidden-dir/*", "hidden-tests/.hidden-dir/.hidden-file"},
	{"hidden-tests/hidden-dir/*", "hidden-tests/hidden-dir/hidden-file"},
}

// projectGlobs are the globs of the built-in rules, the README and the
// labels tests, and shapes at the edges of doublestar's reading of "**",
// braces and names that run out.
var projectGlobs = []string{
	"Standards/scs-?1??-*", "Tests/iaas/**", "Standards/scs-{0110,0114,0117,0119,0211}-*", "Drafts/*monitoring*",
	"docs/02-iaas/**", "community/**", "**/*.md", "*.md", "Standards/scs-0110-*", "**/*[bcdefghijk]",
	"a/**", "a/**/", "**/", "/**", "**", "*", "a**/", "a*/**", "**/**", "**/**/", "a/**/**", "a/**/b/**/c",
	"x/**{/y,}", "x/**{,/y}", "{**/,}x", "{a,**}/b", "a*{b,}", "a{,*}", "{,a}{,b}", "a/{b,**}", "a/{**,b}/c",
	"{a,{b,c}}/**", `\*`, `a\/**/b`, "[!/.]*", "[^/]x", "[a-c]/*", "*?", "?*", "**a", "***", "a/***/b",
	"{/**,}", "{**/,}", "a{/**/,}", "{a/**,b}", "**/x{,/**}", "[,{]a", "{[,]a,b}", "*/**/*",
}

// globNames are paths for projectGlobs.
var globNames = []string{
	"a", "a/", "a/b", "a/b/c", "a/b/", "ab", "b", "x", "x/", "x/y", "xy", "x/y/z", "a/b/x/c", "/a", "//", "/",
	"README.md", "docs/a.md", "docs/02-iaas/x", "docs/02-iaas", "docs/02-iaass/x", "Standards/scs-0110-v1.md",
	"Standards/scs-0210-v1.md", "Standards/scs-1110-v1/x", "Tests/iaas", "Tests/iaas/", "community/x/y.md",
	"Drafts/a-monitoring-b.md", "a/x/b/y/c", ".md", "a/.b", "*", ",a", "{a", "a,b", "a/b/c/x", "aaab",
}

// Every glob matches what doublestar.Match matches: doublestar's own
// cases and the project's, each glob against every name.
func TestGlobRegexp(t *testing.T) {
	check := func(glob, name string) {
		if name == "" || !doublestar.ValidatePattern(glob) || globMatchProblem(glob) != "" {
			return // paths are never empty; such globs are refused when the rules load
		}
		re, _, err := globProgram(glob)
		if err != nil {
			t.Errorf("globProgram(%q): %v", glob, err)
			return
		}
		want, _ := doublestar.Match(glob, name)
		if got := re.MatchString(name); got != want {
			t.Errorf("glob %q, name %q: matches %v, doublestar says %v (expression %s)", glob, name, got, want, re)
		}
	}
	for _, c := range doublestarCases {
		check(c[0], c[1])
	}
	names := globNames
	for _, c := range doublestarCases {
		names = append(names, c[1])
	}
	for _, g := range append(projectGlobs, doublestarGlobs()...) {
		for _, n := range names {
			check(g, n)
		}
	}
}

func doublestarGlobs() []string {
	var out []string
	for _, c := range doublestarCases {
		out = append(out, c[0])
	}
	return out
}

// FuzzGlobRegexp holds the translation to doublestar.Match for any glob a
// rules file may hold and any path.
func FuzzGlobRegexp(f *testing.F) {
	for _, g := range projectGlobs {
		f.Add(g, "a/b/c.md")
	}
	for _, c := range doublestarCases {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		// Rules files are UTF-8 (Parse refuses others), and so are paths
		// decoded from GitHub's JSON.
		if name == "" || !utf8.ValidString(glob) || !utf8.ValidString(name) || len(glob) > MaxGlobLength || strings.Count(glob, "**") > MaxGlobDoubleStars ||
			!doublestar.ValidatePattern(glob) || GlobExpansions(glob) > MaxGlobExpansions || globMatchProblem(glob) != "" {
			return
		}
		re, _, err := globProgram(glob)
		if err != nil {
			t.Fatalf("globProgram(%q): %v", glob, err)
		}
		want, _ := doublestar.Match(glob, name)
		if got := re.MatchString(name); got != want {
			t.Errorf("glob %q, name %q: matches %v, doublestar says %v (expression %s)", glob, name, got, want, re)
		}
	})
}

// Every glob of up to four tokens over a small alphabet, against every
// name of up to four characters over "a", "b" and "/": small, but every
// interplay of "*", "**", "?", classes, braces and "/" that fits.
func TestGlobRegexp_SmallScope(t *testing.T) {
	testGlobsExhaustively(t, 4, 4)
}

func testGlobsExhaustively(t *testing.T, globTokens, nameLen int) {
	tokens := []string{"a", "/", "*", "?", "{", ",", "}", "[ab]", "[!/a]"}
	var names []string
	var grow func(string)
	grow = func(n string) {
		if n != "" {
			names = append(names, n)
		}
		if len(n) < nameLen {
			for _, c := range []string{"a", "b", "/"} {
				grow(n + c)
			}
		}
	}
	grow("")
	checked, failed := 0, 0
	var walk func(string, int)
	walk = func(glob string, depth int) {
		if doublestar.ValidatePattern(glob) && globMatchProblem(glob) == "" {
			re, _, err := globProgram(glob)
			if err != nil {
				t.Fatalf("globProgram(%q): %v", glob, err)
			}
			checked++
			for _, n := range names {
				want, _ := doublestar.Match(glob, n)
				if got := re.MatchString(n); got != want {
					if failed++; failed <= 20 {
						t.Errorf("glob %q, name %q: matches %v, doublestar says %v (expression %s)", glob, n, got, want, re)
					}
				}
			}
		}
		if depth < globTokens {
			for _, tok := range tokens {
				walk(glob+tok, depth+1)
			}
		}
	}
	walk("", 0)
	t.Logf("%d globs against %d names", checked, len(names))
}
