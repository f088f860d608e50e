package dco

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/go-github/v60/github"
	"golang.org/x/text/unicode/norm"

	"github.com/SovereignCloudStack/contribot/rules"
)

// Commit is what the sign-off rules know about one commit. It is plain data
// so that the rules can be tested, and run from the CLI, without GitHub.
type Commit struct {
	SHA            string `json:"sha"`
	URL            string `json:"url,omitempty"`
	Message        string `json:"message"`
	AuthorName     string `json:"author_name"`
	AuthorEmail    string `json:"author_email"`
	CommitterName  string `json:"committer_name"`
	CommitterEmail string `json:"committer_email"`
	// AuthorLogin and AuthorType describe the GitHub account GitHub matched
	// to the author email; both are empty when it matched none.
	AuthorLogin string `json:"author_login,omitempty"`
	AuthorType  string `json:"author_type,omitempty"`
	ParentCount int    `json:"parent_count"`
	// Verified is GitHub's verdict on the commit's signature.
	Verified bool `json:"verified"`
}

// FromGitHub converts GitHub's commit listing (pull request commits or a
// compare) into plain commits, in the same order. A null entry, which
// GitHub does not send but a proxy or a hand-made file may, is no commit
// and is left out: the list then falls short of the count the pull request
// or compare gives, and the check fails closed instead of panicking.
func FromGitHub(list []*github.RepositoryCommit) []Commit {
	out := make([]Commit, 0, len(list))
	for _, rc := range list {
		if rc == nil {
			continue
		}
		gc := rc.GetCommit()
		out = append(out, Commit{
			SHA:            rc.GetSHA(),
			URL:            rc.GetHTMLURL(),
			Message:        gc.GetMessage(),
			AuthorName:     gc.GetAuthor().GetName(),
			AuthorEmail:    gc.GetAuthor().GetEmail(),
			CommitterName:  gc.GetCommitter().GetName(),
			CommitterEmail: gc.GetCommitter().GetEmail(),
			AuthorLogin:    rc.GetAuthor().GetLogin(),
			AuthorType:     rc.GetAuthor().GetType(),
			ParentCount:    len(rc.Parents),
			Verified:       gc.GetVerification().GetVerified(),
		})
	}
	return out
}

// Input is everything Evaluate decides from.
type Input struct {
	// Commits in history order, oldest first: a remediation commit only
	// counts for commits before it.
	Commits []Commit
	Config  rules.DCO
	// Members holds the org membership of the logins MembershipNeeded asked
	// for. A login that is absent counts as not a member.
	Members map[string]bool
	// Expected is how many commits the pull request has (0 if unknown).
	// Reading fewer fails the check: an unread commit is an unchecked one.
	Expected int
	// Incomplete, when set, says why Commits may not be the whole list.
	Incomplete string
}

// Status is the outcome for one commit.
type Status string

const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Conclusions, as GitHub's check runs name them. action_required is for
// commits a contributor can fix; failure is for a verdict that could not be
// reached, which no amount of signing off would fix.
const (
	ConclusionSuccess        = "success"
	ConclusionActionRequired = "action_required"
	ConclusionFailure        = "failure"
)

// The rules a verdict can name, so every outcome says why.
const (
	RuleSignoffAuthor        = "signoff-matches-author"
	RuleSignoffCommitter     = "signoff-matches-committer"
	RuleRemediatedIndividual = "remediated-individual"
	RuleRemediatedThirdParty = "remediated-third-party"
	RuleSkippedMerge         = "skipped-merge"
	RuleSkippedBot           = "skipped-bot"
	RuleAllowedLogin         = "allowed-login"
	RuleAllowedEmail         = "allowed-email"
	RuleAllowedSignoffEmail  = "allowed-signoff-email"
	RuleMemberExempt         = "member-exempt"
	RuleSignoffMissing       = "signoff-missing"
	RuleSignoffNotTrailer    = "signoff-not-in-trailers"
	RuleSignoffMalformed     = "signoff-malformed"
	RuleSignoffMismatch      = "signoff-mismatch"
	RuleInvalidEmail         = "invalid-email"
	RuleMemberUnverified     = "member-unverified"
)

// Verdict is the decision for one commit.
type Verdict struct {
	SHA         string   `json:"sha"`
	URL         string   `json:"url,omitempty"`
	Author      Identity `json:"author"`
	AuthorLogin string   `json:"author_login,omitempty"`
	Status      Status   `json:"status"`
	// Reason is one sentence for the contributor; failures use the Probot
	// DCO app's wording (plain double quotes, no escaping), which many
	// contributors already know.
	Reason string `json:"reason"`
	Rule   string `json:"rule"`
	// By is the remediation commit that signed this one off.
	By string `json:"by,omitempty"`
}

// Result is the verdict on a list of commits.
type Result struct {
	Conclusion string    `json:"conclusion"`
	Commits    []Verdict `json:"commits"`
	Expected   int       `json:"expected,omitempty"`
	// Incomplete explains a failure conclusion that is about the input, not
	// about any commit.
	Incomplete string `json:"incomplete,omitempty"`
}

func (r Result) count(s Status) int {
	n := 0
	for _, v := range r.Commits {
		if v.Status == s {
			n++
		}
	}
	return n
}

// Passed, Failed and Skipped count the commits by status.
func (r Result) Passed() int  { return r.count(StatusPass) }
func (r Result) Failed() int  { return r.count(StatusFail) }
func (r Result) Skipped() int { return r.count(StatusSkip) }

// Evaluate applies the sign-off rules to every commit. It never does I/O:
// org membership comes in through Input.Members (see MembershipNeeded).
func Evaluate(in Input) Result {
	res := Result{Expected: in.Expected, Commits: make([]Verdict, 0, len(in.Commits))}
	e := evaluator{in: in, members: map[string]bool{}}
	for login, ok := range in.Members {
		e.members[strings.ToLower(login)] = ok
	}
	if in.Config.Remediation.Individual {
		e.claims = collectClaims(in.Commits, in.Config.Remediation.ThirdParty)
	}
	for i := range in.Commits {
		res.Commits = append(res.Commits, e.decide(i))
	}

	read := len(in.Commits)
	switch {
	case in.Incomplete != "" || read < in.Expected:
		res.Incomplete = incompleteReason(read, in.Expected, in.Incomplete)
	case read == 0:
		// Nothing read is not the same as nothing wrong.
		res.Incomplete = "No commits were read, so there is nothing to check."
	}
	switch {
	case res.Incomplete != "":
		res.Conclusion = ConclusionFailure
	case res.Failed() > 0:
		res.Conclusion = ConclusionActionRequired
	default:
		res.Conclusion = ConclusionSuccess
	}
	return res
}

func incompleteReason(read, expected int, why string) string {
	why = strings.TrimRight(strings.TrimSpace(why), ".")
	if why == "" {
		why = "the commit list ended early"
	}
	if expected > read {
		return fmt.Sprintf("Read %d of %d commits: %s. Every commit must be read to pass.", read, expected, why)
	}
	return fmt.Sprintf("Read %d commits, but the list may be incomplete: %s. Every commit must be read to pass.", read, why)
}

// MembershipNeeded lists the logins whose org membership could change the
// result: authors of verified commits that fail on their own, when members
// are exempt. The handler looks up each at most once, and none at all when
// every commit is signed off.
func MembershipNeeded(commits []Commit, cfg rules.DCO) []string {
	if cfg.Require.Members {
		return nil
	}
	res := Evaluate(Input{Commits: commits, Config: cfg})
	var out []string
	seen := map[string]bool{}
	for i, v := range res.Commits {
		c := commits[i]
		key := strings.ToLower(c.AuthorLogin)
		if v.Status != StatusFail || !c.Verified || key == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, c.AuthorLogin)
	}
	return out
}

type evaluator struct {
	in      Input
	members map[string]bool
	claims  map[string][]claim
}

func (e *evaluator) decide(i int) Verdict {
	c := e.in.Commits[i]
	cfg := e.in.Config
	author := Identity{c.AuthorName, c.AuthorEmail}
	committer := Identity{c.CommitterName, c.CommitterEmail}
	v := Verdict{SHA: c.SHA, URL: c.URL, Author: author, AuthorLogin: c.AuthorLogin}
	pass := func(rule, reason string) Verdict { v.Status, v.Rule, v.Reason = StatusPass, rule, reason; return v }
	skip := func(rule, reason string) Verdict { v.Status, v.Rule, v.Reason = StatusSkip, rule, reason; return v }
	fail := func(rule, reason string) Verdict { v.Status, v.Rule, v.Reason = StatusFail, rule, reason; return v }

	// Emails are whatever the committer typed; an allow-listed email counts
	// only on a commit whose signature GitHub verified (Dependabot's are
	// signed by GitHub) or whose author GitHub knows as a bot. Otherwise
	// anyone could commit as support@github.com and skip the check.
	vouched := c.Verified || strings.EqualFold(c.AuthorType, "Bot")
	switch {
	case c.ParentCount > 1:
		return skip(RuleSkippedMerge, "Merge commit; merge commits are not checked.")
	case cfg.SkipBots && strings.EqualFold(c.AuthorType, "Bot"):
		return skip(RuleSkippedBot, fmt.Sprintf("Authored by the bot account %s.", c.AuthorLogin))
	case c.AuthorLogin != "" && containsFold(cfg.Allow.Logins, c.AuthorLogin):
		return skip(RuleAllowedLogin, fmt.Sprintf("The author's account %s is on the allow list.", c.AuthorLogin))
	case vouched && c.AuthorEmail != "" && containsFold(cfg.Allow.Emails, c.AuthorEmail):
		return skip(RuleAllowedEmail, fmt.Sprintf("Verified commit; the author's email %s is on the allow list.", c.AuthorEmail))
	}

	all := parseSignOffs(c.Message)
	var ids []Identity
	for _, s := range all {
		if s.OK {
			ids = append(ids, s.Identity)
		}
	}
	// The Probot DCO app checks the author's address (or the committer's,
	// when the author has none) whenever there is a sign-off to check.
	email := c.AuthorEmail
	if email == "" {
		email = c.CommitterEmail
	}
	invalid := fmt.Sprintf("%s is not a valid email address.", strings.TrimSpace(email))

	for _, id := range ids {
		if !validEmail(email) {
			break // reported below, unless an exemption applies
		}
		if sameIdentity(id, author) {
			return pass(RuleSignoffAuthor, fmt.Sprintf("Signed off by the author, \"%s\".", id.String()))
		}
		if sameIdentity(id, committer) {
			return pass(RuleSignoffCommitter, fmt.Sprintf("Signed off by the committer, \"%s\".", id.String()))
		}
	}

	// Automation such as Dependabot signs off under an address that is not
	// its commit author's. Any commit can carry such a line, so this exempts
	// only what the allow list names, and only commits that fail otherwise.
	for _, id := range ids {
		if vouched && containsFold(cfg.Allow.Emails, id.Email) {
			return skip(RuleAllowedSignoffEmail, fmt.Sprintf("Verified commit signed off by \"%s\", whose email is on the allow list.", id.String()))
		}
	}

	login := strings.ToLower(c.AuthorLogin)
	if !cfg.Require.Members && c.Verified && login != "" && e.members[login] {
		return skip(RuleMemberExempt, fmt.Sprintf("Verified commit by organization member %s.", c.AuthorLogin))
	}

	if r, ok := e.remediation(i, author); ok {
		if !validEmail(email) {
			return fail(RuleInvalidEmail, invalid)
		}
		v.By = r.by
		if r.thirdParty {
			return pass(RuleRemediatedThirdParty, fmt.Sprintf("Signed off on behalf of the author by \"%s\" in remediation commit %s.", r.signer.String(), shortSHA(r.by)))
		}
		return pass(RuleRemediatedIndividual, fmt.Sprintf("Signed off by the author in remediation commit %s.", shortSHA(r.by)))
	}

	want := author.String()
	if len(ids) == 0 {
		for _, s := range all {
			if s.Raw != "" {
				return fail(RuleSignoffMalformed, fmt.Sprintf("Expected \"%s\", but got \"%s\".", want, s.Raw))
			}
		}
		switch {
		case len(all) == 0 && hasStraySignOff(c.Message):
			return fail(RuleSignoffNotTrailer, "The sign-off is missing. A Signed-off-by line was found, but not in the last paragraph of the message, where git looks for it.")
		case !cfg.Require.Members && !c.Verified && e.members[login]:
			return fail(RuleMemberUnverified, "Commit by organization member is not verified.")
		}
		return fail(RuleSignoffMissing, "The sign-off is missing.")
	}
	if !validEmail(email) {
		return fail(RuleInvalidEmail, invalid)
	}
	if len(ids) == 1 {
		return fail(RuleSignoffMismatch, fmt.Sprintf("Expected \"%s\", but got \"%s\".", want, ids[0].String()))
	}
	got := make([]string, len(ids))
	for k, id := range ids {
		got[k] = fmt.Sprintf("\"%s\"", id.String())
	}
	return fail(RuleSignoffMismatch, fmt.Sprintf("Can not find \"%s\", in [%s].", want, strings.Join(got, ", ")))
}

// claim is one remediation sentence: a later commit (by) signing off an
// earlier one, either for its author (individual) or on the author's behalf.
type claim struct {
	by         string
	at         int
	thirdParty bool
	// author is who the sentence says the earlier commit is by; signer is
	// who signs it off. They are the same person for an individual claim.
	author, signer Identity
	// byAuthor and byCommitter are the identities of the claiming commit.
	byAuthor, byCommitter Identity
}

// The remediation sentences of the Probot DCO app, which contributors copy
// from its check runs and from ours (see render.go).
var (
	individualRe = regexp.MustCompile(`(?i)^I, (.*) <(.*)>, hereby add my Signed-off-by to this commit: (.*)$`)
	thirdPartyRe = regexp.MustCompile(`(?i)^On behalf of (.*) <(.*)>, I, (.*) <(.*)>, hereby add my Signed-off-by to this commit: (.*)$`)
)

// collectClaims indexes every remediation sentence by the SHA it names, so
// that evaluating n commits reads each message once.
func collectClaims(commits []Commit, thirdParty bool) map[string][]claim {
	out := map[string][]claim{}
	for i, c := range commits {
		base := claim{by: c.SHA, at: i,
			byAuthor:    Identity{c.AuthorName, c.AuthorEmail},
			byCommitter: Identity{c.CommitterName, c.CommitterEmail}}
		for _, line := range strings.Split(c.Message, "\n") {
			line = strings.TrimSpace(line)
			if m := individualRe.FindStringSubmatch(line); m != nil {
				cl := base
				cl.author = Identity{m[1], m[2]}
				cl.signer = cl.author
				key := strings.ToLower(strings.TrimSpace(m[3]))
				out[key] = append(out[key], cl)
				continue
			}
			if !thirdParty {
				continue
			}
			if m := thirdPartyRe.FindStringSubmatch(line); m != nil {
				cl := base
				cl.thirdParty = true
				cl.author = Identity{m[1], m[2]}
				cl.signer = Identity{m[3], m[4]}
				key := strings.ToLower(strings.TrimSpace(m[5]))
				out[key] = append(out[key], cl)
			}
		}
	}
	return out
}

// remediation finds a later commit that validly signs off commit i. An
// individual remediation must be authored by the same person as commit i and
// name that person; a third-party one must name commit i's author and be
// signed by the claiming commit's author or committer (Probot's rules).
func (e *evaluator) remediation(i int, author Identity) (claim, bool) {
	sha := strings.ToLower(e.in.Commits[i].SHA)
	if sha == "" {
		return claim{}, false
	}
	for _, cl := range e.claims[sha] {
		if cl.at <= i || !sameIdentity(cl.author, author) {
			continue
		}
		if !cl.thirdParty && sameIdentity(cl.byAuthor, author) {
			return cl, true
		}
		if cl.thirdParty && (sameIdentity(cl.signer, cl.byAuthor) || sameIdentity(cl.signer, cl.byCommitter)) {
			return cl, true
		}
	}
	return claim{}, false
}

// hasStraySignOff reports a Signed-off-by line that git does not see as a
// trailer, so the contributor learns why their line did not count.
func hasStraySignOff(msg string) bool {
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if len(line) > len(signOffKey) && strings.EqualFold(line[:len(signOffKey)], signOffKey) &&
			strings.HasPrefix(strings.TrimSpace(line[len(signOffKey):]), ":") {
			return true
		}
	}
	return false
}

// canonical is how names and emails are compared: people retype their name
// in a sign-off, and the same "é" can be one code point or two.
func canonical(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

func sameText(a, b string) bool { return strings.EqualFold(canonical(a), canonical(b)) }

func sameIdentity(a, b Identity) bool {
	return canonical(a.Email) != "" && sameText(a.Name, b.Name) && sameText(a.Email, b.Email)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if sameText(x, s) {
			return true
		}
	}
	return false
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// validEmail catches the addresses of a misconfigured git ("root@localhost",
// "(none)", "me@my-laptop"), as the Probot DCO app does: one '@', a dotted
// domain whose last label has two or more characters and starts with a
// letter, RFC length limits. It is laxer in the local part, which GitHub's
// own bot addresses ("49699333+dependabot[bot]@users.noreply.github.com")
// need, and accepts letters outside ASCII, which real addresses have.
func validEmail(email string) bool {
	local, domain, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok || strings.Contains(domain, "@") || local == "" || len(local) > 64 || len(domain) > 255 {
		return false
	}
	for _, part := range strings.Split(local, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"(),:;<>\`, r) {
				return false
			}
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return false
			}
		}
	}
	tld := []rune(labels[len(labels)-1])
	return len(tld) >= 2 && unicode.IsLetter(tld[0])
}
