package dco

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/markdown"
	"github.com/SovereignCloudStack/contribot/rules"
)

// RenderContext is what the check run text needs beyond the verdict.
type RenderContext struct {
	Owner, Repo string
	// Number is the pull request; 0 for a merge group or the CLI.
	Number  int
	BaseRef string
	BaseSHA string
	// Base, when set, is used verbatim as the revision to rebase onto (the
	// CLI knows it from the range it was given).
	Base    string
	HeadRef string
	HeadSHA string
	// Remediation decides whether the text offers remediation commits.
	Remediation rules.Remediation
	// Problems and Warnings come from loading the rules (file:line:column).
	Problems []string
	Warnings []string
	// MergeGroup is set when the commits are a merge queue's, so the fix
	// happens in the pull requests rather than on this branch.
	MergeGroup bool
	// RecheckCommand and Override are mentioned when set, so contributors and
	// maintainers learn the ways to re-run or accept the check.
	RecheckCommand string
	Override       bool
}

// Output is a check run's output.
type Output struct {
	Title   string
	Summary string
	Text    string
}

// maxOutputBytes keeps summary and text under GitHub's 65,535-character
// limit on each. Bytes are never fewer than characters in any counting
// GitHub might use, and the margin absorbs the notes added after cutting.
const maxOutputBytes = 65000

const dcoURL = "https://developercertificate.org/"

// Render turns a result into the DCO check run's title, summary and text:
// short, exact and actionable for the contributor who has to fix it.
func Render(res Result, ctx RenderContext) Output {
	failed := failing(res)
	// GitHub rejects invalid UTF-8, which commits and refs may contain.
	valid := func(s string) string { return strings.ToValidUTF8(s, "\ufffd") }
	return Output{
		Title:   title(res, len(failed)),
		Summary: capText(valid(summary(res, ctx, failed)), maxOutputBytes),
		Text:    capText(valid(text(res, ctx, failed)), maxOutputBytes),
	}
}

func failing(res Result) []Verdict {
	var out []Verdict
	for _, v := range res.Commits {
		if v.Status == StatusFail {
			out = append(out, v)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func title(res Result, failed int) string {
	total := len(res.Commits)
	switch res.Conclusion {
	case ConclusionFailure:
		if total == 0 && res.Expected == 0 {
			return "No commits to check"
		}
		return "Could not read all commits"
	case ConclusionActionRequired:
		if total == 1 {
			return "The commit lacks a sign-off"
		}
		return fmt.Sprintf("%d of %d commits %s a sign-off", failed, total, plural(failed, "lacks", "lack"))
	}
	skipped := res.Skipped()
	switch {
	case skipped == 0 && total == 1:
		return "The commit is signed off"
	case skipped == 0:
		return fmt.Sprintf("All %d commits are signed off", total)
	case skipped == total && total == 1:
		return "The commit is exempt from sign-off"
	case skipped == total:
		return fmt.Sprintf("All %d commits are exempt from sign-off", total)
	}
	return fmt.Sprintf("All %d commits pass: %d signed off, %d exempt", total, total-skipped, skipped)
}

func where(ctx RenderContext) string {
	if ctx.MergeGroup {
		return "this merge group"
	}
	return "this pull request"
}

func summary(res Result, ctx RenderContext, failed []Verdict) string {
	var b strings.Builder
	writeProblems(&b, ctx)
	total := len(res.Commits)
	switch res.Conclusion {
	case ConclusionFailure:
		fmt.Fprintf(&b, "**The DCO check could not reach a verdict.** %s\n\n", markdown.Text(res.Incomplete))
		if len(failed) > 0 {
			fmt.Fprintf(&b, "Of the commits read, %d %s a valid sign-off; see below.\n\n", len(failed), plural(len(failed), "lacks", "lack"))
		}
		b.WriteString("Re-run the check to try again.\n")
	case ConclusionActionRequired:
		fmt.Fprintf(&b, "**%d of %d %s** in %s %s a valid `Signed-off-by` line. ", len(failed), total,
			plural(total, "commit", "commits"), where(ctx), plural(len(failed), "lacks", "lack"))
		fmt.Fprintf(&b, "Each commit must be signed off by its author or committer to certify the [Developer Certificate of Origin](%s).\n\n", dcoURL)
		cmds := fixCommands(res, ctx, failed)
		switch {
		case onlyRule(failed, RuleInvalidEmail) && strings.HasPrefix(cmds[0], "git commit --amend"):
			fmt.Fprintf(&b, "Set your real address with `git config user.email`, then run %s and %s.",
				markdown.Code("git commit --amend --no-edit --reset-author --signoff"), markdown.Code(cmds[1]))
		case onlyRule(failed, RuleInvalidEmail):
			b.WriteString("Set your real address with `git config user.email` and give the commits a new author.")
		default:
			fmt.Fprintf(&b, "To fix it, run %s and then %s.", markdown.Code(cmds[0]), markdown.Code(cmds[1]))
		}
		if ctx.Remediation.Individual && !ctx.MergeGroup && offersRemediation(failed) {
			b.WriteString(" To keep the history instead, add a remediation commit.")
		}
		b.WriteString(" The details are below.\n")
	default:
		fmt.Fprintf(&b, "Every commit in %s is signed off by its author or committer, or exempt, as the [Developer Certificate of Origin](%s) asks.\n", where(ctx), dcoURL)
		if notes := passNotes(res); notes != "" {
			b.WriteString("\n" + notes)
		}
	}
	return b.String()
}

// writeProblems puts rules problems first: a broken rules file changes what
// the check enforces, and the org admin must see it before anything else.
func writeProblems(b *strings.Builder, ctx RenderContext) {
	list := func(heading string, items []string) {
		if len(items) == 0 {
			return
		}
		b.WriteString(heading + "\n\n")
		const maxItems = 20
		for i, it := range items {
			if i == maxItems {
				fmt.Fprintf(b, "- …and %d more\n", len(items)-maxItems)
				break
			}
			fmt.Fprintf(b, "- %s\n", markdown.Code(ellipsis(it, 500)))
		}
		b.WriteString("\n")
	}
	list("> [!WARNING]\n> **The contribot rules have problems.** The files below were skipped; this check used the remaining rules.", ctx.Problems)
	list("**These rules settings were not applied** (a section locked by the org default, or a key allowed only in another file); remove them or ask an org admin:", ctx.Warnings)
}

// passNotes explains passes that are not plain sign-offs.
func passNotes(res Result) string {
	counts := map[string]int{}
	for _, v := range res.Commits {
		counts[v.Rule]++
	}
	var notes []string
	add := func(n int, one, many string) {
		if n > 0 {
			notes = append(notes, fmt.Sprintf("%d %s", n, plural(n, one, many)))
		}
	}
	add(counts[RuleRemediatedIndividual]+counts[RuleRemediatedThirdParty], "signed off by a remediation commit", "signed off by remediation commits")
	add(counts[RuleSkippedMerge], "merge commit (not checked)", "merge commits (not checked)")
	add(counts[RuleSkippedBot], "commit by a bot", "commits by bots")
	add(counts[RuleAllowedLogin]+counts[RuleAllowedEmail]+counts[RuleAllowedSignoffEmail], "commit by an allow-listed account", "commits by allow-listed accounts")
	add(counts[RuleMemberExempt], "verified commit by an org member", "verified commits by org members")
	if len(notes) == 0 {
		return ""
	}
	return "Not signed off directly: " + strings.Join(notes, ", ") + ".\n"
}

// FixCommands returns the shell commands that add the missing sign-offs:
// amend when only the head commit fails, a rebase of the branch otherwise.
// It returns nil when no commit fails.
func FixCommands(res Result, ctx RenderContext) []string {
	failed := failing(res)
	if len(failed) == 0 {
		return nil
	}
	return fixCommands(res, ctx, failed)
}

func fixCommands(res Result, ctx RenderContext, failed []Verdict) []string {
	last := len(res.Commits) - 1
	if !ctx.MergeGroup && res.Incomplete == "" && len(failed) == 1 && last >= 0 && res.Commits[last].SHA == failed[0].SHA {
		return []string{"git commit --amend --no-edit --signoff", "git push --force-with-lease"}
	}
	base := fmt.Sprintf("HEAD~%d", len(res.Commits))
	// HEAD~N needs nothing fetched, which matters for contributors whose
	// origin is their fork; it is exact when the branch has no merges.
	linear := res.Incomplete == ""
	for _, v := range res.Commits {
		linear = linear && v.Rule != RuleSkippedMerge
	}
	switch {
	case ctx.Base != "":
		base = shellWord(ctx.Base)
	case linear && !ctx.MergeGroup:
		// keep HEAD~N
	case isHex(ctx.BaseSHA):
		base = ctx.BaseSHA
	case ctx.BaseRef != "":
		base = shellWord("origin/" + strings.TrimPrefix(ctx.BaseRef, "refs/heads/"))
	}
	return []string{"git rebase --signoff " + base, "git push --force-with-lease"}
}

func text(res Result, ctx RenderContext, failed []Verdict) string {
	if len(failed) == 0 {
		heading := "### How each commit passed\n\n"
		if res.Conclusion == ConclusionFailure {
			heading = "### The commits that were read\n\n"
		}
		rows := make([]string, len(res.Commits))
		for i, v := range res.Commits {
			rows[i] = tableRow(v, ctx)
		}
		tbl := section{blocks: []block{{head: heading + "| Commit | Author | Result |\n| --- | --- | --- |\n", lines: rows}}, more: moreCommits}
		return tbl.render(maxOutputBytes - 200)
	}

	var b strings.Builder
	rows := make([]string, len(failed))
	for i, v := range failed {
		rows[i] = tableRow(v, ctx)
	}
	table := section{blocks: []block{{head: "### Commits without a valid sign-off\n\n| Commit | Author | Problem |\n| --- | --- | --- |\n", lines: rows}}, more: moreCommits}

	var fix strings.Builder
	fix.WriteString("\n### Fix: sign off the commits\n\n")
	cmds := fixCommands(res, ctx, failed)
	switch {
	case ctx.MergeGroup:
		fix.WriteString("These commits came from pull requests in this merge group. Fix them in their pull request's branch, which takes them out of the queue:\n\n")
	case strings.HasPrefix(cmds[0], "git commit --amend"):
		fix.WriteString("Only the last commit lacks a sign-off. Amend it and update the pull request:\n\n")
	default:
		fix.WriteString("Add a sign-off to every commit of the branch and update the pull request:\n\n")
	}
	fix.WriteString(codeBlock("sh", strings.Join(cmds, "\n")+"\n"))
	fix.WriteString("\n`--signoff` adds `Signed-off-by:` with your `git config user.name` and `user.email`; they must match the commit's author or committer. ")
	fix.WriteString("Signing off someone else's commit certifies that you may pass it on (DCO clause c). ")
	fix.WriteString("Next time, `git commit -s` signs off as you commit.\n")
	if hasRule(failed, RuleInvalidEmail) {
		fix.WriteString("\nA commit whose author email is invalid needs a new author: set `git config user.email` to your real address, then `git commit --amend --no-edit --reset-author --signoff` (or `git rebase --signoff --exec 'git commit --amend --no-edit --reset-author'` for several commits).\n")
	}

	var rem []section
	if ctx.Remediation.Individual && !ctx.MergeGroup {
		rem = remediationSections(failed, ctx.Remediation.ThirdParty)
	}

	var foot strings.Builder
	if ctx.Override && !ctx.MergeGroup {
		foot.WriteString("\nMaintainers can accept these commits without a sign-off with **Set DCO to pass** above.\n")
	}
	if ctx.RecheckCommand != "" && !ctx.MergeGroup {
		fmt.Fprintf(&foot, "\nThe check runs again on every push, or when someone comments %s.\n", markdown.Code(ctx.RecheckCommand))
	}

	// Share what is left after the fixed parts between the table and the
	// remediation texts, so a huge pull request still gets a usable page.
	sections := append([]section{table}, rem...)
	needs := make([]int, len(sections))
	for i, s := range sections {
		needs[i] = s.size()
	}
	budget := maxOutputBytes - fix.Len() - foot.Len() - 200*len(sections)
	alloc := allocate(needs, budget)

	b.WriteString(sections[0].render(alloc[0]))
	b.WriteString(fix.String())
	for i, s := range sections[1:] {
		b.WriteString(s.render(alloc[i+1]))
	}
	b.WriteString(foot.String())
	return b.String()
}

func onlyRule(vs []Verdict, rule string) bool {
	for _, v := range vs {
		if v.Rule != rule {
			return false
		}
	}
	return len(vs) > 0
}

func hasRule(vs []Verdict, rule string) bool {
	for _, v := range vs {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

func moreCommits(n int) string {
	return fmt.Sprintf("\n…and %d more %s, not shown to keep this page within GitHub's size limit.\n", n, plural(n, "commit", "commits"))
}

// section is a heading and blocks of lines, cut to a byte budget between
// lines, never inside one. A block (a table, a code block) keeps its head and
// foot whenever any of its lines is shown, so what is shown stays well-formed.
type section struct {
	head   string
	blocks []block
	// more notes how many lines (commits) were left out.
	more func(omitted int) string
}

type block struct {
	head  string
	lines []string
	foot  string
}

func (s section) size() int {
	n := len(s.head)
	for _, bl := range s.blocks {
		n += len(bl.head) + len(bl.foot)
		for _, l := range bl.lines {
			n += len(l)
		}
	}
	return n
}

// render writes as many lines as fit in budget bytes. A section none of
// whose lines fit is left out, except for the note.
func (s section) render(budget int) string {
	var body strings.Builder
	used, omitted := len(s.head), 0
	for _, bl := range s.blocks {
		size := len(bl.head) + len(bl.foot)
		n := 0
		for n < len(bl.lines) && used+size+len(bl.lines[n]) <= budget {
			size += len(bl.lines[n])
			n++
		}
		omitted += len(bl.lines) - n
		if n == 0 {
			continue
		}
		used += size
		body.WriteString(bl.head)
		for _, l := range bl.lines[:n] {
			body.WriteString(l)
		}
		body.WriteString(bl.foot)
	}
	out := ""
	if body.Len() > 0 {
		out = s.head + body.String()
	}
	if omitted > 0 && s.more != nil {
		out += s.more(omitted)
	}
	return out
}

// allocate shares total bytes among needs, giving small needs all they ask
// and splitting the rest evenly among the large ones.
func allocate(needs []int, total int) []int {
	alloc := make([]int, len(needs))
	open := make([]int, 0, len(needs))
	for i := range needs {
		open = append(open, i)
	}
	for len(open) > 0 && total > 0 {
		share := total / len(open)
		var rest []int
		for _, i := range open {
			if needs[i] <= share {
				alloc[i] = needs[i]
				total -= needs[i]
			} else {
				rest = append(rest, i)
			}
		}
		if len(rest) == len(open) {
			for _, i := range rest {
				alloc[i] = share
			}
			break
		}
		open = rest
	}
	return alloc
}

// maxRemediationIdentity caps the "Name <email>" a remediation text is
// offered for. Git sets no limit, but a real name and address are far
// shorter; a longer one would only crowd out the other authors' texts.
const maxRemediationIdentity = 512

// remediationSections writes the Probot DCO app's remediation commit texts,
// one block per author, so contributors who know that app recognise them and
// so that either app accepts them. An author whose identity is too long, or
// holds invisible characters, gets a note instead of a text to paste.
func remediationSections(failed []Verdict, thirdParty bool) []section {
	type group struct {
		who  Identity
		shas []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, v := range failed {
		if v.Rule == RuleInvalidEmail {
			continue // remediation cannot fix the author's address
		}
		key := strings.ToLower(canonical(v.Author.Name)) + "\x00" + strings.ToLower(canonical(v.Author.Email))
		g := byKey[key]
		if g == nil {
			g = &group{who: remediationIdentity(v)}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.shas = append(g.shas, v.SHA)
	}
	if len(groups) == 0 {
		return nil
	}
	// One fence for all blocks, longer than any backtick run in a name
	// shown in one.
	longest := 0
	for _, g := range groups {
		if who := g.who.String(); remediable(who) {
			longest = max(longest, longestBacktickRun(who))
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))

	var indiv, third []block
	for _, g := range groups {
		who := g.who.String()
		if !remediable(who) {
			indiv = append(indiv, unremediable(who, g.shas, false))
			if thirdParty {
				third = append(third, unremediable(who, g.shas, true))
			}
			continue
		}
		b := block{
			head: fmt.Sprintf("\n#### %s\n\n%s\nDCO Remediation Commit for %s\n\n", markdown.Text(who), fence+"text", who),
			foot: fmt.Sprintf("\nSigned-off-by: %s\n%s\n", who, fence),
		}
		for _, sha := range g.shas {
			b.lines = append(b.lines, fmt.Sprintf("I, %s, hereby add my Signed-off-by to this commit: %s\n", who, sha))
		}
		indiv = append(indiv, b)
		if thirdParty {
			b := block{
				head: fmt.Sprintf("\n#### On behalf of %s\n\n%s\nThird-Party DCO Remediation Commit for %s\n\n", markdown.Text(who), fence+"text", who),
				foot: fmt.Sprintf("\nSigned-off-by: YOUR_NAME <YOUR_EMAIL>\n%s\n", fence),
			}
			for _, sha := range g.shas {
				b.lines = append(b.lines, fmt.Sprintf("On behalf of %s, I, YOUR_NAME <YOUR_EMAIL>, hereby add my Signed-off-by to this commit: %s\n", who, sha))
			}
			third = append(third, b)
		}
	}
	more := func(n int) string {
		return fmt.Sprintf("\n…and %d more %s to remediate, not shown to keep this page within GitHub's size limit. Once these pass, the check lists the rest; rebasing (above) signs off all of them at once.\n",
			n, plural(n, "commit", "commits"))
	}
	out := []section{{
		head: "\n### Or: add a remediation commit\n\n" +
			"To keep the history as it is, the author of the commits adds one new commit to this branch with the text below in its message. " +
			"It must be authored with the same name and email. " +
			"Add it to a commit with changes, not an empty one (`git commit --allow-empty`): a later rebase drops empty commits.\n",
		blocks: indiv, more: more,
	}}
	if thirdParty {
		out = append(out, section{
			head: "\n### Or: sign off on the author's behalf\n\n" +
				"If the author cannot add a remediation commit, someone authorised to certify their work, usually their employer under DCO clause (b) or (c), can add a commit with the text below. " +
				"Replace YOUR_NAME and YOUR_EMAIL with that person's, who must author or commit it. Use one commit per author. " +
				"Maintainers and other contributors may not do this unless such a relationship permits it.\n",
			blocks: third, more: more,
		})
	}
	return out
}

// offersRemediation reports whether remediationSections offers a text to
// copy for any of the failed commits.
func offersRemediation(failed []Verdict) bool {
	for _, v := range failed {
		if v.Rule != RuleInvalidEmail && remediable(remediationIdentity(v).String()) {
			return true
		}
	}
	return false
}

// remediationIdentity is the author as a remediation text names them, on
// one line.
func remediationIdentity(v Verdict) Identity {
	return Identity{oneLine(v.Author.Name), oneLine(v.Author.Email)}
}

// remediable reports whether a remediation text can be offered for the
// identity who. Not when it is oversized, and not when it holds invisible
// characters: a bidi override reorders the certification around it for
// whoever copies it, and dropping the character would make a text that no
// longer matches the commit's author (see sameIdentity).
func remediable(who string) bool {
	return len(who) <= maxRemediationIdentity && strings.IndexFunc(who, markdown.Invisible) < 0
}

// unremediable is the block that stands in for an author's remediation text
// when remediable refuses it: why, and the commits to sign off otherwise,
// one line each so that the budget counts them like a text's. An identity
// with invisible characters is shown as a Go string of ASCII escapes.
func unremediable(who string, shas []string, onBehalf bool) block {
	var b block
	switch {
	case len(who) > maxRemediationIdentity && onBehalf:
		b.head = "\n#### On behalf of an author not shown\n\n"
	case len(who) > maxRemediationIdentity:
		b.head = "\n#### An author not shown\n\n"
	case onBehalf:
		b.head = "\n#### On behalf of " + markdown.Text(who) + "\n\n"
	default:
		b.head = "\n#### " + markdown.Text(who) + "\n\n"
	}
	if len(who) > maxRemediationIdentity {
		b.head += fmt.Sprintf("The author's name and email are %d bytes long, too long to show here. Sign off these commits by rebasing (above):\n\n", len(who))
	} else {
		b.head += "> [!WARNING]\n> The author's name or email holds invisible characters, which change how the text around them reads, so there is no text to copy. " +
			"Written with escapes, the author is " + markdown.Code(strconv.QuoteToASCII(who)) + ". Sign off these commits by rebasing (above):\n\n"
	}
	for _, sha := range shas {
		label := markdown.Text(ellipsis(sha, 12))
		if isHex(sha) {
			label = "`" + shortSHA(sha) + "`"
		}
		b.lines = append(b.lines, "- "+label+"\n")
	}
	return b
}

func tableRow(v Verdict, ctx RenderContext) string {
	return fmt.Sprintf("| %s | %s | %s |\n", commitCell(v, ctx), markdown.Text(ellipsis(v.Author.String(), 200)), markdown.Text(ellipsis(v.Reason, 1000)))
}

var hexRe = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)

func isHex(s string) bool { return hexRe.MatchString(s) }

func commitCell(v Verdict, ctx RenderContext) string {
	label := markdown.Text(ellipsis(v.SHA, 12))
	if isHex(v.SHA) {
		label = "`" + shortSHA(v.SHA) + "`"
	}
	url := v.URL
	if url == "" && isHex(v.SHA) && ctx.Owner != "" && ctx.Repo != "" {
		if ctx.Number > 0 && !ctx.MergeGroup {
			url = fmt.Sprintf("https://github.com/%s/%s/pull/%d/commits/%s", ctx.Owner, ctx.Repo, ctx.Number, v.SHA)
		} else {
			url = fmt.Sprintf("https://github.com/%s/%s/commit/%s", ctx.Owner, ctx.Repo, v.SHA)
		}
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return label
	}
	return "[" + label + "](" + escapeURL(url) + ")"
}

// escapeURL percent-encodes what would end a Markdown link destination.
func escapeURL(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>|\"'`+"`", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// oneLine replaces line breaks and other control characters with spaces.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\ufffd")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// codeBlock fences text so that nothing in it can end the block early.
func codeBlock(lang, body string) string {
	body = strings.ToValidUTF8(body, "\ufffd")
	fence := fenceFor(body)
	return fence + lang + "\n" + body + fence + "\n"
}

// fenceFor is the shortest code fence of three or more backticks that no
// backtick run in body can close.
func fenceFor(body string) string {
	return strings.Repeat("`", max(3, longestBacktickRun(body)+1))
}

// longestBacktickRun is the length of the longest run of backticks in s,
// found in one pass: an author name of 256 KiB of backticks once took a
// render 21 seconds, growing a fence one backtick at a time.
func longestBacktickRun(s string) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// shellWord quotes a word for a POSIX shell unless it is plainly safe. A
// tilde is safe except at the start, where the shell would expand it.
func shellWord(s string) string {
	safe := s != "" && s[0] != '~'
	for _, r := range s {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._/-+@%=:,~", r))) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ellipsis shortens s to at most n bytes, on a character boundary.
func ellipsis(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutUTF8(s, n-len("…")) + "…"
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a character.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// capText is the last line of defence for the size limit: it cuts at a line
// break, so no table row, heading or code line is left half-written, and
// closes a code block left open.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const note = "\n…cut to fit GitHub's size limit.\n"
	cut := cutUTF8(s, limit-len(note)-80)
	if i := strings.LastIndexByte(cut, '\n'); i >= 0 {
		cut = cut[:i+1]
	}
	open := ""
	for _, line := range strings.Split(cut, "\n") {
		ticks := len(line) - len(strings.TrimLeft(line, "`"))
		switch {
		case open == "" && ticks >= 3:
			open = line[:ticks]
		case open != "" && ticks >= len(open) && strings.TrimSpace(line[ticks:]) == "":
			open = ""
		}
	}
	if open != "" {
		cut += open + "\n"
	}
	return cut + note
}
