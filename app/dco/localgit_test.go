package dco

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo is a throwaway repository whose commits are made by real git.
type gitRepo struct {
	t   *testing.T
	dir string
	env []string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	requireGit(t)
	r := &gitRepo{t: t, dir: t.TempDir(), env: gitEnv(t)}
	r.git("", "init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(stdin string, args ...string) string {
	r.t.Helper()
	return strings.TrimSpace(runGit(r.t, r.env, r.dir, stdin, args...))
}

// commit records msg verbatim as author, committed by committer, and
// returns the new SHA.
func (r *gitRepo) commit(author, committer Identity, msg string) string {
	r.t.Helper()
	r.git(msg, "-c", "user.name="+committer.Name, "-c", "user.email="+committer.Email, "-c", "commit.gpgsign=false",
		"commit", "-q", "--allow-empty", "--cleanup=verbatim", "--author="+author.String(), "-F", "-")
	return r.git("", "rev-parse", "HEAD")
}

func TestReadGitRange(t *testing.T) {
	r := newGitRepo(t)
	ada := Identity{"Ada Lovelace", "ada@example.com"}
	bob := Identity{"Bob Jörgensen", "bob@example.com"}
	base := r.commit(ada, ada, "Initial commit\n\nSigned-off-by: Ada Lovelace <ada@example.com>\n")

	messages := []string{
		"Signed commit\n\nSigned-off-by: Ada Lovelace <ada@example.com>\n",
		"No sign-off and no trailing newline",
		"Separators \x1f in \x1f the message\n\nSigned-off-by: Ada Lovelace <ada@example.com>\n",
		"CRLF\r\n\r\nSigned-off-by: Bob Jörgensen <bob@example.com>\r\n",
	}
	var shas []string
	for i, msg := range messages {
		author := ada
		if i == 3 {
			author = bob // authored by Bob, committed by Ada
		}
		shas = append(shas, r.commit(author, ada, msg))
	}
	// A merge commit: a side branch from base, merged into main.
	r.git("", "checkout", "-q", "-b", "side", base)
	side := r.commit(bob, bob, "Side work\n\nSigned-off-by: Bob Jörgensen <bob@example.com>\n")
	r.git("", "checkout", "-q", "main")
	r.git("", "-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com", "merge", "-q", "--no-ff", "--no-edit", "side")
	merge := r.git("", "rev-parse", "HEAD")

	got, err := ReadGitRange(context.Background(), r.dir, base+"..HEAD")
	if err != nil {
		t.Fatal(err)
	}
	// The side commit may come anywhere before the merge, so look commits up
	// by SHA and check the order separately.
	if len(got) != len(messages)+2 {
		t.Fatalf("got %d commits, want %d", len(got), len(messages)+2)
	}
	if got[len(got)-1].SHA != merge {
		t.Errorf("last commit %s, want the merge %s", got[len(got)-1].SHA, merge)
	}
	bySHA := map[string]Commit{}
	for _, c := range got {
		bySHA[c.SHA] = c
	}
	for i, sha := range shas {
		c, ok := bySHA[sha]
		if !ok {
			t.Fatalf("commit %s missing", sha)
		}
		if c.Message != messages[i] {
			t.Errorf("message %q, want %q", c.Message, messages[i])
		}
		if c.ParentCount != 1 || c.CommitterName != "Ada Lovelace" || c.CommitterEmail != "ada@example.com" {
			t.Errorf("commit %d: %+v", i, c)
		}
	}
	if c := bySHA[shas[3]]; c.AuthorName != bob.Name || c.AuthorEmail != bob.Email {
		t.Errorf("author %q <%q>, want Bob's", c.AuthorName, c.AuthorEmail)
	}
	if c := bySHA[merge]; c.ParentCount != 2 {
		t.Errorf("merge has %d parents", c.ParentCount)
	}
	if _, ok := bySHA[side]; !ok {
		t.Error("side-branch commit missing")
	}
	if _, ok := bySHA[base]; ok {
		t.Error("the range's base was included")
	}
	// Parents before children, as remediation needs.
	pos := map[string]int{}
	for i, c := range got {
		pos[c.SHA] = i
	}
	for i := 1; i < len(shas); i++ {
		if pos[shas[i-1]] > pos[shas[i]] {
			t.Errorf("commit %d listed after commit %d", i-1, i)
		}
	}
	if pos[side] > pos[merge] || pos[shas[3]] > pos[merge] {
		t.Error("a merge listed before one of its parents")
	}

	res := Evaluate(Input{Commits: got, Config: probot, Expected: len(got)})
	wantRule := map[string]string{
		shas[0]: RuleSignoffAuthor, shas[1]: RuleSignoffMissing, shas[2]: RuleSignoffAuthor,
		shas[3]: RuleSignoffAuthor, side: RuleSignoffAuthor, merge: RuleSkippedMerge,
	}
	for _, v := range res.Commits {
		if v.Rule != wantRule[v.SHA] {
			t.Errorf("%s: rule %s, want %s (%s)", v.SHA[:7], v.Rule, wantRule[v.SHA], v.Reason)
		}
	}
}

func TestReadGitRangeErrors(t *testing.T) {
	r := newGitRepo(t)
	ada := Identity{"Ada", "ada@example.com"}
	r.commit(ada, ada, "one")
	notRepo := t.TempDir()
	outFile := filepath.Join(t.TempDir(), "out")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name, dir, rangeSpec string
		ctx                  context.Context
		want                 []string
	}{
		{"unknown revision", r.dir, "nope..HEAD", context.Background(), []string{"git log nope..HEAD", r.dir, "nope"}},
		{"not a repository", notRepo, "HEAD", context.Background(), []string{"git log HEAD", "not a git repository"}},
		{"option-like range", r.dir, "--output=" + outFile, context.Background(), []string{"git log --output="}},
		{"missing directory", filepath.Join(notRepo, "missing"), "HEAD", context.Background(), []string{"git log HEAD", "missing"}},
		{"cancelled", r.dir, "HEAD", ctx, []string{"git log HEAD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadGitRange(tc.ctx, tc.dir, tc.rangeSpec)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := os.Stat(outFile); err == nil {
		t.Error("a range was taken for git's --output option")
	}
}

func TestReadGitRangeEmpty(t *testing.T) {
	r := newGitRepo(t)
	ada := Identity{"Ada", "ada@example.com"}
	r.commit(ada, ada, "one")
	got, err := ReadGitRange(context.Background(), r.dir, "HEAD..HEAD")
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want no commits", got, err)
	}
}

func TestParseGitLogRejectsGarbage(t *testing.T) {
	for _, out := range []string{"not a commit", "zzzz\x1fa\x1fb\x1fc\x1fd\x1fe\x1fmsg\x00"} {
		if _, err := parseGitLog(out); err == nil {
			t.Errorf("parseGitLog(%q) accepted garbage", out)
		}
	}
}
