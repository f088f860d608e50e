package labels

import (
	"fmt"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/rules"
)

// BenchmarkDecide measures one decision with the built-in SCS rules on
// the standards repository, whose path rules are the most numerous, and
// with hostile rules files as costly as a rules file may be.
func BenchmarkDecide(b *testing.B) {
	r := rules.Merge(rules.BuiltinLayer()).Rules
	r.Labels.MaxFiles = 0
	for _, n := range []int{10, 300, 3000} {
		files := make([]File, n)
		for i := range files {
			files[i] = File{Path: fmt.Sprintf("Standards/scs-%04d-v1-x.md", i%600)}
		}
		in := Input{Repo: "SovereignCloudStack/standards", Files: files, ChangedFiles: n, FilesListed: true}
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			for b.Loop() {
				Decide(&r, in)
			}
		})
	}
	for _, h := range hostileRules {
		r := hostileMerged(b, h.file)
		in := h.pr()
		b.Run(h.name, func(b *testing.B) {
			for b.Loop() {
				Decide(r, in)
			}
		})
	}
}

// hostilePR is any GitHub user's pull request: a title of GitHub's maximum
// length, and 3,000 renamed files with long paths of one letter, on which
// star globs backtrack most.
func hostilePR() Input {
	longPath := strings.Repeat("a", 120) + "/" + strings.Repeat("a", 120)
	in := Input{Repo: "o/r", Title: strings.Repeat("ab", 128), ChangedFiles: GitHubFileCap, FilesListed: true}
	for i := range GitHubFileCap {
		in.Files = append(in.Files, File{Path: fmt.Sprintf("%s%d", longPath, i), Previous: fmt.Sprintf("%s%dx", longPath, i)})
	}
	return in
}

// longPathsPR is any GitHub user's pull request of 3,000 files, each path
// segment bytes long in four segments (issue 11 review, B4).
func longPathsPR(segment int) func() Input {
	return func() Input {
		seg := strings.Repeat("a", segment)
		path := seg + "/" + seg + "/" + seg + "/" + seg
		in := Input{Repo: "o/r", ChangedFiles: GitHubFileCap, FilesListed: true}
		for i := range GitHubFileCap {
			in.Files = append(in.Files, File{Path: fmt.Sprintf("%s%04d", path[:len(path)-4], i)})
		}
		return in
	}
}

// hostileRules are rules files that a repository maintainer writes to make
// every labels decision of the repository expensive, each at the limits
// the parser allows, with the pull request that costs them most.
var hostileRules = []struct {
	name, file string
	pr         func() Input
}{
	{"a maintainer's title regexps at the limits", hostileFile(5, func(i int) string {
		return fmt.Sprintf("    title: '(?i)(?:ab|ba|x%d){100}c'\n", i)
	}), hostilePR},
	{"a maintainer's path globs at the limits", hostileFile(10, func(int) string {
		var b strings.Builder
		b.WriteString("    files:\n      any:\n")
		for range 30 {
			b.WriteString("        - '*a*a*a*a*a*a*a*b'\n")
		}
		return b.String()
	}), hostilePR},
	{"a maintainer's long literal globs on 1 KB paths", hostileFile(1, func(int) string {
		return "    files:\n      any: ['**/*" + strings.Repeat("a", 195) + "b', '**/*" + strings.Repeat("a", 195) + "c', '**/*" + strings.Repeat("a", 195) + "d']\n"
	}), longPathsPR(250)},
	{"a maintainer's star globs just within MaxGlobWork", hostileFile(1, func(int) string {
		return "    files:\n      any: [" + strings.TrimSuffix(strings.Repeat("'**/*a*a*a*a*a*a*a*b', ", 8), ", ") + "]\n"
	}), func() Input {
		in := Input{Repo: "o/r", ChangedFiles: GitHubFileCap, FilesListed: true}
		for i := range GitHubFileCap {
			in.Files = append(in.Files, File{Path: fmt.Sprintf("%s%04d", strings.Repeat("a", 36), i)})
		}
		return in
	}},
	{"a maintainer's class globs on 250-byte paths", hostileFile(1, func(int) string {
		return "    files:\n      any: [" + strings.TrimSuffix(strings.Repeat("'*["+strings.Repeat("bcdefghijk", 19)+"]', ", 13), ", ") + "]\n"
	}), longPathsPR(62)},
}

// hostileFile is a rules file with n label rules, each with what rule(i)
// writes, giving one module.
func hostileFile(n int, rule func(i int) string) string {
	var b strings.Builder
	b.WriteString("modules:\n  m: {}\nlabels:\n  max_files: 0\n  rules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - modules: [m]\n%s", rule(i))
	}
	return b.String()
}

func hostileMerged(b *testing.B, text string) *rules.Rules {
	f, err := rules.Parse(".github/contribot.yml", []byte(text))
	if err != nil {
		b.Fatalf("the hostile file does not parse: %v", err)
	}
	return &rules.Merge(rules.BuiltinLayer(), rules.Layer{Kind: rules.LayerRepo, File: f}).Rules
}
