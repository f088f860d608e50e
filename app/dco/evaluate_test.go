package dco

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/rules"
)

// The SHAs, people and messages below are those of the Probot DCO app's own
// test suite (test/dco.test.js), so each case can be traced back to it.
const (
	shaA = "18aebfa67dde85da0f5099ad70ef647685a05205"
	shaB = "d5f3e2be498459554b6465224b7b6f7c0682295e"
	shaC = "966587f0902920ed656950b0766e1073f8a532c0"
)

// mk builds a commit authored by author and committed by Bex Warner, the
// committer of nearly every Probot case.
func mk(sha, msg, authorName, authorEmail string) Commit {
	return Commit{SHA: sha, Message: msg, AuthorName: authorName, AuthorEmail: authorEmail,
		CommitterName: "Bex Warner", CommitterEmail: "bexmwarner@gmail.com", AuthorLogin: "hiimbex", AuthorType: "User"}
}

func with(c Commit, f func(*Commit)) Commit { f(&c); return c }

func bex(sha, msg string) Commit { return mk(sha, msg, "bex", "bex@disney.com") }

const (
	signedBex     = "signed off correctly\n\nSigned-off-by: bex <bex@disney.com>"
	wrongBex      = "signed off incorrectly\n\nSigned-off-by: hiimbex <hiimbex@disney.com>"
	noSignoff     = "No signoff"
	remedA        = "I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: " + shaA
	remedB        = "I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: " + shaB
	thirdA        = "On behalf of bex <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: " + shaA
	signoffBex    = "\n\nSigned-off-by: bex <bex@disney.com>"
	signoffHiimbx = "\n\nSigned-off-by: hiimbex <hiimbex@disney.com>"
	signoffWarner = "\n\nSigned-off-by: Bex Warner <bexmwarner@gmail.com>"
)

// want is the expected verdict of one commit. An empty reason is not
// checked, which the passing and skipped cases use: their rule says it all.
type want struct {
	status Status
	rule   string
	reason string
}

var (
	passAuthor    = want{StatusPass, RuleSignoffAuthor, ""}
	passCommitter = want{StatusPass, RuleSignoffCommitter, ""}
	remedIndiv    = want{StatusPass, RuleRemediatedIndividual, ""}
	remedThird    = want{StatusPass, RuleRemediatedThirdParty, ""}
	missing       = want{StatusFail, RuleSignoffMissing, "The sign-off is missing."}
	mismatchBex   = want{StatusFail, RuleSignoffMismatch, `Expected "bex <bex@disney.com>", but got "hiimbex <hiimbex@disney.com>".`}
)

var (
	probot      = rules.DCO{Enabled: true, Require: rules.Require{Members: true}, SkipBots: true}
	individual  = with2(probot, rules.Remediation{Individual: true})
	thirdParty  = with2(probot, rules.Remediation{Individual: true, ThirdParty: true})
	thirdOnly   = with2(probot, rules.Remediation{ThirdParty: true})
	membersFree = func() rules.DCO { c := probot; c.Require.Members = false; return c }()
)

func with2(c rules.DCO, r rules.Remediation) rules.DCO { c.Remediation = r; return c }

type evalCase struct {
	name    string
	cfg     rules.DCO
	members map[string]bool
	commits []Commit
	want    []want
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Evaluate(Input{Commits: tc.commits, Config: tc.cfg, Members: tc.members, Expected: len(tc.commits)})
			if len(res.Commits) != len(tc.want) {
				t.Fatalf("got %d verdicts, want %d", len(res.Commits), len(tc.want))
			}
			failed := false
			for i, w := range tc.want {
				v := res.Commits[i]
				if v.SHA != tc.commits[i].SHA {
					t.Errorf("verdict %d is for %s, want %s", i, v.SHA, tc.commits[i].SHA)
				}
				if v.Status != w.status || v.Rule != w.rule || (w.reason != "" && v.Reason != w.reason) {
					t.Errorf("commit %d: got %s/%s %q, want %s/%s %q", i, v.Status, v.Rule, v.Reason, w.status, w.rule, w.reason)
				}
				if v.Reason == "" {
					t.Errorf("commit %d: empty reason", i)
				}
				failed = failed || w.status == StatusFail
			}
			wantConclusion := ConclusionSuccess
			if failed {
				wantConclusion = ConclusionActionRequired
			}
			if res.Conclusion != wantConclusion {
				t.Errorf("conclusion %q, want %q", res.Conclusion, wantConclusion)
			}
		})
	}
}

func TestEvaluateExplicitSignoffs(t *testing.T) {
	bk := func(msg string) Commit { return mk(shaA, msg, "Brandon Keepers", "bkeepers@github.com") }
	hb := func(msg, email string) Commit { return mk(shaA, msg, "hiimbex", email) }
	runEvalCases(t, []evalCase{
		// Probot: single commit, success patterns.
		{"correctly signed off", probot, nil,
			[]Commit{bk("Hello world\n\nSigned-off-by: Brandon Keepers <bkeepers@github.com>")}, []want{passAuthor}},
		{"one of several sign-offs, correct first", probot, nil,
			[]Commit{bk("Hello world\n\nSigned-off-by: Brandon Keepers <bkeepers@github.com>\nSigned-off-by: Unknown <tester@github.com>")}, []want{passAuthor}},
		{"one of several sign-offs, correct second", probot, nil,
			[]Commit{bk("Hello world\n\nSigned-off-by: Unknown <tester@github.com>\nSigned-off-by: Brandon Keepers <bkeepers@github.com>")}, []want{passAuthor}},
		{"case-insensitive key", probot, nil,
			[]Commit{hb("signed off correctly\n\nsigned-off-by: hiimbex <hiimbex@disney.com>", "hiimbex@disney.com")}, []want{passAuthor}},
		{"case-insensitive name and email", probot, nil,
			[]Commit{mk(shaA, "cAsInG iS fUn\n\nsigned-off-by: HiImBeXo <HiImBeX@bExO.cOm>", "hiimbexo", "hiimbex@bexo.com")}, []want{passAuthor}},
		{"multiple trailing newlines", probot, nil,
			[]Commit{hb("signed off correctly\n\nSigned-off-by: hiimbex <hiimbex@disney.com>\n\n", "hiimbex@disney.com")}, []want{passAuthor}},
		{"trailing whitespace", probot, nil,
			[]Commit{hb("signed off correctly\n\nSigned-off-by: hiimbex <hiimbex@disney.com>  ", "hiimbex@disney.com")}, []want{passAuthor}},
		{"email with subdomains", probot, nil,
			[]Commit{hb("signed off correctly\n\nsigned-off-by: hiimbex <hiimbex@sub.disney.com>\n\n", "hiimbex@sub.disney.com")}, []want{passAuthor}},
		{"email with plus alias", probot, nil,
			[]Commit{hb("signed off correctly\n\nsigned-off-by: hiimbex <hiimbex+alias@disney.com>\n\n", "hiimbex+alias@disney.com")}, []want{passAuthor}},
		{"signed off by the committer, not the author", probot, nil,
			[]Commit{mk(shaA, "What a nice day!\n\nSigned-off-by: Bex Warner <bexmwarner@gmail.com>", "Bexo", "bexo@gmail.com")}, []want{passCommitter}},
		{"signed off by the committer, author has no email", probot, nil,
			[]Commit{mk(shaA, "What a nice day!\n\nSigned-off-by: Bex Warner <bexmwarner@gmail.com>", "Bexo", "")}, []want{passCommitter}},
		{"no GitHub account for the author", probot, nil,
			[]Commit{with(mk(shaA, "What a nice day!\n\nSigned-off-by: Bexo <bexo@gmail.com>", "Bexo", "bexo@gmail.com"), func(c *Commit) { c.AuthorLogin, c.AuthorType = "", "" })}, []want{passAuthor}},
		{"merge commit without sign-off", probot, nil,
			[]Commit{with(bk("mergin stuff"), func(c *Commit) { c.ParentCount = 2 })}, []want{{StatusSkip, RuleSkippedMerge, ""}}},
		{"bot without sign-off", probot, nil,
			[]Commit{with(mk(shaA, "I aM rObOt I dO wHaT i PlEaSe.", "bexobot [bot]", "wut"), func(c *Commit) { c.AuthorLogin, c.AuthorType = "bexobot [bot]", "Bot" })},
			[]want{{StatusSkip, RuleSkippedBot, "Authored by the bot account bexobot [bot]."}}},
		{"verified commit by an org member without sign-off", membersFree, map[string]bool{"lptr": true},
			[]Commit{with(mk(shaA, "yolo", "Lorant Pinter", "lorant.pinter@gmail.com"), func(c *Commit) { c.AuthorLogin, c.Verified = "lptr", true })},
			[]want{{StatusSkip, RuleMemberExempt, "Verified commit by organization member lptr."}}},

		// Probot: single commit, failure patterns.
		{"no sign-off", probot, nil, []Commit{bk("yolo")}, []want{missing}},
		{"no sign-off, no GitHub account", probot, nil,
			[]Commit{with(mk(shaA, "What a nice day!", "Bexo", "bexo@gmail.com"), func(c *Commit) { c.AuthorLogin = "" })}, []want{missing}},
		{"several sign-offs, none correct", probot, nil,
			[]Commit{with(mk(shaA, "Hello world\n\nSigned-off-by: Tester1 <tester1@github.com>\nSigned-off-by: Tester2 <tester2@github.com>", "Author Name", "author@email.com"),
				func(c *Commit) { c.CommitterName, c.CommitterEmail = "Committer Name", "committer@email.com" })},
			[]want{{StatusFail, RuleSignoffMismatch, `Can not find "Author Name <author@email.com>", in ["Tester1 <tester1@github.com>", "Tester2 <tester2@github.com>"].`}}},
		{"incorrect name", probot, nil,
			[]Commit{hb("signed off by wrong author\n\nSigned-off-by: bex <bex@disney.com>", "bex@disney.com")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "hiimbex <bex@disney.com>", but got "bex <bex@disney.com>".`}}},
		{"incorrect email", probot, nil,
			[]Commit{mk(shaA, "signed off by wrong author\n\nSigned-off-by: bex <bex@disney.com>", "bex", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "bex <hiimbex@disney.com>", but got "bex <bex@disney.com>".`}}},
		{"incorrect name and email", probot, nil,
			[]Commit{bex(shaA, "signed off by wrong author\n\nSigned-off-by: hiimbex <hiimbex@disney.com>")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "bex <bex@disney.com>", but got "hiimbex <hiimbex@disney.com>".`}}},
		{"name and email swapped", probot, nil,
			[]Commit{hb("bad signoff\n\nsigned-off-by: hiimbex@disney.com <hiimbex>", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "hiimbex <hiimbex@disney.com>", but got "hiimbex@disney.com <hiimbex>".`}}},
		{"sign-off email without @", probot, nil,
			[]Commit{hb("bad email\n\nsigned-off-by: hiimbex <hiimbex(at)disney.com>", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "hiimbex <hiimbex@disney.com>", but got "hiimbex <hiimbex(at)disney.com>".`}}},
		{"invalid author email (no top-level domain)", probot, nil,
			[]Commit{hb("bad email\n\nsigned-off-by: hiimbex <hiimbex@bexo>", "hiimbex@bexo")},
			[]want{{StatusFail, RuleInvalidEmail, "hiimbex@bexo is not a valid email address."}}},
		{"plus alias in sign-off only", probot, nil,
			[]Commit{hb("signed off correctly\n\nsigned-off-by: hiimbex <hiimbex+alias@disney.com>\n\n", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "hiimbex <hiimbex@disney.com>", but got "hiimbex <hiimbex+alias@disney.com>".`}}},
		{"empty sign-off", probot, nil,
			[]Commit{hb("bad signoff\n\nsigned-off-by: ", "hiimbex@disney.com")}, []want{missing}},
		{"unverified commit by an org member without sign-off", membersFree, map[string]bool{"lptr": true},
			[]Commit{with(mk(shaA, "yolo", "Lorant Pinter", "lorant.pinter@gmail.com"), func(c *Commit) { c.AuthorLogin = "lptr" })},
			[]want{{StatusFail, RuleMemberUnverified, "Commit by organization member is not verified."}}},

		{"quotes in names are not escaped, as in Probot", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: Ada \"the\\Countess\" <ada@example.com>", "Ada", "ada@example.com")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "Ada <ada@example.com>", but got "Ada "the\Countess" <ada@example.com>".`}}},

		// Deliberate differences from the Probot DCO app. It fails these;
		// contribot trims blanks, as git does when it writes the trailer.
		{"blanks around the name (Probot fails)", probot, nil,
			[]Commit{bk("Hello world\n\nSigned-off-by:   Brandon Keepers  <bkeepers@github.com>")}, []want{passAuthor}},
		{"blanks inside the brackets (Probot fails)", probot, nil,
			[]Commit{bk("Hello world\n\nSigned-off-by: Brandon Keepers < bkeepers@github.com >")}, []want{passAuthor}},
		// Probot calls these "missing"; showing what was written helps more.
		{"sign-off without a name", probot, nil,
			[]Commit{hb("bad signoff\n\nsigned-off-by: <hiimbex@disney.com>", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMalformed, `Expected "hiimbex <hiimbex@disney.com>", but got "<hiimbex@disney.com>".`}}},
		{"sign-off without an email", probot, nil,
			[]Commit{hb("bad signoff\n\nsigned-off-by: hiimbex", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMalformed, `Expected "hiimbex <hiimbex@disney.com>", but got "hiimbex".`}}},
		{"sign-off without angle brackets", probot, nil,
			[]Commit{hb("bad signoff\n\nsigned-off-by: hiimbex hiimbex@disney.com", "hiimbex@disney.com")},
			[]want{{StatusFail, RuleSignoffMalformed, `Expected "hiimbex <hiimbex@disney.com>", but got "hiimbex hiimbex@disney.com".`}}},
		// Probot pairs any name with any email of author and committer; a
		// sign-off names one person.
		{"author's name with committer's email (Probot passes)", probot, nil,
			[]Commit{bex(shaA, "x\n\nSigned-off-by: bex <bexmwarner@gmail.com>")},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "bex <bex@disney.com>", but got "bex <bexmwarner@gmail.com>".`}}},
		// Probot reads Signed-off-by on any line; git only in the trailers.
		{"sign-off in the subject line", probot, nil,
			[]Commit{bex(shaA, "Signed-off-by: bex <bex@disney.com>")},
			[]want{{StatusFail, RuleSignoffNotTrailer, ""}}},
		{"sign-off followed by a paragraph", probot, nil,
			[]Commit{bex(shaA, "Fix\n\nSigned-off-by: bex <bex@disney.com>\n\nMore text.")},
			[]want{{StatusFail, RuleSignoffNotTrailer, "The sign-off is missing. A Signed-off-by line was found, but not in the last paragraph of the message, where git looks for it."}}},
	})
}

func TestEvaluateSeveralCommits(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"both signed off", probot, nil, []Commit{bex(shaA, signedBex), bex(shaB, signedBex)}, []want{passAuthor, passAuthor}},
		{"first of two wrong", probot, nil, []Commit{bex(shaA, wrongBex), bex(shaB, signedBex)}, []want{mismatchBex, passAuthor}},
		{"second of two wrong", probot, nil, []Commit{bex(shaA, signedBex), bex(shaB, wrongBex)}, []want{passAuthor, mismatchBex}},
		{"both wrong", probot, nil, []Commit{bex(shaA, wrongBex), bex(shaB, wrongBex)}, []want{mismatchBex, mismatchBex}},
		{"middle of three wrong", probot, nil, []Commit{bex(shaA, signedBex), bex(shaB, wrongBex), bex(shaC, signedBex)},
			[]want{passAuthor, mismatchBex, passAuthor}},
		{"first and last of three wrong", probot, nil, []Commit{bex(shaA, wrongBex), bex(shaB, signedBex), bex(shaC, wrongBex)},
			[]want{mismatchBex, passAuthor, mismatchBex}},
		{"all three wrong", probot, nil, []Commit{bex(shaA, wrongBex), bex(shaB, wrongBex), bex(shaC, wrongBex)},
			[]want{mismatchBex, mismatchBex, mismatchBex}},
	})
}

func TestEvaluateIndividualRemediation(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"disabled by default", probot, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, remedA+signoffBex)}, []want{missing, passAuthor}},
		{"remediation commit with sign-off", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, remedA+signoffBex)}, []want{remedIndiv, passAuthor}},
		{"remediates a wrong name", individual, nil,
			[]Commit{bex(shaA, "x\n\nSigned-off-by: hiimbex <bex@disney.com>"), bex(shaB, remedA+signoffBex)}, []want{remedIndiv, passAuthor}},
		{"remediates a wrong email", individual, nil,
			[]Commit{bex(shaA, "x\n\nSigned-off-by: bex <hiimbex@disney.com>"), bex(shaB, remedA+signoffBex)}, []want{remedIndiv, passAuthor}},
		{"redundant remediation", individual, nil,
			[]Commit{bex(shaA, signedBex), bex(shaB, remedA+signoffBex)}, []want{passAuthor, passAuthor}},
		{"remediation of a SHA not in the pull request", individual, nil,
			[]Commit{bex(shaA, signedBex), bex(shaB, "I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: 2222222222222222222222222222222222222222"+signoffBex)},
			[]want{passAuthor, passAuthor}},
		{"chain: unsigned remediation remediated in turn", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, remedA), bex(shaC, remedB+signoffBex)}, []want{remedIndiv, remedIndiv, passAuthor}},
		{"one commit remediates two", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, noSignoff), bex(shaC, remedA+"\n"+remedB+signoffBex)}, []want{remedIndiv, remedIndiv, passAuthor}},
		{"remediation sentence in another case and indented", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, "  i, BEX <bex@disney.com>, HEREBY add my signed-off-by to this commit: "+strings.ToUpper(shaA)+"  "+signoffBex)},
			[]want{remedIndiv, passAuthor}},
		{"remediation text but no sign-off", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, remedA)}, []want{remedIndiv, missing}},
		{"remediation by a different author name", individual, nil,
			[]Commit{bex(shaA, noSignoff), mk(shaB, "I, hiimbex <bex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+"\n\nSigned-off-by: hiimbex <bex@disney.com>", "hiimbex", "bex@disney.com")},
			[]want{missing, passAuthor}},
		{"remediation by a different author email", individual, nil,
			[]Commit{bex(shaA, noSignoff), mk(shaB, "I, bex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+"\n\nSigned-off-by: bex <hiimbex@disney.com>", "bex", "hiimbex@disney.com")},
			[]want{missing, passAuthor}},
		{"remediation by a different author", individual, nil,
			[]Commit{bex(shaA, noSignoff), mk(shaB, "I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffHiimbx, "hiimbex", "hiimbex@disney.com")},
			[]want{missing, passAuthor}},
		{"correct sentence in a commit by someone else", individual, nil,
			[]Commit{bex(shaA, noSignoff), mk(shaB, remedA+signoffHiimbx, "hiimbex", "hiimbex@disney.com")},
			[]want{missing, passAuthor}},
		{"sentence names someone else", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, "I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffBex)},
			[]want{missing, passAuthor}},
		{"remediation for a different SHA", individual, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, "I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: 2222222222222222222222222222222222222222"+signoffBex)},
			[]want{missing, passAuthor}},
		{"an earlier commit cannot remediate a later one", individual, nil,
			[]Commit{bex(shaA, remedB+signoffBex), bex(shaB, noSignoff)}, []want{passAuthor, missing}},
		{"remediation does not excuse an invalid author email", individual, nil,
			[]Commit{mk(shaA, noSignoff, "bex", "bex@localhost"), mk(shaB, "I, bex <bex@localhost>, hereby add my Signed-off-by to this commit: "+shaA+"\n\nSigned-off-by: bex <bex@localhost>", "bex", "bex@localhost")},
			[]want{{StatusFail, RuleInvalidEmail, "bex@localhost is not a valid email address."}, {StatusFail, RuleInvalidEmail, "bex@localhost is not a valid email address."}}},
	})
}

func TestEvaluateThirdPartyRemediation(t *testing.T) {
	hiimbex := func(sha, msg string) Commit { return mk(sha, msg, "hiimbex", "hiimbex@disney.com") }
	runEvalCases(t, []evalCase{
		{"disabled by default", probot, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA+signoffHiimbx)}, []want{missing, passAuthor}},
		{"disabled with only individual remediation", individual, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA+signoffHiimbx)}, []want{missing, passAuthor}},
		{"needs individual remediation enabled too", thirdOnly, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA+signoffHiimbx)}, []want{missing, passAuthor}},
		{"by the same author", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), bex(shaB, "On behalf of bex <bex@disney.com>, I, bex <bex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffBex)},
			[]want{remedThird, passAuthor}},
		{"by a different author", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA+signoffHiimbx)}, []want{remedThird, passAuthor}},
		{"by the committer", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "On behalf of bex <bex@disney.com>, I, Bex Warner <bexmwarner@gmail.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffWarner)},
			[]want{remedThird, passCommitter}},
		{"by a verified org member", with2(membersFree, thirdParty.Remediation), map[string]bool{"hiimbex": true},
			[]Commit{with(bex(shaA, noSignoff), func(c *Commit) { c.AuthorLogin = "bex" }),
				with(hiimbex(shaB, thirdA+signoffWarner), func(c *Commit) { c.Verified = true })},
			[]want{remedThird, passCommitter}},
		{"redundant individual and third-party remediations", thirdParty, nil,
			[]Commit{bex(shaA, "Signed-off-by: bex <bex@disney.com>\n\nx\n\nSigned-off-by: bex <bex@disney.com>"), bex(shaB, remedA+signoffBex),
				hiimbex(shaC, "On behalf of bex <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaB+signoffWarner)},
			[]want{passAuthor, passAuthor, passCommitter}},
		{"individual remediation, then a redundant third-party one", thirdParty, nil,
			[]Commit{bex(shaA, "no signoff"), bex(shaB, remedA+signoffBex),
				hiimbex(shaC, "On behalf of bex <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaB+signoffWarner)},
			[]want{remedIndiv, passAuthor, passCommitter}},
		{"unsigned individual remediation fixed by a third party", thirdParty, nil,
			[]Commit{bex(shaA, "no signoff"), bex(shaB, remedA),
				hiimbex(shaC, "On behalf of bex <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaB+signoffWarner)},
			[]want{remedIndiv, remedThird, passCommitter}},
		{"unsigned third-party remediation fixed by its author", thirdParty, nil,
			[]Commit{bex(shaA, "no signoff"), hiimbex(shaB, thirdA),
				hiimbex(shaC, "I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaB+signoffHiimbx)},
			[]want{remedThird, remedIndiv, passAuthor}},
		{"unsigned third-party remediation fixed by another third party", thirdParty, nil,
			[]Commit{bex(shaA, "no signoff"), hiimbex(shaB, thirdA),
				mk(shaC, "On behalf of hiimbex <hiimbex@disney.com>, I, Bex Warner <bexmwarner@gmail.com>, hereby add my Signed-off-by to this commit: "+shaB+signoffWarner, "Bex Warner", "bexmwarner@gmail.com")},
			[]want{remedThird, remedThird, passAuthor}},
		{"chain ending in a commit signed off by its committer", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA),
				mk(shaC, "On behalf of hiimbex <hiimbex@disney.com>, I, Bex Warner <bexmwarner@gmail.com>, hereby add my Signed-off-by to this commit: "+shaB+signoffWarner, "Not Bex", "notbex@gmail.com")},
			[]want{remedThird, remedThird, passCommitter}},

		// Probot: failure patterns.
		{"names the wrong author email", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "On behalf of bex <hiimbex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffHiimbx)},
			[]want{missing, passAuthor}},
		{"names the wrong author name", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "On behalf of Bex Warner <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffHiimbx)},
			[]want{missing, passAuthor}},
		{"names the wrong SHA", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "On behalf of bex <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: 2222222222222222222222222222222222222222"+signoffHiimbx)},
			[]want{missing, passAuthor}},
		{"mangled sentence", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "For bex <bex@disney.com>, I, hiimbex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffHiimbx)},
			[]want{missing, passAuthor}},
		{"remediator email is not the committing one", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "On behalf of bex <bex@disney.com>, I, hiimbex <bex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffHiimbx)},
			[]want{missing, passAuthor}},
		{"remediator name is not the committing one", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, "On behalf of bex <bex@disney.com>, I, bex <hiimbex@disney.com>, hereby add my Signed-off-by to this commit: "+shaA+signoffHiimbx)},
			[]want{missing, passAuthor}},
		{"remediation without sign-off fails itself", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA)}, []want{remedThird, missing}},
		{"chain whose last link is unsigned", thirdParty, nil,
			[]Commit{bex(shaA, noSignoff), hiimbex(shaB, thirdA),
				mk(shaC, "On behalf of hiimbex <hiimbex@disney.com>, I, Bex Warner <bexmwarner@gmail.com>, hereby add my Signed-off-by to this commit: "+shaB, "Not Bex", "notbex@gmail.com")},
			[]want{remedThird, remedThird, missing}},
	})
}

func TestEvaluateExemptions(t *testing.T) {
	dependabot := Commit{SHA: shaA, Message: "Bump x from 1 to 2\n\nSigned-off-by: dependabot[bot] <support@github.com>",
		AuthorName: "dependabot[bot]", AuthorEmail: "49699333+dependabot[bot]@users.noreply.github.com",
		CommitterName: "GitHub", CommitterEmail: "noreply@github.com", AuthorLogin: "dependabot[bot]", AuthorType: "Bot", Verified: true}
	noBots := probot
	noBots.SkipBots = false
	byLogin := noBots
	byLogin.Allow.Logins = []string{"Dependabot[bot]"}
	bySignoff := noBots
	bySignoff.Allow.Emails = []string{"SUPPORT@github.com"}
	byAuthorEmail := noBots
	byAuthorEmail.Allow.Emails = []string{"49699333+dependabot[bot]@users.noreply.github.com"}
	verifiedMember := with(bex(shaA, noSignoff), func(c *Commit) { c.AuthorLogin, c.Verified = "Hiimbex", true })

	runEvalCases(t, []evalCase{
		{"bots skipped", probot, nil, []Commit{dependabot}, []want{{StatusSkip, RuleSkippedBot, ""}}},
		{"bots checked when skip_bots is off", noBots, nil, []Commit{dependabot},
			[]want{{StatusFail, RuleSignoffMismatch, `Expected "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>", but got "dependabot[bot] <support@github.com>".`}}},
		{"allowed login, any case", byLogin, nil, []Commit{dependabot}, []want{{StatusSkip, RuleAllowedLogin, ""}}},
		{"allowed author email", byAuthorEmail, nil, []Commit{dependabot}, []want{{StatusSkip, RuleAllowedEmail, ""}}},
		{"a passing commit passes on its own sign-off, not the allow list", bySignoff, nil,
			[]Commit{bex(shaA, signedBex+"\nSigned-off-by: dependabot[bot] <support@github.com>")}, []want{passAuthor}},
		{"Dependabot signs off as an allowed email", bySignoff, nil, []Commit{dependabot},
			[]want{{StatusSkip, RuleAllowedSignoffEmail, `Verified commit signed off by "dependabot[bot] <support@github.com>", whose email is on the allow list.`}}},
		{"anyone else cannot sign off as an allowed email", bySignoff, nil,
			[]Commit{bex(shaA, "Fix\n\nSigned-off-by: x <support@github.com>")}, []want{{StatusFail, RuleSignoffMismatch, ""}}},
		{"an unverified commit cannot claim an allowed author email", byAuthorEmail, nil,
			[]Commit{with(bex(shaA, noSignoff), func(c *Commit) { c.AuthorEmail = "49699333+dependabot[bot]@users.noreply.github.com" })},
			[]want{{StatusFail, RuleSignoffMissing, ""}}},
		{"members required: membership does not exempt", probot, map[string]bool{"hiimbex": true}, []Commit{verifiedMember}, []want{missing}},
		{"member lookup is case-insensitive", membersFree, map[string]bool{"hIIMBEX": true}, []Commit{verifiedMember}, []want{{StatusSkip, RuleMemberExempt, ""}}},
		{"non-member stays failing", membersFree, map[string]bool{"hiimbex": false}, []Commit{verifiedMember}, []want{missing}},
		{"membership unknown counts as non-member", membersFree, nil, []Commit{verifiedMember}, []want{missing}},
		{"member exemption comes before the email check, as in Probot", membersFree, map[string]bool{"hiimbex": true},
			[]Commit{with(verifiedMember, func(c *Commit) { c.Message, c.AuthorEmail = "x\n\nSigned-off-by: bex <bex@localhost>", "bex@localhost" })},
			[]want{{StatusSkip, RuleMemberExempt, ""}}},
		{"a member's signed-off commit passes on its sign-off", membersFree, map[string]bool{"hiimbex": true},
			[]Commit{with(verifiedMember, func(c *Commit) { c.Message = signedBex })}, []want{passAuthor}},
	})
}

func TestEvaluateNormalisation(t *testing.T) {
	composed, decomposed := "Jos\u00e9 M\u00fcller", "Jose\u0301 Mu\u0308ller"
	runEvalCases(t, []evalCase{
		{"decomposed sign-off, composed author", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: "+decomposed+" <jose@example.com>", composed, "jose@example.com")}, []want{passAuthor}},
		{"composed sign-off, decomposed author", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: "+composed+" <jose@example.com>", decomposed, "jose@example.com")}, []want{passAuthor}},
		{"case folding after normalisation", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: JOSE\u0301 MU\u0308LLER <JOSE@EXAMPLE.COM>", composed, "jose@example.com")}, []want{passAuthor}},
		{"trailing blanks in the author name", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: Ada <ada@example.com>", " Ada ", " ada@example.com")}, []want{passAuthor}},
		{"different letters stay different", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: Jose Muller <jose@example.com>", composed, "jose@example.com")},
			[]want{{StatusFail, RuleSignoffMismatch, ""}}},
		{"non-ASCII email", probot, nil,
			[]Commit{mk(shaA, "x\n\nSigned-off-by: Jörg <jörg@exämple.de>", "Jörg", "jörg@exämple.de")}, []want{passAuthor}},
	})
}

func TestEvaluateCompleteness(t *testing.T) {
	signed := []Commit{bex(shaA, signedBex), bex(shaB, signedBex)}
	tests := []struct {
		name       string
		in         Input
		conclusion string
		incomplete string
	}{
		{"all read", Input{Commits: signed, Config: probot, Expected: 2}, ConclusionSuccess, ""},
		{"expected unknown", Input{Commits: signed, Config: probot}, ConclusionSuccess, ""},
		{"fewer than expected", Input{Commits: signed, Config: probot, Expected: 3}, ConclusionFailure,
			"Read 2 of 3 commits: the commit list ended early. Every commit must be read to pass."},
		{"fewer than expected, with the reason", Input{Commits: signed, Config: probot, Expected: 300, Incomplete: "GitHub lists at most 250 commits of a pull request."},
			ConclusionFailure, "Read 2 of 300 commits: GitHub lists at most 250 commits of a pull request. Every commit must be read to pass."},
		{"count matches but the reader says incomplete", Input{Commits: signed, Config: probot, Expected: 2, Incomplete: "the last page failed"},
			ConclusionFailure, "Read 2 commits, but the list may be incomplete: the last page failed. Every commit must be read to pass."},
		{"failing commits and incomplete list", Input{Commits: []Commit{bex(shaA, noSignoff)}, Config: probot, Expected: 2}, ConclusionFailure,
			"Read 1 of 2 commits: the commit list ended early. Every commit must be read to pass."},
		{"nothing read", Input{Config: probot}, ConclusionFailure, "No commits were read, so there is nothing to check."},
		{"nothing read of some", Input{Config: probot, Expected: 4}, ConclusionFailure,
			"Read 0 of 4 commits: the commit list ended early. Every commit must be read to pass."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Evaluate(tc.in)
			if res.Conclusion != tc.conclusion || res.Incomplete != tc.incomplete {
				t.Errorf("got %q %q, want %q %q", res.Conclusion, res.Incomplete, tc.conclusion, tc.incomplete)
			}
			if len(res.Commits) != len(tc.in.Commits) {
				t.Errorf("%d verdicts for %d commits: the commits that were read are still explained", len(res.Commits), len(tc.in.Commits))
			}
		})
	}
}

func TestMembershipNeeded(t *testing.T) {
	member := func(sha, login, msg string, verified bool) Commit {
		return with(bex(sha, msg), func(c *Commit) { c.AuthorLogin, c.Verified = login, verified })
	}
	tests := []struct {
		name    string
		cfg     rules.DCO
		commits []Commit
		want    []string
	}{
		{"members required: never", probot, []Commit{member(shaA, "ada", noSignoff, true)}, nil},
		{"all signed off: none", membersFree, []Commit{member(shaA, "ada", signedBex, true), member(shaB, "bob", signedBex, true)}, nil},
		{"unverified failures cannot be exempt", membersFree, []Commit{member(shaA, "ada", noSignoff, false)}, nil},
		{"no account: nothing to ask", membersFree, []Commit{member(shaA, "", noSignoff, true)}, nil},
		{"merges and bots are skipped anyway", membersFree, []Commit{
			with(member(shaA, "ada", noSignoff, true), func(c *Commit) { c.ParentCount = 2 }),
			with(member(shaB, "bot[bot]", noSignoff, true), func(c *Commit) { c.AuthorType = "Bot" })}, nil},
		{"remediated failures need no lookup", with2(membersFree, rules.Remediation{Individual: true}),
			[]Commit{member(shaA, "ada", noSignoff, true), member(shaB, "ada", remedA+signoffBex, false)}, nil},
		{"each login once, in order, any case", membersFree, []Commit{
			member(shaA, "Bob", noSignoff, true), member(shaB, "ada", wrongBex, true),
			member(shaC, "bob", noSignoff, true), member("d", "cy", signedBex, true)}, []string{"Bob", "ada"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MembershipNeeded(tc.commits, tc.cfg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	// The logins asked for are exactly those whose answer flips a verdict.
	commits := []Commit{member(shaA, "ada", noSignoff, true), member(shaB, "bob", noSignoff, true)}
	members := map[string]bool{}
	for _, login := range MembershipNeeded(commits, membersFree) {
		members[login] = login == "ada"
	}
	res := Evaluate(Input{Commits: commits, Config: membersFree, Members: members})
	if res.Commits[0].Rule != RuleMemberExempt || res.Commits[1].Rule != RuleSignoffMissing {
		t.Errorf("membership answers not applied: %+v", res.Commits)
	}
}

func TestValidEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"ada@example.com":                        true,
		"ada.lovelace+dco@mail.example.org":      true,
		"12345+ada@users.noreply.github.com":     true,
		"o'brien@example.ie":                     true,
		"jörg@exämple.de":                        true,
		"":                                       false,
		"ada":                                    false,
		"ada@localhost":                          false,
		"ada@example.c":                          false,
		"ada@example.123":                        false,
		"ada@@example.com":                       false,
		"a@b@example.com":                        false,
		"ada lovelace@example.com":               false,
		".ada@example.com":                       false,
		"ada..l@example.com":                     false,
		"ada@-example.com":                       false,
		"ada@example..com":                       false,
		"ada(at)example.com":                     false,
		strings.Repeat("a", 65) + "@example.com": false,
	} {
		if got := validEmail(email); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestFromGitHubFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "github", "rest", "pulls-list-commits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list []*github.RepositoryCommit
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	got := FromGitHub(list)
	want := []Commit{{
		SHA:            "6dcb09b5b57875f334f61aebed695e2e4193db5e",
		URL:            "https://github.com/octocat/Hello-World/commit/6dcb09b5b57875f334f61aebed695e2e4193db5e",
		Message:        "Fix all the bugs",
		AuthorName:     "Monalisa Octocat",
		AuthorEmail:    "support@github.com",
		CommitterName:  "Monalisa Octocat",
		CommitterEmail: "support@github.com",
		AuthorLogin:    "octocat",
		AuthorType:     "User",
		ParentCount:    1,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromGitHub:\n got %+v\nwant %+v", got, want)
	}
	res := Evaluate(Input{Commits: got, Config: probot, Expected: 1})
	if res.Conclusion != ConclusionActionRequired || res.Commits[0].Rule != RuleSignoffMissing {
		t.Errorf("GitHub's example commit has no sign-off, got %+v", res)
	}
}

func TestFromGitHubToleratesMissingFields(t *testing.T) {
	got := FromGitHub([]*github.RepositoryCommit{{}, {SHA: github.String("abc"), Commit: &github.Commit{}}})
	if len(got) != 2 || got[1].SHA != "abc" {
		t.Errorf("got %+v", got)
	}
}

// TestFromGitHub_NullCommits: a commit list with null entries, in the
// shapes a compare response or a commits file for `contribot dco check`
// may take, once panicked at len(rc.Parents). A null is no commit; the
// list falls short of the expected count, and the check fails closed.
func TestFromGitHub_NullCommits(t *testing.T) {
	tests := []struct {
		name, json string
		total      int
		want       []string
	}{
		{"compare response: a null commit", `{"commits":[null],"total_commits":1}`, 1, nil},
		{"compare response: null between commits", `{"commits":[{"sha":"a"},null,{"sha":"b"}],"total_commits":3}`, 3, []string{"a", "b"}},
		{"compare response: null parts of a commit", `{"commits":[{"sha":"a","commit":null,"parents":[null],"author":null}],"total_commits":1}`, 1, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cmp struct {
				Commits []*github.RepositoryCommit `json:"commits"`
			}
			if err := json.Unmarshal([]byte(tt.json), &cmp); err != nil {
				t.Fatal(err)
			}
			got := FromGitHub(cmp.Commits)
			var shas []string
			for _, c := range got {
				shas = append(shas, c.SHA)
			}
			if !reflect.DeepEqual(shas, tt.want) {
				t.Errorf("FromGitHub gives %q, want %q", shas, tt.want)
			}
			res := Evaluate(Input{Commits: got, Config: probot, Expected: tt.total})
			if len(got) < tt.total && res.Conclusion != ConclusionFailure {
				t.Errorf("a list short of its null commits concludes %s, want %s: %+v", res.Conclusion, ConclusionFailure, res)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	res := Evaluate(Input{Commits: []Commit{bex(shaA, noSignoff)}, Config: probot, Expected: 1})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Conclusion string `json:"conclusion"`
		Commits    []struct{ SHA, Status, Reason, Rule string }
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Conclusion != "action_required" || len(back.Commits) != 1 || back.Commits[0].SHA != shaA ||
		back.Commits[0].Status != "fail" || back.Commits[0].Rule != RuleSignoffMissing || back.Commits[0].Reason != "The sign-off is missing." {
		t.Errorf("round trip: %s", b)
	}
}
