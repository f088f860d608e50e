package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const explainRules = `modules:
  docs:
    label: documentation
  web:
    label: area/web
    implies: [docs]
labels:
  enabled: true
  sync: managed
  owned:
    prefixes: ["area/"]
  size:
    enabled: true
  rules:
    - name: website sources
      repos: ["octocat/*"]
      files:
        any: ["**/*.txt", "site/**"]
      modules: [web]
`

func TestLabelsExplain(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	rulesPath := write("contribot.yml", explainRules)
	prFiles := filepath.Join("..", "..", "fixtures", "github", "rest", "pulls-list-files.json")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{
			name: "GitHub's list of PR files, with sizes from it",
			args: []string{"--repo", "octocat/Hello-World", "--pr-files", prFiles, "--rules", rulesPath, "--labels", "area/old,bug", "--ours", "area/old"},
			stdout: []string{
				"octocat/Hello-World, 1 changed file:",
				`documentation  module docs, implied by module web, which labels.rules[0] "website sources" (` + rulesPath + `:15) matched file1.txt`,
				`area/web       module web: labels.rules[0] "website sources" (` + rulesPath + `:15) matched file1.txt`,
				"size/L         size: 124 lines changed (+103 −21)",
				"add: documentation, area/web, size/L",
				"remove: area/old",
			},
		},
		{
			name:   "a rename counts for its old path",
			args:   []string{"--repo", "octocat/x", "--files", "site/a.md=>other/a.md", "--rules", rulesPath, "--additions", "3", "--deletions", "0"},
			stdout: []string{"matched site/a.md", "add: documentation, area/web, size/XS"},
		},
		{
			name:   "no rule matches",
			args:   []string{"--repo", "someone/else", "--files", "main.go", "--rules", write("nosize.yml", strings.Replace(explainRules, "enabled: true\n  rules", "enabled: false\n  rules", 1))},
			stdout: []string{"no labels: no rule matches"},
		},
		{
			name:   "the built-in SCS rules",
			args:   []string{"--repo", "SovereignCloudStack/standards", "--files", "Standards/scs-0110-v1-ssd-flavors.md"},
			stdout: []string{"area/storage", "IaaS", "(built-in:"},
		},
		{
			name:   "a broken rules file names file, line and column",
			args:   []string{"--repo", "o/r", "--files", "a", "--rules", write("bad.yml", "labels:\n  sync: sometimes\n")},
			code:   1,
			stderr: "bad.yml:2:9: labels.sync",
		},
		{name: "no repository", args: []string{"--files", "a"}, code: 2, stderr: "--repo OWNER/NAME"},
		{name: "no files", args: []string{"--repo", "o/r"}, code: 2, stderr: "either --files A,B or --pr-files FILE.json"},
		{name: "missing files file", args: []string{"--repo", "o/r", "--pr-files", filepath.Join(dir, "none.json")}, code: 2, stderr: "none.json: open"},
		{name: "not GitHub's shape", args: []string{"--repo", "o/r", "--pr-files", write("obj.json", `{"files": []}`)}, code: 2, stderr: "want the JSON array GitHub returns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"labels", "explain"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}

func TestLabelsExplainJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"labels", "explain", "--json", "--repo", "SovereignCloudStack/cluster-stacks", "--files", "README.md", "--labels", "Container"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var d struct {
		Want []struct {
			Label  string `json:"label"`
			Causes []struct {
				Kind   string `json:"kind"`
				Module string `json:"module"`
				Source string `json:"source"`
			} `json:"causes"`
		} `json:"want"`
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(d.Want) != 1 || d.Want[0].Label != "Container" || d.Want[0].Causes[0].Kind != "repository" || !strings.HasPrefix(d.Want[0].Causes[0].Source, "built-in:") || len(d.Add) != 0 {
		t.Errorf("decision = %+v", d)
	}
}

// TestLabelsExplain_AnyGitHubUser_FileNameEscapes explains a pull request
// whose file names any GitHub user chooses: --pr-files is GitHub's JSON,
// and git allows escape sequences and bidi controls in a path (issue 11,
// class 9).
func TestLabelsExplain_AnyGitHubUser_FileNameEscapes(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	rulesPath := write("contribot.yml", explainRules)
	files := write("files.json", `[{"filename": "site/\u001b]0;pwned\u0007\u001b[2J\u202etxt.exe", "status": "added", "additions": 1, "deletions": 0, "changes": 1}]`)
	for _, format := range []string{"human", "json"} {
		t.Run(format, func(t *testing.T) {
			args := []string{"labels", "explain", "--repo", "octocat/x", "--pr-files", files, "--rules", rulesPath}
			if format == "json" {
				args = append(args, "--json")
			}
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			assertTerminalSafe(t, "stdout", stdout.String())
			assertTerminalSafe(t, "stderr", stderr.String())
			// labels.Explain quotes such a path itself; the terminal then has
			// nothing left to escape in it.
			want := `matched "site/\x1b]0;pwned\a\x1b[2J\u202etxt.exe"`
			if format == "json" {
				want = `site/\u001b]0;pwned\u0007\u001b[2J\u202etxt.exe`
			}
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
			}
		})
	}
}
