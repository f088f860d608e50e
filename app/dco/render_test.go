package dco

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in fixtures/dco/render")

var goldenDir = filepath.Join("..", "..", "fixtures", "dco", "render")

func prCtx() RenderContext {
	return RenderContext{Owner: "SovereignCloudStack", Repo: "standards", Number: 42, BaseRef: "main",
		BaseSHA: "0123456789abcdef0123456789abcdef01234567", HeadRef: "feature", HeadSHA: shaC}
}

// goldenCase renders the result of real evaluations, so a golden file shows
// exactly what a contributor would read for that pull request.
type goldenCase struct {
	name string
	in   Input
	ctx  func(RenderContext) RenderContext
}

func goldenCases() []goldenCase {
	same := func(c RenderContext) RenderContext { return c }
	ada := func(sha, msg string) Commit {
		c := mk(sha, msg, "Ada Lovelace", "ada@example.com")
		c.CommitterName, c.CommitterEmail = c.AuthorName, c.AuthorEmail
		return c
	}
	signed := "Add feature\n\nSigned-off-by: Ada Lovelace <ada@example.com>"
	return []goldenCase{
		{"success", Input{Config: probot, Commits: []Commit{ada(shaA, signed), ada(shaB, signed), ada(shaC, signed)}}, same},
		{"success-exempt", Input{Config: individual, Commits: []Commit{
			ada(shaA, "WIP"), ada(shaB, "I, Ada Lovelace <ada@example.com>, hereby add my Signed-off-by to this commit: "+shaA+"\n\nSigned-off-by: Ada Lovelace <ada@example.com>"),
			with(ada(shaC, "Merge branch 'main'"), func(c *Commit) { c.ParentCount = 2 }),
			with(ada("1111111111111111111111111111111111111111", "Bump x"), func(c *Commit) { c.AuthorLogin, c.AuthorType = "dependabot[bot]", "Bot" }),
		}}, same},
		{"last-commit-only", Input{Config: probot, Commits: []Commit{ada(shaA, signed), ada(shaB, signed), ada(shaC, "Fix typo")}},
			func(c RenderContext) RenderContext { c.Override, c.RecheckCommand = true, "/dco recheck"; return c }},
		{"several-with-remediation", Input{Config: thirdParty, Commits: []Commit{
			ada(shaA, "Add feature"),
			mk(shaB, "Fix | pipes `and` <b>tags</b> @octocat #12\n\nSigned-off-by: Mallory <m@example.com>", "Bob | Tables `x` <script>", "bob@example.com"),
			ada(shaC, "More\n\nsigned-off-by: Ada Lovelace"),
		}}, func(c RenderContext) RenderContext { c.Remediation = thirdParty.Remediation; return c }},
		{"invalid-email", Input{Config: probot, Commits: []Commit{
			mk(shaA, "Fix\n\nSigned-off-by: root <root@localhost>", "root", "root@localhost"), ada(shaB, signed)}},
			func(c RenderContext) RenderContext { c.Remediation = individual.Remediation; c.BaseSHA = ""; return c }},
		{"merge-group", Input{Config: individual, Commits: []Commit{ada(shaA, signed), ada(shaB, "No sign-off")}},
			func(c RenderContext) RenderContext {
				c.MergeGroup, c.Number, c.Remediation, c.Override = true, 0, individual.Remediation, true
				return c
			}},
		{"incomplete", Input{Config: probot, Expected: 300, Incomplete: "GitHub listed 2 of the 300 commits between 0123456 and 966587f",
			Commits: []Commit{ada(shaA, signed), ada(shaB, "No sign-off")}}, same},
		{"rules-problems", Input{Config: probot, Commits: []Commit{ada(shaA, signed)}},
			func(c RenderContext) RenderContext {
				c.Problems = []string{".github/contribot.yml:3:5: unknown key \"skip_bot\" in dco (did you mean \"skip_bots\"?)"}
				c.Warnings = []string{".github/contribot.yml:2:1: dco is locked by SovereignCloudStack/.github:.github/contribot.yml:4:3; this change is ignored"}
				return c
			}},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Expected == 0 {
				tc.in.Expected = len(tc.in.Commits)
			}
			out := Render(Evaluate(tc.in), tc.ctx(prCtx()))
			got := fmt.Sprintf("# Title\n\n%s\n\n# Summary\n\n%s\n# Text\n\n%s", out.Title, out.Summary, out.Text)
			path := filepath.Join(goldenDir, tc.name+".md")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./app/dco -run TestRenderGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (rerun with -update and review the diff):\n%s", path, got)
			}
		})
	}
}

func TestRenderTitle(t *testing.T) {
	signed := bex(shaA, signedBex)
	unsigned := bex(shaA, noSignoff)
	merge := with(bex(shaA, noSignoff), func(c *Commit) { c.ParentCount = 2 })
	n := func(c Commit, k int) []Commit {
		out := make([]Commit, k)
		for i := range out {
			out[i] = c
			out[i].SHA = fmt.Sprintf("%040x", i+1)
		}
		return out
	}
	tests := []struct {
		commits  []Commit
		expected int
		want     string
	}{
		{n(signed, 1), 1, "The commit is signed off"},
		{n(signed, 12), 12, "All 12 commits are signed off"},
		{n(merge, 1), 1, "The commit is exempt from sign-off"},
		{n(merge, 2), 2, "All 2 commits are exempt from sign-off"},
		{append(n(signed, 10), n(merge, 2)...), 12, "All 12 commits pass: 10 signed off, 2 exempt"},
		{n(unsigned, 1), 1, "The commit lacks a sign-off"},
		{append(n(signed, 11), n(unsigned, 1)...), 12, "1 of 12 commits lacks a sign-off"},
		{append(n(signed, 9), n(unsigned, 3)...), 12, "3 of 12 commits lack a sign-off"},
		{n(signed, 2), 3, "Could not read all commits"},
		{nil, 0, "No commits to check"},
	}
	for _, tc := range tests {
		res := Evaluate(Input{Commits: tc.commits, Config: probot, Expected: tc.expected})
		if got := Render(res, prCtx()).Title; got != tc.want {
			t.Errorf("%d commits: title %q, want %q", len(tc.commits), got, tc.want)
		}
	}
}

func TestRenderFixCommand(t *testing.T) {
	unsignedLast := []Commit{bex(shaA, signedBex), bex(shaB, noSignoff)}
	unsignedFirst := []Commit{bex(shaA, noSignoff), bex(shaB, signedBex)}
	mergeCommit := bex("3333333333333333333333333333333333333333", "Merge branch 'main'")
	mergeCommit.ParentCount = 2
	withMerge := []Commit{bex(shaA, noSignoff), mergeCommit, bex(shaB, signedBex)}
	tests := []struct {
		name    string
		commits []Commit
		ctx     func(RenderContext) RenderContext
		want    string
	}{
		{"only the last commit", unsignedLast, nil, "```sh\ngit commit --amend --no-edit --signoff\ngit push --force-with-lease\n```"},
		{"an earlier commit of a linear branch", unsignedFirst, nil, "```sh\ngit rebase --signoff HEAD~2\ngit push --force-with-lease\n```"},
		{"a branch with a merge, base SHA known", withMerge, nil, "git rebase --signoff 0123456789abcdef0123456789abcdef01234567\n"},
		{"a branch with a merge, base ref only", withMerge, func(c RenderContext) RenderContext { c.BaseSHA = ""; return c },
			"git rebase --signoff origin/main\n"},
		{"base ref with shell characters", withMerge, func(c RenderContext) RenderContext { c.BaseSHA, c.BaseRef = "", "refs/heads/it's;here"; return c },
			`git rebase --signoff 'origin/it'\''s;here'` + "\n"},
		{"nothing known", withMerge, func(c RenderContext) RenderContext { c.BaseSHA, c.BaseRef = "", ""; return c },
			"git rebase --signoff HEAD~3\n"},
		{"merge group never amends", unsignedLast, func(c RenderContext) RenderContext { c.MergeGroup = true; return c },
			"git rebase --signoff 0123456789abcdef0123456789abcdef01234567\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := prCtx()
			if tc.ctx != nil {
				ctx = tc.ctx(ctx)
			}
			out := Render(Evaluate(Input{Commits: tc.commits, Config: probot, Expected: len(tc.commits)}), ctx)
			if !strings.Contains(out.Text, tc.want) {
				t.Errorf("text lacks %q:\n%s", tc.want, out.Text)
			}
		})
	}
}

// The remediation sentences must be byte-for-byte those the Probot DCO app
// prints and parses, or a contributor's copy-paste fails in one of them.
func TestRenderRemediationSentences(t *testing.T) {
	commits := []Commit{bex(shaA, noSignoff), bex(shaB, noSignoff), mk(shaC, noSignoff, "hiimbex", "hiimbex@disney.com")}
	ctx := prCtx()
	ctx.Remediation = thirdParty.Remediation
	out := Render(Evaluate(Input{Commits: commits, Config: thirdParty, Expected: 3}), ctx)
	for _, want := range []string{
		"#### bex &lt;bex@disney.com&gt;\n\n```text\nDCO Remediation Commit for bex <bex@disney.com>\n\n" +
			"I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: " + shaA + "\n" +
			"I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: " + shaB + "\n\n" +
			"Signed-off-by: bex <bex@disney.com>\n```\n",
		"#### hiimbex &lt;hiimbex@disney.com&gt;\n\n```text\nDCO Remediation Commit for hiimbex <hiimbex@disney.com>\n\n" +
			"I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: " + shaC + "\n\n" +
			"Signed-off-by: hiimbex <hiimbex@disney.com>\n```\n",
		"#### On behalf of bex &lt;bex@disney.com&gt;\n\n```text\nThird-Party DCO Remediation Commit for bex <bex@disney.com>\n\n" +
			"On behalf of bex <bex@disney.com>, I, YOUR_NAME <YOUR_EMAIL>, hereby add my Signed-off-by to this commit: " + shaA + "\n" +
			"On behalf of bex <bex@disney.com>, I, YOUR_NAME <YOUR_EMAIL>, hereby add my Signed-off-by to this commit: " + shaB + "\n\n" +
			"Signed-off-by: YOUR_NAME <YOUR_EMAIL>\n```\n",
	} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("text lacks\n%s\nin\n%s", want, out.Text)
		}
	}

	// And what we print is what we accept: commit the printed text as the
	// author and the earlier commits pass.
	block := out.Text[strings.Index(out.Text, "DCO Remediation Commit for bex"):]
	block = block[:strings.Index(block, "```")]
	fixed := Evaluate(Input{Commits: append(commits, bex("4444444444444444444444444444444444444444", block)), Config: thirdParty})
	for _, v := range fixed.Commits[:2] {
		if v.Rule != RuleRemediatedIndividual {
			t.Errorf("printed remediation text not accepted: %+v", v)
		}
	}

	ctx.Remediation = rules.Remediation{}
	if out := Render(Evaluate(Input{Commits: commits, Config: probot, Expected: 3}), ctx); strings.Contains(out.Text, "hereby add") {
		t.Error("remediation offered although the rules do not allow it")
	}
}

// TestRender_AnyGitHubUser_HostileCommit puts a commit whose author,
// sign-off and message any GitHub user writes through the whole check run
// text: what they wrote must reach the table as text, never as a mention,
// a reference to another repository's issue, a commit link, an autolink or
// a bidi trick (issue 11, class 9).
func TestRender_AnyGitHubUser_HostileCommit(t *testing.T) {
	const zwj = "\u200d"
	tests := []struct {
		name, author, email, msg string
		// absent must not appear in the text, present must.
		absent, present []string
	}{
		{"mention in the author name notifies", "Mallory @alice", "m@example.com", noSignoff,
			[]string{"@alice"}, []string{"Mallory @" + zwj + "alice"}},
		{"cross-repository reference in the author name adds a backlink", "victim/private#4", "m@example.com", noSignoff,
			[]string{"private#4"}, []string{"victim/private\\#" + zwj + "4"}},
		{"GH- reference in the sign-off", "Mallory", "m@example.com", "x\n\nSigned-off-by: GH-26 <gh@example.com>",
			[]string{"GH-26"}, []string{"GH-" + zwj + "26 &lt;gh@example.com&gt;"}},
		{"commit link in the sign-off", "Mallory", "m@example.com", "x\n\nSigned-off-by: x <u@a5c3785ed8d6>",
			[]string{"u@a5c3785"}, []string{"u@" + zwj + "a5c3785ed8d6"}},
		{"www and https autolinks in the author name", "www.evil.example https://evil.example", "m@example.com", noSignoff,
			[]string{"www.evil", "https://evil"}, []string{"www" + zwj + ".evil.example https:" + zwj + "//evil.example"}},
		{"bidi override in the author name", "Mallory\u202e\u2066moc.elgoog", "m@example.com", noSignoff,
			[]string{"\u202e", "\u2066"}, []string{"| Mallorymoc.elgoog &lt;m@example.com&gt; |"}},
		{"table and HTML breakout in the author name", "a | b <img src=x>", "m@example.com", noSignoff,
			[]string{"<img", " | b"}, []string{`a \| b &lt;img src=x&gt;`}},
		{"emoji shortcode in the author name shows a check mark", ":white_check_mark: approved", "m@example.com", noSignoff,
			[]string{":white_check_mark:", ":white\\_check\\_mark:"}, []string{":" + zwj + `white\_check\_mark: approved &lt;m@example.com&gt;`}},
		{"math in the author name", `$\Huge\text{APPROVED}$`, "m@example.com", noSignoff,
			[]string{"$"}, []string{`&#36;\\Huge\\text\{APPROVED\}&#36; &lt;m@example.com&gt;`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			commits := []Commit{mk(shaA, tt.msg, tt.author, tt.email)}
			out := Render(Evaluate(Input{Commits: commits, Config: probot, Expected: 1}), prCtx())
			table := out.Text[:strings.Index(out.Text, "### Fix")]
			for _, s := range tt.absent {
				if strings.Contains(table, s) {
					t.Errorf("table has %q:\n%s", s, table)
				}
			}
			for _, s := range tt.present {
				if !strings.Contains(table, s) {
					t.Errorf("table lacks %q:\n%s", s, table)
				}
			}
		})
	}
}

func TestCodeFences(t *testing.T) {
	if got := codeBlock("text", "a ``` b\n"); got != "````text\na ``` b\n````\n" {
		t.Errorf("codeBlock: %q", got)
	}
	for body, want := range map[string]string{
		"":                        "```",
		"a `b` c":                 "```",
		"``":                      "```",
		"a ``` b ``":              "````",
		"x````":                   "`````",
		strings.Repeat("`", 1000): strings.Repeat("`", 1001),
	} {
		if got := fenceFor(body); got != want {
			t.Errorf("fenceFor(%q) = %q, want %q", body, got, want)
		}
	}
}

// TestFenceFor_AnyGitHubUser_BacktickAuthor: an author name of 256 KiB of
// backticks once cost a render 21 seconds, twice, because the fence grew
// one backtick per scan of all names. The fence is found in one pass now;
// allocations stand in for the work, since a test must not time itself.
func TestFenceFor_AnyGitHubUser_BacktickAuthor(t *testing.T) {
	body := strings.Repeat("`", 256<<10)
	if n := testing.AllocsPerRun(1, func() { fenceFor(body) }); n > 1 {
		t.Errorf("fenceFor of %d backticks made %.0f allocations; one pass makes one", len(body), n)
	}
}

// BenchmarkRender_AnyGitHubUser_BacktickAuthor renders the check run for
// a commit whose author name is 256 KiB of backticks (21 seconds per
// render before the fence was found in one pass).
func BenchmarkRender_AnyGitHubUser_BacktickAuthor(b *testing.B) {
	commits := []Commit{mk(shaA, noSignoff, strings.Repeat("`", 256<<10), "m@example.com"), bex(shaB, noSignoff)}
	ctx := prCtx()
	ctx.Remediation = thirdParty.Remediation
	res := Evaluate(Input{Commits: commits, Config: thirdParty, Expected: 2})
	for b.Loop() {
		Render(res, ctx)
	}
}

// TestRender_AnyGitHubUser_RemediationIdentity covers the authors a
// remediation text cannot be offered for. An oversized identity is named
// by its commits only; one with invisible characters, which would reorder
// the certification for whoever copies it, is shown escaped with a
// warning. Either way the other authors keep their texts.
func TestRender_AnyGitHubUser_RemediationIdentity(t *testing.T) {
	atCap := strings.Repeat("a", maxRemediationIdentity-len(" <ada@example.com>"))
	tests := []struct {
		name, author, email string
		// present must appear in the text, absent must not.
		present, absent []string
	}{
		{"256 KiB of backticks as the author name", strings.Repeat("`", 256<<10), "m@example.com",
			[]string{"#### An author not shown\n\nThe author's name and email are 262160 bytes long, too long to show here.",
				"#### On behalf of an author not shown\n", "- `" + shaA[:7] + "`\n"},
			[]string{"````"}},
		{"bidi override in the author name reorders the certification", "Mallory\u202efdp.exe", "m@example.com",
			[]string{"#### Malloryfdp.exe &lt;m@example.com&gt;\n\n> [!WARNING]\n> The author's name or email holds invisible characters",
				"Written with escapes, the author is `\"Mallory\\u202efdp.exe <m@example.com>\"`.", "#### On behalf of Malloryfdp.exe"},
			[]string{"\u202e", "Remediation Commit for Mallory"}},
		{"zero-width space in the email", "Mallory", "m\u200b@example.com",
			[]string{"`\"Mallory <m\\u200b@example.com>\"`"},
			[]string{"\u200b", "Remediation Commit for Mallory"}},
		{"a long name within the cap keeps its text", atCap, "ada@example.com",
			[]string{"I, " + atCap + " <ada@example.com>, hereby add my Signed-off-by to this commit: " + shaA},
			[]string{"not shown", "[!WARNING]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			commits := []Commit{mk(shaA, noSignoff, tt.author, tt.email), bex(shaB, noSignoff)}
			ctx := prCtx()
			ctx.Remediation = thirdParty.Remediation
			out := Render(Evaluate(Input{Commits: commits, Config: thirdParty, Expected: 2}), ctx)
			for _, s := range tt.present {
				if !strings.Contains(out.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, ellipsis(out.Text, 8000))
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(out.Text, s) {
					t.Errorf("text has %q:\n%s", s, ellipsis(out.Text, 8000))
				}
			}
			for _, s := range []string{
				"```text\nDCO Remediation Commit for bex <bex@disney.com>\n",
				"```text\nThird-Party DCO Remediation Commit for bex <bex@disney.com>\n",
			} {
				if !strings.Contains(out.Text, s) {
					t.Errorf("the other author lost their text %q:\n%s", s, ellipsis(out.Text, 8000))
				}
			}
			if !strings.Contains(out.Summary, "To keep the history instead, add a remediation commit.") {
				t.Errorf("summary no longer offers remediation to the other author:\n%s", out.Summary)
			}
		})
	}
}

func TestCapText(t *testing.T) {
	long := strings.Repeat("| row ü€😀 |\n", 10000)
	for _, limit := range []int{100, 101, 102, 103, 1000, 4097} {
		got := capText(long, limit)
		if len(got) > limit || !utf8.ValidString(got) {
			t.Fatalf("limit %d: %d bytes, valid %v", limit, len(got), utf8.ValidString(got))
		}
		for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
			if strings.HasPrefix(line, "|") && !strings.HasSuffix(line, "|") {
				t.Fatalf("limit %d: half a row %q", limit, line)
			}
		}
	}
	if got := capText("```sh\n"+strings.Repeat("x\n", 100), 100); strings.Count(got, "```")%2 != 0 {
		t.Errorf("open code block left open:\n%s", got)
	}
	if got := capText("short", 100); got != "short" {
		t.Errorf("capText changed short text: %q", got)
	}
}

// A pull request with 10,000 unsigned commits by many authors must still get
// a check run GitHub accepts, cut only between rows and blocks.
func TestRenderHugePullRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		author func(i int) (string, string)
	}{
		{"one author", func(int) (string, string) { return "Ada Lovelace", "ada@example.com" }},
		{"many authors with long multi-byte names", func(i int) (string, string) {
			return strings.Repeat("Ünïcødé 😀 ", 20) + fmt.Sprint(i), fmt.Sprintf("u%d@example.com", i)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			commits := make([]Commit, 10000)
			for i := range commits {
				name, email := tc.author(i)
				commits[i] = Commit{SHA: fmt.Sprintf("%040x", i+1), Message: "x", AuthorName: name, AuthorEmail: email}
			}
			ctx := prCtx()
			ctx.Remediation = thirdParty.Remediation
			ctx.Problems = make([]string, 100)
			for i := range ctx.Problems {
				ctx.Problems[i] = strings.Repeat("é", 1000)
			}
			out := Render(Evaluate(Input{Commits: commits, Config: thirdParty, Expected: len(commits)}), ctx)
			for part, s := range map[string]string{"summary": out.Summary, "text": out.Text} {
				if len(s) > 65535 {
					t.Errorf("%s is %d bytes", part, len(s))
				}
				if !utf8.ValidString(s) {
					t.Errorf("%s is not valid UTF-8", part)
				}
				if strings.Count(s, "```")%2 != 0 {
					t.Errorf("%s has an unclosed code block", part)
				}
			}
			rows := 0
			for _, line := range strings.Split(out.Text, "\n") {
				if strings.HasPrefix(line, "| [") {
					rows++
					if !strings.HasSuffix(line, " |") {
						t.Fatalf("half a row: %q", line)
					}
				}
			}
			if rows < 50 {
				t.Errorf("only %d rows fit", rows)
			}
			if !strings.Contains(out.Text, fmt.Sprintf("…and %d more commits", 10000-rows)) {
				t.Errorf("no note about the %d commits left out", 10000-rows)
			}
			for _, want := range []string{"git rebase --signoff", "### Or: add a remediation commit", "hereby add my Signed-off-by to this commit", "### Or: sign off on the author's behalf"} {
				if !strings.Contains(out.Text, want) {
					t.Errorf("text lacks %q", want)
				}
			}
			if out.Title != "10000 of 10000 commits lack a sign-off" {
				t.Errorf("title %q", out.Title)
			}
		})
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"origin/main":    "origin/main",
		"HEAD~3":         "HEAD~3",
		"~user/x":        "'~user/x'",
		"HEAD^":          "'HEAD^'",
		"it's":           `'it'\''s'`,
		"a b":            "'a b'",
		"$(rm -rf /)":    "'$(rm -rf /)'",
		"":               "''",
		"feature/ü-test": "'feature/ü-test'",
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEvaluateRender feeds arbitrary messages and identities through the
// whole pipeline: nothing may panic, and the output must stay within
// GitHub's limits and valid UTF-8.
func FuzzEvaluateRender(f *testing.F) {
	f.Add("Fix\n\nSigned-off-by: Ada <ada@example.com>", "Ada", "ada@example.com", "main")
	f.Add(remedA+signoffBex, "bex", "bex@disney.com", "it's")
	f.Add("x\n\nSigned-off-by: ```|<@a>", "```|<@a", "@a", "")
	f.Add("0", "0", "0", "\x86") // invalid UTF-8 in a ref once reached the output
	f.Fuzz(func(t *testing.T, msg, name, email, baseRef string) {
		commits := []Commit{
			{SHA: shaA, Message: "WIP", AuthorName: name, AuthorEmail: email},
			{SHA: shaB, Message: msg, AuthorName: name, AuthorEmail: email, CommitterName: name, CommitterEmail: email},
		}
		res := Evaluate(Input{Commits: commits, Config: thirdParty, Expected: 2})
		ctx := prCtx()
		ctx.BaseSHA, ctx.BaseRef, ctx.Remediation = "", baseRef, thirdParty.Remediation
		out := Render(res, ctx)
		for _, s := range []string{out.Title, out.Summary, out.Text} {
			if len(s) > 65535 || !utf8.ValidString(s) {
				t.Fatalf("bad output (%d bytes, valid %v)", len(s), utf8.ValidString(s))
			}
		}
		if res.Commits[0].Status != StatusPass && res.Commits[0].Status != StatusFail {
			t.Fatalf("unexpected status %q", res.Commits[0].Status)
		}
	})
}
