package dco

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// trailerCases are messages whose trailers are easy to get wrong. The
// expectations are written by hand, and TestParseTrailersMatchesGit checks
// each of them against `git interpret-trailers --parse` as well.
var trailerCases = []struct {
	name string
	msg  string
	want []Trailer
}{
	{"plain sign-off", "Fix bug\n\nSigned-off-by: Ada Lovelace <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada Lovelace <ada@example.com>"}}},
	{"lowercase key", "Fix bug\n\nsigned-off-by: Ada <ada@example.com>\n",
		[]Trailer{{"signed-off-by", "Ada <ada@example.com>"}}},
	{"trailing whitespace and blank lines", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>   \t\n\n\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"blanks before the separator", "Fix bug\n\nSigned-off-by  :  Ada <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"tab after the separator", "Fix bug\n\nSigned-off-by:\tAda <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"no trailing newline", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"not in the last paragraph", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>\n\nOne more thought.\n", nil},
	{"title only", "Signed-off-by: Ada <ada@example.com>\n", nil},
	{"title then sign-off without blank line", "Fix bug\nSigned-off-by: Ada <ada@example.com>\n", nil},
	{"continuation lines", "Fix bug\n\nReviewed-by: Ada\n  Lovelace <ada@example.com>\n\tand more\nSigned-off-by: Bob <bob@example.com>\n",
		[]Trailer{{"Reviewed-by", "Ada Lovelace <ada@example.com> and more"}, {"Signed-off-by", "Bob <bob@example.com>"}}},
	{"CRLF line endings", "Fix bug\r\n\r\nSigned-off-by: Ada <ada@example.com>\r\nAcked-by: Bob <bob@example.com>\r\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}, {"Acked-by", "Bob <bob@example.com>"}}},
	{"several sign-offs", "Fix bug\n\nBody.\n\nSigned-off-by: Ada <ada@example.com>\nSigned-off-by: Bob <bob@example.com>\nSIGNED-OFF-BY: Cy <cy@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}, {"Signed-off-by", "Bob <bob@example.com>"}, {"SIGNED-OFF-BY", "Cy <cy@example.com>"}}},
	{"divider ends the message", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>\n---\n Makefile | 2 +-\nAcked-by: Bob <bob@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"sign-off below the divider", "Fix bug\n\nBody.\n--- \nSigned-off-by: Ada <ada@example.com>\n", nil},
	{"three dashes without whitespace are text", "Fix bug\n\n---x\nSigned-off-by: Ada <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"comment lines", "Fix bug\n\n# a comment\nSigned-off-by: Ada <ada@example.com>\n# Please enter the commit message\n#\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"comment in the title paragraph", "# note\nFix bug\n\nSigned-off-by: Ada <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"git sign-off carries prose at 25%", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>\nsome text\nmore text\neven more\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"prose above 25% hides the sign-off", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>\nsome text\nmore text\neven more\nand more\n", nil},
	{"hand-typed key is not git-generated", "Fix bug\n\nsigned-off-by: Ada <ada@example.com>\nsome text\n", nil},
	{"other trailers need every line", "Fix bug\n\nReviewed-by: Ada <ada@example.com>\nLooks good to me\n", nil},
	{"cherry-pick line is git-generated", "Fix bug\n\nsome text\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\nReviewed-by: Ada <ada@example.com>\n",
		[]Trailer{{"Reviewed-by", "Ada <ada@example.com>"}}},
	{"scissors", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>\n# ------------------------ >8 ------------------------\nAcked-by: Bob <bob@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"conflicts block", "Merge branch\n\nSigned-off-by: Ada <ada@example.com>\n\nConflicts:\n\tfile.c\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"empty value", "Fix bug\n\nAcked-by:\nSigned-off-by: Ada <ada@example.com>\n",
		[]Trailer{{"Acked-by", ""}, {"Signed-off-by", "Ada <ada@example.com>"}}},
	{"whitespace-only line folds into the last trailer", "Fix bug\n\nSigned-off-by: Ada <ada@example.com>\n   \n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"vertical tab is text to git", "Fix bug\n\n\v\nAcked-by: Ada <ada@example.com>\n", nil},
	{"vertical tab under the 25% rule", "Fix bug\n\n\v\nSigned-off-by: Ada <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"key with a space is prose", "Fix bug\n\nSigned off by: Ada <ada@example.com>\n", nil},
	{"non-ASCII key is prose", "Fix bug\n\nSigné-par: Ada <ada@example.com>\n", nil},
	{"URL-looking line", "Fix bug\n\nSee: https://example.com/a:b\n",
		[]Trailer{{"See", "https://example.com/a:b"}}},
	{"leading blank line", "\n\nSigned-off-by: Ada <ada@example.com>\n",
		[]Trailer{{"Signed-off-by", "Ada <ada@example.com>"}}},
	{"decomposed accent kept as is", "Fix bug\n\nSigned-off-by: Jose\u0301 <jose@example.com>\n",
		[]Trailer{{"Signed-off-by", "Jose\u0301 <jose@example.com>"}}},
	{"empty message", "", nil},
}

func TestParseTrailers(t *testing.T) {
	for _, tc := range trailerCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseTrailers(tc.msg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseTrailers(%q)\n got %q\nwant %q", tc.msg, got, tc.want)
			}
		})
	}
}

func TestSignOffs(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want []Identity
	}{
		{"one", "x\n\nSigned-off-by: Ada Lovelace <ada@example.com>", []Identity{{"Ada Lovelace", "ada@example.com"}}},
		{"any key case", "x\n\nsigned-OFF-by: Ada <ada@example.com>", []Identity{{"Ada", "ada@example.com"}}},
		{"blanks around name and email", "x\n\nSigned-off-by:   Ada   < ada@example.com >", []Identity{{"Ada", "ada@example.com"}}},
		{"no space before bracket", "x\n\nSigned-off-by: Ada<ada@example.com>", []Identity{{"Ada", "ada@example.com"}}},
		{"split at the last bracket", "x\n\nSigned-off-by: Ada <x> <ada@example.com>", []Identity{{"Ada <x>", "ada@example.com"}}},
		{"other trailers ignored", "x\n\nCo-authored-by: Bob <bob@example.com>\nSigned-off-by: Ada <ada@example.com>", []Identity{{"Ada", "ada@example.com"}}},
		{"missing name", "x\n\nSigned-off-by: <ada@example.com>", nil},
		{"missing email", "x\n\nSigned-off-by: Ada", nil},
		{"missing brackets", "x\n\nSigned-off-by: Ada ada@example.com", nil},
		{"empty brackets", "x\n\nSigned-off-by: Ada <>", nil},
		{"outside the trailer block", "Signed-off-by: Ada <ada@example.com>\n\nbody", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SignOffs(tc.msg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SignOffs(%q) = %q, want %q", tc.msg, got, tc.want)
			}
		})
	}
}

// gitEnv isolates git from the user's and the system's configuration, which
// could define trailer keys or a different comment character.
func gitEnv(t testing.TB) []string {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, "gitconfig")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+cfg,
		"GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z",
		"LC_ALL=C")
}

func requireGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

func runGit(t testing.TB, env []string, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// gitTrailers runs `git interpret-trailers --parse` and reads its output back
// into trailers. git prints each as "key: value" on one line.
func gitTrailers(t testing.TB, env []string, msg string) []Trailer {
	t.Helper()
	out := runGit(t, env, "", msg, "interpret-trailers", "--parse")
	var got []Trailer
	for _, line := range strings.SplitAfter(out, "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("unexpected git output line %q", line)
		}
		got = append(got, Trailer{key, value})
	}
	return got
}

// TestParseTrailersMatchesGit compares the parser with real git, both on the
// raw messages and on the messages as stored in commits (which is what the
// GitHub API and ReadGitRange return).
func TestParseTrailersMatchesGit(t *testing.T) {
	requireGit(t)
	env := gitEnv(t)
	repo := t.TempDir()
	runGit(t, env, repo, "", "init", "-q")
	for _, tc := range trailerCases {
		t.Run(tc.name, func(t *testing.T) {
			if want := gitTrailers(t, env, tc.msg); !reflect.DeepEqual(ParseTrailers(tc.msg), want) {
				t.Errorf("raw message %q:\n ours %q\n  git %q", tc.msg, ParseTrailers(tc.msg), want)
			}
			if tc.msg == "" {
				return // git refuses to commit an empty message
			}
			runGit(t, env, repo, tc.msg, "-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com",
				"-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", "-")
			raw := runGit(t, env, repo, "", "cat-file", "commit", "HEAD")
			_, stored, _ := strings.Cut(raw, "\n\n")
			if want := gitTrailers(t, env, stored); !reflect.DeepEqual(ParseTrailers(stored), want) {
				t.Errorf("stored message %q:\n ours %q\n  git %q", stored, ParseTrailers(stored), want)
			}
		})
	}
}

func FuzzParseTrailers(f *testing.F) {
	for _, tc := range trailerCases {
		f.Add(tc.msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		got := ParseTrailers(msg)
		for _, tr := range got {
			if tr.Key == "" {
				t.Fatalf("empty key in %q", got)
			}
			for i := 0; i < len(tr.Key); i++ {
				if c := tr.Key[i]; !isAlnum(c) && c != '-' {
					t.Fatalf("key %q has %q, which git never accepts", tr.Key, c)
				}
			}
			if !strings.Contains(msg, tr.Key) {
				t.Fatalf("key %q is not in the message", tr.Key)
			}
			if strings.Contains(tr.Value, "\n") || trimSpace(tr.Value) != tr.Value {
				t.Fatalf("value %q is not unfolded and trimmed", tr.Value)
			}
			if utf8.ValidString(msg) && !utf8.ValidString(tr.Key+tr.Value) {
				t.Fatalf("valid UTF-8 message produced invalid trailer %q", tr)
			}
		}
		ids := SignOffs(msg)
		if len(ids) > len(got) {
			t.Fatalf("%d sign-offs from %d trailers", len(ids), len(got))
		}
		for _, id := range ids {
			if id.Name == "" || id.Email == "" {
				t.Fatalf("incomplete identity %q", id)
			}
		}
		if again := ParseTrailers(msg); !reflect.DeepEqual(again, got) {
			t.Fatal("not deterministic")
		}
	})
}

// FuzzParseTrailersGit compares the parser with git on every fuzz input. It
// runs one git process per input, so it only runs when asked:
//
//	DCO_FUZZ_GIT=1 go test -run='^$' -fuzz=FuzzParseTrailersGit ./app/dco/
func FuzzParseTrailersGit(f *testing.F) {
	if os.Getenv("DCO_FUZZ_GIT") == "" {
		f.Skip("set DCO_FUZZ_GIT=1 to compare with git")
	}
	requireGit(f)
	env := gitEnv(f)
	for _, tc := range trailerCases {
		f.Add(tc.msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		// git stops at a NUL; and where scissors follow the divider git reads
		// past the message end (see trailerEnd), which we deliberately do not.
		if strings.IndexByte(msg, 0) >= 0 || strings.Contains(msg, ">8") && strings.Contains(msg, "---") {
			t.Skip()
		}
		if want := gitTrailers(t, env, msg); !reflect.DeepEqual(ParseTrailers(msg), want) {
			t.Fatalf("message %q:\n ours %q\n  git %q", msg, ParseTrailers(msg), want)
		}
	})
}
