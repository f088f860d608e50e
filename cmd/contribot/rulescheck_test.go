package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{"valid file", []string{write("ok.yml", "dco:\n  require:\n    members: false\n")}, 0, "ok.yml: ok", "", false},
		{"typo names file, line and column", []string{write("typo.yml", "dco:\n  requre:\n    members: false\n")}, 1, "", "typo.yml:2:3: unknown key \"requre\" in dco", true},
		{"Probot dco.yml", []string{write("dco.yml", "require:\n  members: false\n")}, 0, "dco.yml: ok", "", false},
		{"missing file", []string{filepath.Join(dir, "missing.yml")}, 2, "", "missing.yml: no such file or directory", true},
		{"no file given", nil, 2, "", "usage: contribot rules check", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runRulesCheck(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if tt.stdout != "" && !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
			if tt.noStdout && stdout.Len() > 0 {
				t.Errorf("unexpected stdout %q", stdout.String())
			}
		})
	}
}

// TestRulesCheck_Maintainer_ContentEscapes checks rules files that echo
// what a repository maintainer wrote (a key, a value) into the problems
// printed: a file from a pull request must not drive the reviewer's
// terminal (issue 11, class 9).
func TestRulesCheck_Maintainer_ContentEscapes(t *testing.T) {
	write := fileWriter(t, t.TempDir())
	tests := []struct{ name, file, body, want string }{
		{"bidi override in an unknown key", "bidi.yml", "dco:\n  requ\u202ere: true\n", `requ\u202ere`},
		{"escape sequence in an unknown key, by YAML's \\e", "esc.yml", "dco:\n  \"requ\\e]0;pwned\\a\\x9b2J\": true\n", `requ\x1b]0;pwned\a\u009b2J`},
		{"escape sequence in a file name", "\x1b]0;pwned\x07.yml", "dco:\n  requre: true\n", `\x1b]0;pwned\a.yml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runRulesCheck([]string{write(tt.file, tt.body)}, &stdout, &stderr); code != 1 {
				t.Fatalf("exit %d, want 1 (stderr %q)", code, stderr.String())
			}
			assertTerminalSafe(t, "stderr", stderr.String())
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%q", tt.want, stderr.String())
			}
		})
	}
}
