package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var (
	prCommitsFixture = filepath.Join("..", "..", "fixtures", "github", "rest", "pulls-list-commits.json")
	dcoRulesDir      = filepath.Join("..", "..", "fixtures", "dco", "rules")
)

func dcoRules(name string) string { return filepath.Join(dcoRulesDir, name) }

// derivedCommits writes a commit list in GitHub's shape, made from GitHub's
// own example commit with the given changes, so the tests never hand-write
// the API's format.
func derivedCommits(t *testing.T, changes ...func(c map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(prCommitsFixture)
	if err != nil {
		t.Fatal(err)
	}
	var example []map[string]any
	if err := json.Unmarshal(data, &example); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	for i, change := range changes {
		var c map[string]any
		b, _ := json.Marshal(example[0])
		_ = json.Unmarshal(b, &c)
		c["sha"] = strings.Repeat(string("abcdef"[i%6]), 40)
		change(c)
		list = append(list, c)
	}
	return writeTemp(t, "commits.json", list)
}

func writeTemp(t *testing.T, name string, v any) string {
	t.Helper()
	var data []byte
	if s, ok := v.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func gitCommit(c map[string]any) map[string]any { return c["commit"].(map[string]any) }

// byMona makes the commit Monalisa's under an address the built-in allow
// list does not exempt.
func byMona(msg string, more ...func(map[string]any)) func(map[string]any) {
	return func(c map[string]any) {
		gitCommit(c)["message"] = msg
		gitCommit(c)["author"].(map[string]any)["email"] = "mona@example.com"
		gitCommit(c)["committer"].(map[string]any)["email"] = "mona@example.com"
		for _, f := range more {
			f(c)
		}
	}
}

func verified(c map[string]any) {
	gitCommit(c)["verification"].(map[string]any)["verified"] = true
}

type dcoRun struct {
	code           int
	stdout, stderr string
}

func runDCO(args ...string) dcoRun {
	var out, errb bytes.Buffer
	code := runDCOCheck(context.Background(), args, &out, &errb)
	return dcoRun{code, out.String(), errb.String()}
}

func TestDCOCheckCommits(t *testing.T) {
	signedMona := "Fix all the bugs\n\nSigned-off-by: Monalisa Octocat <mona@example.com>"
	unsigned := derivedCommits(t, byMona("Fix all the bugs"))
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		noStderrIn string
	}{
		{name: "GitHub's example commit claims an allow-listed email but is not verified",
			args: []string{"--commits", prCommitsFixture}, code: 1,
			stdout: []string{"6dcb09b FAIL The sign-off is missing.\n"}},
		{name: "GitHub's example commit has no sign-off",
			args: []string{"--commits", prCommitsFixture, "--rules", dcoRules("no-allow-list.yml")}, code: 1,
			stdout: []string{"6dcb09b FAIL The sign-off is missing.\n", "DCO action_required: The commit lacks a sign-off\n",
				"To fix: git commit --amend --no-edit --signoff && git push --force-with-lease\n"}},
		{name: "signed off",
			args: []string{"--commits", derivedCommits(t, byMona(signedMona))}, code: 0,
			stdout: []string{"aaaaaaa PASS Signed off by the author, \"Monalisa Octocat <mona@example.com>\".\n", "DCO success: The commit is signed off\n"}},
		{name: "several commits, one failing",
			args: []string{"--commits", derivedCommits(t, byMona("WIP"), byMona(signedMona))}, code: 1,
			stdout: []string{"aaaaaaa FAIL The sign-off is missing.\n", "bbbbbbb PASS ", "1 of 2 commits lacks a sign-off", "To fix: git rebase --signoff HEAD~2 && git push --force-with-lease"}},
		{name: "verified member's commit: the CLI says which --member would help",
			args: []string{"--commits", derivedCommits(t, byMona("Fix", verified)), "--rules", dcoRules("members-exempt.yml")}, code: 1,
			stdout: []string{"aaaaaaa FAIL The sign-off is missing.\n"},
			stderr: []string{"note: verified commits by octocat would pass if they are org members; say so with --member octocat\n"}},
		{name: "verified member's commit with --member",
			args: []string{"--commits", derivedCommits(t, byMona("Fix", verified)), "--rules", dcoRules("members-exempt.yml"), "--member", "octocat"}, code: 0,
			stdout: []string{"aaaaaaa SKIP Verified commit by organization member octocat.\n"}, noStderrIn: "note:"},
		{name: "members are not exempt by default",
			args: []string{"--commits", derivedCommits(t, byMona("Fix", verified)), "--member", "octocat"}, code: 1,
			stdout: []string{"aaaaaaa FAIL"}, noStderrIn: "note:"},
		{name: "remediation commit, allowed by the rules",
			args: []string{"--commits", derivedCommits(t, byMona("WIP"), byMona("Fix\n\nI, Monalisa Octocat <mona@example.com>, hereby add my Signed-off-by to this commit: "+strings.Repeat("a", 40)+"\n\nSigned-off-by: Monalisa Octocat <mona@example.com>")),
				"--rules", dcoRules("remediation.yml")}, code: 0,
			stdout: []string{"aaaaaaa PASS Signed off by the author in remediation commit bbbbbbb.\n"}},
		{name: "remediation commit, not allowed by default",
			args: []string{"--commits", derivedCommits(t, byMona("WIP"), byMona("Fix\n\nI, Monalisa Octocat <mona@example.com>, hereby add my Signed-off-by to this commit: "+strings.Repeat("a", 40)+"\n\nSigned-off-by: Monalisa Octocat <mona@example.com>"))},
			code: 1, stdout: []string{"aaaaaaa FAIL The sign-off is missing.\n"}},
		{name: "a Probot dco.yml is read as such",
			args: []string{"--commits", derivedCommits(t, byMona("Fix", verified)), "--rules", writeTemp(t, "dco.yml", "require:\n  members: false\n"), "--member", "octocat"},
			code: 0, stdout: []string{"SKIP Verified commit by organization member octocat."}},
		{name: "compare response with fewer commits than its total fails closed",
			args: []string{"--commits", writeTemp(t, "compare.json", `{"total_commits": 3, "commits": `+mustRead(t, unsigned)+`}`)}, code: 1,
			stdout: []string{"DCO failure: Could not read all commits\n", "Read 1 of 3 commits"}},
		{name: "disabled rules are still checked, with a note",
			args: []string{"--commits", unsigned, "--rules", writeTemp(t, "off.yml", "dco:\n  enabled: false\n")}, code: 1,
			stderr: []string{"note: dco.enabled is false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runDCO(tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if tc.noStderrIn != "" && strings.Contains(r.stderr, tc.noStderrIn) {
				t.Errorf("stderr has %q:\n%s", tc.noStderrIn, r.stderr)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDCOCheckJSON(t *testing.T) {
	r := runDCO("--json", "--commits", prCommitsFixture, "--rules", dcoRules("no-allow-list.yml"))
	if r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	want := map[string]any{
		"conclusion": "action_required",
		"commits": []any{map[string]any{
			"sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "status": "fail",
			"reason": "The sign-off is missing.", "rule": "signoff-missing",
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestDCOCheckInputErrors(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	badSyntax := write("syntax.json", "[\n  {\"sha\": \"abc\",\n   \"commit\": }\n]")
	badType := write("type.json", `[{"sha": 12}]`)
	noSHA := write("nosha.json", `[{"commit": {"message": "x"}}]`)
	object := write("object.json", `{"message": "Not Found"}`)
	nullCommit := write("null.json", `[{"sha": "a"}, null]`)
	nullCompare := write("nullcompare.json", `{"commits": [null], "total_commits": 1}`)
	noSHACompare := write("noshacompare.json", `{"commits": [{"commit": {"message": "x"}}], "total_commits": 1}`)
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"no source", nil, []string{"give the commits to check with --commits FILE.json or --git RANGE", "usage:"}},
		{"both sources", []string{"--commits", "x.json", "--git", "HEAD"}, []string{"--commits and --git cannot be used together"}},
		{"extra argument", []string{"--commits", "x.json", "extra"}, []string{`unexpected argument "extra"`}},
		{"unknown flag", []string{"--nope"}, []string{"flag provided but not defined: -nope"}},
		{"--dir without --git", []string{"--commits", "x.json", "--dir", "."}, []string{"--dir only applies to --git"}},
		{"--member with --git", []string{"--git", "HEAD", "--member", "ada"}, []string{"--member needs --commits"}},
		{"missing file", []string{"--commits", filepath.Join(dir, "missing.json")}, []string{"missing.json", "no such file"}},
		{"JSON syntax error", []string{"--commits", badSyntax}, []string{badSyntax + ":3:14: invalid character '}' looking for beginning of value"}},
		{"JSON type error", []string{"--commits", badType}, []string{badType + ":1:11: json: cannot unmarshal number"}},
		{"commit without sha", []string{"--commits", noSHA}, []string{noSHA + `: commit 1 has no "sha"`}},
		{"null commit", []string{"--commits", nullCommit}, []string{nullCommit + `: commit 2 is null`}},
		{"compare response with a null commit", []string{"--commits", nullCompare}, []string{nullCompare + `: commit 1 is null`}},
		{"compare response with a commit without sha", []string{"--commits", noSHACompare}, []string{noSHACompare + `: commit 1 has no "sha"`}},
		{"an error response instead of commits", []string{"--commits", object}, []string{object + `: expected a JSON array of commits`}},
		{"rules file with a typo", []string{"--commits", prCommitsFixture, "--rules", dcoRules("typo.yml")},
			[]string{dcoRules("typo.yml") + `:4:3: unknown key "skip_bot" in dco`}},
		{"missing rules file", []string{"--commits", prCommitsFixture, "--rules", filepath.Join(dir, "none.yml")}, []string{"none.yml", "no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runDCO(tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout should be empty on an input error:\n%s", r.stdout)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

func TestDCOCheckHelp(t *testing.T) {
	r := runDCO("-h")
	if r.code != 0 || !strings.Contains(r.stdout, "contribot dco check --git RANGE") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
}

// dcoTestRepo makes commits with real git in a repository isolated from the
// user's configuration.
type dcoTestRepo struct {
	t   *testing.T
	dir string
	env []string
}

func newDCOTestRepo(t *testing.T) *dcoTestRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "gitconfig")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := &dcoTestRepo{t: t, dir: t.TempDir(), env: append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+cfg,
		"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada Lovelace", "GIT_COMMITTER_EMAIL=ada@example.com")}
	r.git("", "init", "-q", "-b", "main")
	return r
}

func (r *dcoTestRepo) git(stdin string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env, cmd.Stdin = r.dir, r.env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *dcoTestRepo) commit(msg string, signoff bool) string {
	r.t.Helper()
	args := []string{"-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-F", "-"}
	if signoff {
		args = append(args, "--signoff")
	}
	r.git(msg, args...)
	return r.git("", "rev-parse", "HEAD")
}

func TestDCOCheckGit(t *testing.T) {
	r := newDCOTestRepo(t)
	base := r.commit("Initial commit", true)
	r.commit("Add feature", true)
	unsigned := r.commit("Fix the feature", false)

	got := runDCO("--git", base+"..HEAD", "--dir", r.dir)
	if got.code != 1 ||
		!strings.Contains(got.stdout, unsigned[:7]+" FAIL The sign-off is missing.\n") ||
		!strings.Contains(got.stdout, "1 of 2 commits lacks a sign-off") ||
		!strings.Contains(got.stdout, "To fix: git commit --amend --no-edit --signoff && git push --force-with-lease") {
		t.Errorf("unsigned head: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}

	r.commit("More work", true)
	got = runDCO("--git", base+"..HEAD", "--dir", r.dir)
	if got.code != 1 || !strings.Contains(got.stdout, "To fix: git rebase --signoff "+base+" && git push --force-with-lease") {
		t.Errorf("unsigned middle commit: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}

	r.commit("Sign off earlier work\n\nI, Ada Lovelace <ada@example.com>, hereby add my Signed-off-by to this commit: "+unsigned, true)
	got = runDCO("--git", base+"..HEAD", "--dir", r.dir, "--rules", dcoRules("remediation.yml"), "--json")
	if got.code != 0 {
		t.Fatalf("remediated: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	var res struct {
		Conclusion string
		Commits    []struct{ SHA, Status, Rule string }
	}
	if err := json.Unmarshal([]byte(got.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Conclusion != "success" || len(res.Commits) != 4 || res.Commits[1].SHA != unsigned || res.Commits[1].Rule != "remediated-individual" {
		t.Errorf("remediated: %+v", res)
	}

	got = runDCO("--git", "nope..HEAD", "--dir", r.dir)
	if got.code != 2 || !strings.Contains(got.stderr, "git log nope..HEAD") {
		t.Errorf("bad range: exit %d, stderr %q", got.code, got.stderr)
	}
}

// TestDCOCheck_AnyGitHubUser_TerminalEscapes runs the check on commits
// whose author name, login and sign-off any GitHub user writes: they must
// show as escapes, never set the window title, clear the screen, reorder
// text or forge a line of their own (issue 11, class 9).
func TestDCOCheck_AnyGitHubUser_TerminalEscapes(t *testing.T) {
	hostile := derivedCommits(t,
		byMona("Fix\n\nSigned-off-by: Eve\u202e\u2066 <eve@example.com>\u009b2J", func(c map[string]any) {
			gitCommit(c)["author"].(map[string]any)["name"] = "Mallory\x1b]0;pwned\x07\x1b[2J\nabcdef1 PASS forged"
		}),
		byMona("WIP", verified, func(c map[string]any) {
			c["author"].(map[string]any)["login"] = "octo\x1b[2Jcat"
		}),
	)
	t.Run("human", func(t *testing.T) {
		r := runDCO("--commits", hostile, "--rules", dcoRules("members-exempt.yml"))
		assertTerminalSafe(t, "stdout", r.stdout)
		assertTerminalSafe(t, "stderr", r.stderr)
		for _, want := range []string{`Mallory\x1b]0;pwned\a\x1b[2J\nabcdef1 PASS forged`, `Eve\u202e\u2066 <eve@example.com>\u009b2J`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "\nabcdef1 PASS") {
			t.Errorf("a commit author forged a line:\n%s", r.stdout)
		}
		if want := `note: verified commits by octo\x1b[2Jcat would pass`; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := runDCO("--json", "--commits", hostile)
		assertTerminalSafe(t, "stdout", r.stdout)
		var got struct{ Commits []struct{ Reason string } }
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		if len(got.Commits) != 2 || !strings.Contains(got.Commits[0].Reason, "Mallory\x1b]0;pwned\x07\x1b[2J\nabcdef1 PASS forged") ||
			!strings.Contains(got.Commits[0].Reason, "Eve\u202e\u2066 <eve@example.com>\u009b2J") {
			t.Errorf("JSON does not decode to what the commits say: %+v", got)
		}
	})
}

// TestDCOCheck_AnyGitHubUser_MalformedCommits feeds commit lists in the
// malformed shapes of the adversarial review (issue 11): nulls where
// GitHub puts objects, escapes in a SHA. None may panic, whose report
// would print raw bytes to the terminal; each ends in a verdict or an
// input error, on escaped output.
func TestDCOCheck_AnyGitHubUser_MalformedCommits(t *testing.T) {
	write := fileWriter(t, t.TempDir())
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"compare response with a null commit", `{"commits":[null],"total_commits":1}`, 2},
		{"compare response with null parts", `{"commits":[{"sha":"a","commit":null,"parents":[null]}]}`, 1},
		{"commit with null author, committer, message and parents", `[{"sha":"a","commit":{"author":null,"committer":null,"message":null},"parents":null,"author":null}]`, 1},
		{"escapes in the SHA and the sign-off", `[{"sha":"a\u001b[2J","commit":{"message":"x\n\nSigned-off-by: \u001b]0;x\u0007 <a@b.c>"}}]`, 1},
		{"compare response with commits of the wrong type", `{"commits":{}}`, 2},
		{"an empty list", `[]`, 1},
		{"an empty object", `{}`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"dco", "check", "--commits", write("c.json", tc.body)}, &stdout, &stderr)
			if code != tc.code || strings.Contains(stderr.String(), "internal error") {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			assertTerminalSafe(t, "stdout", stdout.String())
			assertTerminalSafe(t, "stderr", stderr.String())
		})
	}
}
