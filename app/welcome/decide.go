// Package welcome greets newcomers on their first issue, first pull request
// and first merged pull request. The decisions are pure functions over
// what the payload and one search say; Handler gathers those, makes sure a
// person is greeted once even across replicas, and posts the comment.
package welcome

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/SovereignCloudStack/contribot/app/markdown"
	"github.com/SovereignCloudStack/contribot/rules"
)

// Kinds of greeting. Issue and PullRequest are a person's first contact;
// Merged congratulates on the first merged pull request.
const (
	KindIssue       = "issue"
	KindPullRequest = "pr"
	KindMerged      = "merged"
)

// TemplateKey is the welcome setting that holds a kind's template.
func TemplateKey(kind string) string {
	switch kind {
	case KindIssue:
		return "welcome.first_issue"
	case KindPullRequest:
		return "welcome.first_pr"
	}
	return "welcome.first_merged_pr"
}

// Template returns the rules' template for a kind; empty means no greeting.
func Template(w rules.Welcome, kind string) string {
	switch kind {
	case KindIssue:
		return w.FirstIssue
	case KindPullRequest:
		return w.FirstPR
	case KindMerged:
		return w.FirstMerged
	}
	return ""
}

// RuledOut says why the author cannot be a newcomer from the payload alone,
// or "" when only a search can tell. It costs no API call.
//
// Only OWNER, MEMBER and COLLABORATOR rule a person out. CONTRIBUTOR (has
// commits in the repository) does not: SCS imports upstream code, whose
// authors may still open their first SCS issue or pull request. And
// FIRST_TIMER and FIRST_TIME_CONTRIBUTOR are about commits, not issues or
// pull requests, so they do not spare the search either.
func RuledOut(association, userType, login string) string {
	if Insider(association) {
		return fmt.Sprintf("author association %s", strings.ToUpper(association))
	}
	if userType == "Bot" || strings.HasSuffix(login, "[bot]") {
		return "a bot"
	}
	if login == "" {
		return "no author"
	}
	return ""
}

// Query is the search that tells whether the item is the person's first of
// its kind in the scope ("org:X" or "repo:X/Y").
func Query(kind, login, scope string) string {
	is := "is:issue"
	switch kind {
	case KindPullRequest:
		is = "is:pr"
	case KindMerged:
		is = "is:pr is:merged"
	}
	return fmt.Sprintf("%s author:%s %s", is, login, scope)
}

// Scope is the search qualifier, which also keys the memory of greetings.
func Scope(w rules.Welcome, owner, repo string) string {
	if w.Scope == rules.ScopeRepo {
		return "repo:" + strings.ToLower(owner+"/"+repo)
	}
	return "org:" + strings.ToLower(owner)
}

// Item is an issue or pull request in a search result.
type Item struct {
	Repo   string // "owner/name"
	Number int
}

// IsFirst reads a search result: the item is the person's first when the
// search finds nothing (the index lags a few seconds behind a new item) or
// finds only the item itself.
func IsFirst(total int, items []Item, current Item) bool {
	switch {
	case total == 0:
		return true
	case total == 1 && len(items) == 1:
		return strings.EqualFold(items[0].Repo, current.Repo) && items[0].Number == current.Number
	}
	return false
}

// Insider reports an author_association that is never a newcomer. Intake
// uses it too, so that members' events queue no welcome job at all.
func Insider(association string) bool {
	switch strings.ToUpper(association) {
	case "OWNER", "MEMBER", "COLLABORATOR":
		return true
	}
	return false
}

// FirstByAssociation is the fallback when a person cannot be searched
// (GitHub refuses searches for some accounts): only a pull request whose
// author has never committed to the repository counts as a first one.
func FirstByAssociation(kind, association string) bool {
	switch strings.ToUpper(association) {
	case "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR":
		return kind == KindPullRequest
	}
	return false
}

// loginPattern is GitHub's login syntax; "_" appears in the logins of
// enterprise managed users and is no Markdown inside a word.
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})$`)

// SafeLogin returns a login that is safe to write after "@": GitHub's
// logins are letters, digits, hyphens and underscores; anything else is
// shown as code.
func SafeLogin(login string) string {
	if loginPattern.MatchString(login) {
		return login
	}
	return CodeSpan(login)
}

// Title is a contributor's title for a greeting, as plain text (see
// app/markdown.Text). A code span would not do: inside an HTML block line
// (say "<details><summary>") or a table cell GitHub does not read the
// backticks as code, and a mention or a reference in it would be live.
func Title(s string) string {
	if t := markdown.Text(s); t != "" {
		return t
	}
	return "(empty)"
}

// CodeSpan renders contributor-controlled text as Markdown inline code,
// where GitHub makes no mention, link, autolink or HTML, and drops the
// invisible characters (bidi overrides) that would make it read as other
// text; empty text shows as "(empty)".
func CodeSpan(s string) string {
	if c := markdown.Code(s); c != "" {
		return c
	}
	return "`(empty)`"
}
