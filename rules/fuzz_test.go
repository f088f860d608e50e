package rules

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(Builtin())
	for _, s := range []string{
		"",
		"dco:\n  enabled: yes\n",
		"extends: a/b:c.yml\nlocked: [dco]\n",
		"dco: &a {allow: *a}\n",
		"dco:\n  allow:\n    logins: [a, [b], {c: d}]\n",
		"a: [1, 2\n",
		"- a\nb: 1\n",
		"dco: {}\n---\nx: 1\n",
		"require:\n  members: false\nallowRemediationCommits: {thirdParty: true}\n",
		"\xef\xbb\xbfdco: {}\n",
		"? !!binary aGk=\n: !!int x\n",
		"modules:\n  dns: {label: area/dns, color: \"#ff0000\", implies: [ops, nope]}\n  \"\": {}\n",
		"labels:\n  sync: managed\n  max_files: -1\n  max_labels: 0x7fffffffffffffff\n  size: {enabled: true, thresholds: {S: 50, M: 1_0}}\n",
		"labels:\n  rules:\n    - repos: [\"a/[\", \"{x\"]\n      files: {any: [/x], all: [\"**\"]}\n      title: \"(?P<x\"\n      modules: [stroage]\n    -\n",
		"locked: [labels, modules]\nmodules:\n  x: {implies: [x]}\nlabels:\n  rules:\n    - title: x\n      modules: [x]\n",
		"labels:\n  create_missing: {color: #abc}\n  owned: {prefixes: [\"\"]}\n  fallback: 99999999999999999999\n",
		"welcome:\n  scope: team\n  label: first-contribution\n  links: {a-b: x, ok: \"https://x.org\", \"1\": ftp://x}\n  first_pr: |\n    Hi @{{.Logn}}\n    {{if}}\n",
		"welcome:\n  first_issue: \"{{range .Links}}{{.}}{{end}}{{.Links.x}}{{with .Links}}{{.y}}{{end}}\"\n  first_merged_pr: >\n    {{index .Links \"y\"}}\n    {{join .Modules \", \"}}\n",
		"welcome:\n  first_pr: \"{{range 9}}{{end}}{{template \\\"a\\\"}}{{define \\\"a\\\"}}{{end}}{{printf \\\"%9999d\\\" 1}}\"\n",
		"locked: [welcome]\nwelcome:\n  enabled: false\n  scope: repo\n  first_pr: \"{{if .Modules}}{{else}}{{$.Titel}}{{end}}\\t{{.Links.none}}\"\n",
		"upstream:\n  label: Upstream/x\n  labels: true\n  gerrit: [https://Review.OpenDev.org/c/1, \"h:1\", \"\", x.org.]\n  gitlab: [x.org, {a: b}]\n  stale_after: 0d\n",
		"upstream:\n  stale_after: 106752d\n  dashboard: {repo: \"https://github.com/a/b.git\", title: \" \"}\n  comments: on\n",
		"locked: [upstream]\nupstream:\n  stale_after: 9999999999h\n  dashboard: {repo: \"\", title: \"\"}\n  show_private: true\n",
		"upstream:\n  stale_after: 60\n  gerrit: x.org\n  dashboard:\n    repo: a/.\n    owner: b\n",
		"upstream:\n  enabled: false\n  label: \"\"\n  gerrit: [a.b]\n  gitlab: [a.b]\n  stale_after: 1h30m\n  status_comment: false\n  dashboard: {repo: a/b}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(string, []byte) (*File, error){Parse, ParseProbotDCO} {
			file, err := parse("f.yml", data)
			if err != nil {
				var errs Errors
				if !errors.As(err, &errs) || len(errs) == 0 {
					t.Fatalf("error %v (%T) is not a non-empty Errors", err, err)
				}
				for _, e := range errs {
					// Only the size error concerns the whole file.
					if e.Line < 1 && len(data) <= MaxFileSize {
						t.Fatalf("error without a position: %v", e)
					}
					if e.File != "f.yml" {
						t.Fatalf("error names file %q: %v", e.File, e)
					}
				}
				continue
			}
			// Whatever parses must merge cleanly over the built-in rules.
			res := Merge(BuiltinLayer(), Layer{Kind: LayerRepo, File: file})
			if len(res.Problems) > 0 {
				t.Fatalf("parsed file does not merge: %v", res.Problems)
			}
			for _, w := range res.Warnings {
				if w.Line < 1 || w.File == "" {
					t.Fatalf("warning without a position: %v", w)
				}
			}
		}
	})
}
