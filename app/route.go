package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/google/go-github/v60/github"
	"github.com/tidwall/gjson"

	"github.com/SovereignCloudStack/contribot/app/dco"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/welcome"
)

// Feature names, also the job's "feature" field.
const (
	FeatureDCO      = "dco"
	FeatureLabels   = "labels"
	FeatureWelcome  = "welcome"
	FeatureUpstream = "upstream"
)

// Route decides from the payload alone which features want a delivery. It
// runs inside the webhook request, so it reads nothing but the payload, and
// only the few fields routing needs: the worker decodes the full go-github
// event later, and decoding a 30 KiB payload twice would double intake's
// cost. An error means the payload is not a JSON object. The server has
// refused deep nesting before (gjson recurses per level), and Route
// tolerates any field shape: a null or missing field routes nowhere.
func Route(event string, payload []byte) ([]queue.Route, error) {
	if !gjson.ValidBytes(payload) {
		return nil, describeJSONError(payload)
	}
	// The payload read in place, as a string: gjson's []byte functions
	// copy every value they return, and a secret holder's 22 MiB comment
	// was copied once per field read. Route neither changes nor keeps the
	// payload, which the string must not outlive unchanged.
	view := unsafe.String(unsafe.SliceData(payload), len(payload))
	if !gjson.Parse(view).IsObject() {
		return nil, describeJSONError(payload)
	}
	var routes []queue.Route
	if wantsDCO(event, view) {
		// DCO verdicts gate merges; labels can wait behind them.
		routes = append(routes, queue.Route{Feature: FeatureDCO, Queue: queue.QueuePriority})
	}
	if wantsLabels(event, view) {
		routes = append(routes, queue.Route{Feature: FeatureLabels, Queue: queue.QueueDefault})
	}
	if wantsWelcome(event, view) {
		routes = append(routes, queue.Route{Feature: FeatureWelcome, Queue: queue.QueueDefault})
	}
	if wantsUpstream(event, view) {
		routes = append(routes, queue.Route{Feature: FeatureUpstream, Queue: queue.QueueDefault})
	}
	return routes, nil
}

// wantsWelcome takes new issues and pull requests and merged pull
// requests, except those whose author the payload already rules out: most
// events of an active org come from members, and they cost no job at all.
func wantsWelcome(event string, payload string) bool {
	var item string
	switch event {
	case "issues":
		item = "issue"
		// A transferred issue arrives as opened, with its old self in changes.
		f := gjson.GetMany(payload, "action", "issue.pull_request", "changes.old_issue")
		if f[0].String() != "opened" || f[1].Exists() || f[2].Exists() {
			return false
		}
	case "pull_request":
		item = "pull_request"
		f := gjson.GetMany(payload, "action", "pull_request.merged")
		if f[0].String() != "opened" && (f[0].String() != "closed" || !f[1].Bool()) {
			return false
		}
	default:
		return false
	}
	f := gjson.GetMany(payload, item+".author_association", item+".user.type")
	return !welcome.Insider(f[0].String()) && f[1].String() != "Bot"
}

// wantsUpstream takes the events that can change what an issue or pull
// request tracks upstream. The tracking label's name is in the rules, which
// intake does not read; what intake can rule out is an item with no labels
// and no URL in its text, which tracks nothing and never did (an edit that
// removes the last URL is still taken, through changes.body).
func wantsUpstream(event string, payload string) bool {
	var item string
	switch event {
	case "issues":
		item = "issue"
	case "pull_request":
		item = "pull_request"
	case "repository":
		// Items of a repository that is gone or changed visibility must
		// leave the public reports, or may return to them.
		switch gjson.Get(payload, "action").String() {
		case "deleted", "privatized", "publicized":
			return true
		}
		return false
	case "issue_comment":
		f := gjson.GetMany(payload, "action", "comment.body")
		switch f[0].String() {
		case "created", "edited":
			return strings.Contains(f[1].String(), "://") || gjson.Get(payload, "changes.body").Exists()
		case "deleted":
			return strings.Contains(f[1].String(), "://")
		}
		return false
	default:
		return false
	}
	switch gjson.Get(payload, "action").String() {
	case "labeled", "unlabeled":
		return true
	case "deleted", "transferred":
		// A tracked item that is gone must leave the reports; only labelled
		// items or ones with a URL can have been tracked.
		f := gjson.GetMany(payload, item+".body", item+".labels.#")
		return strings.Contains(f[0].String(), "://") || f[1].Int() > 0
	case "opened", "edited", "closed", "reopened":
		f := gjson.GetMany(payload, item+".body", item+".labels.#", "changes.body.from")
		return strings.Contains(f[0].String(), "://") || f[1].Int() > 0 || strings.Contains(f[2].String(), "://")
	}
	return false
}

func wantsLabels(event string, payload string) bool {
	if event != "pull_request" {
		return false
	}
	switch gjson.Get(payload, "action").String() {
	case "opened", "synchronize", "reopened", "labeled", "unlabeled":
		return true
	case "edited":
		// Only a new base branch changes the files; title edits do not.
		return gjson.Get(payload, "changes.base").Exists()
	}
	return false
}

func wantsDCO(event string, payload string) bool {
	action := gjson.Get(payload, "action").String()
	switch event {
	case "pull_request":
		switch action {
		case "opened", "synchronize", "reopened":
			return true
		}
	case "merge_group":
		return action == "checks_requested"
	case "check_run":
		if gjson.Get(payload, "check_run.name").String() != dco.CheckName {
			return false
		}
		return action == "rerequested" ||
			(action == "requested_action" && gjson.Get(payload, "requested_action.identifier").String() == dco.OverrideAction)
	case "check_suite":
		return action == "rerequested"
	case "issue_comment":
		f := gjson.GetMany(payload, "issue.pull_request", "comment.body")
		return action == "created" && f[0].IsObject() && hasSlashLine(f[1].String())
	case "pull_request_review":
		return action == "submitted" && hasSlashLine(gjson.Get(payload, "review.body").String())
	}
	return false
}

// hasSlashLine is the cheap intake filter for commands; the exact command is
// configurable in the rules, which only the worker reads. It looks at the
// lines in place and stops at the first command: a comment of 12 million
// empty lines, split into a slice of them, cost 343 MiB.
func hasSlashLine(body string) bool {
	for body != "" {
		line, rest, _ := strings.Cut(body, "\n")
		if strings.HasPrefix(strings.TrimSpace(line), "/") {
			return true
		}
		body = rest
	}
	return false
}

// describeJSONError names where a payload stops being JSON, so a sender can
// find the problem without guessing. It runs only for bad payloads.
func describeJSONError(payload []byte) error {
	var v map[string]any
	err := json.Unmarshal(payload, &v)
	switch e := err.(type) {
	case nil:
		return errors.New("malformed JSON payload")
	case *json.SyntaxError:
		return fmt.Errorf("malformed JSON payload: %s at byte %d", e.Error(), e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("payload is a JSON %s, want an object", e.Value)
	}
	return fmt.Errorf("malformed JSON payload: %w", err)
}

// vet decodes a job's delivery as the features will read it and checks
// that they can act on it. The checks run on the decoded go-github event,
// not on the raw JSON: encoding/json takes the last of duplicate keys and
// matches keys regardless of case, so a payload that appends
// "REPOSITORY":{"owner":{"login":""}} showed a JSON reader a valid
// repository and the features an empty one. Every error is permanent:
// GitHub always sends what is checked, and a retry reads the same bytes.
// Errors name the field and what is wrong with it, never its value.
func vet(job queue.Job) (any, error) {
	event, err := github.ParseWebHook(job.Event, job.Payload)
	if err != nil {
		return nil, fmt.Errorf("decode %s delivery %s: %s; it does not fit go-github's types, so nothing was done and the job will not run again",
			job.Event, job.Delivery, describeDecodeError(err))
	}
	if inst, ok := event.(interface{ GetInstallation() *github.Installation }); !ok || inst.GetInstallation().GetID() <= 0 {
		// A GitHub App's deliveries always name the installation; without
		// one there is no token to act with, now or on a retry.
		return nil, fmt.Errorf("%s delivery %s names no installation (installation.id is missing or not positive); only a GitHub App's webhooks can be acted on", job.Event, job.Delivery)
	}
	// Checked once here, before any feature makes a GitHub call from it: a
	// partial payload would otherwise panic in a feature, or address
	// GET /repos///pulls/0, and be retried for two days.
	if problem := malformed(event); problem != "" {
		return nil, fmt.Errorf("malformed %s delivery %s: %s; GitHub always sends it, so nothing was done and the job will not run again", job.Event, job.Delivery, problem)
	}
	return event, nil
}

// describeDecodeError says which field did not decode and why, without
// the value: a signed payload's 1 MB number otherwise went whole into the
// log and the job's error record.
func describeDecodeError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &typeErr):
		// Value is the JSON kind, for numbers followed by the literal.
		kind, _, _ := strings.Cut(typeErr.Value, " ")
		field := typeErr.Field
		if field == "" {
			field = "the payload"
		}
		return fmt.Sprintf("%s is a JSON %s, which does not fit Go type %s", field, kind, typeErr.Type)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &timeErr):
		return "a timestamp is neither RFC 3339 nor Unix seconds"
	}
	return fmt.Sprintf("a value does not fit go-github's types (%T)", err)
}

// malformed names what keeps a decoded delivery from being acted on: a
// field the features read, or build their first GitHub call from, that is
// missing, null, empty or of the wrong kind. It returns "" for an event
// every feature can read.
func malformed(event any) string {
	var c fields
	if e, ok := event.(interface{ GetRepo() *github.Repository }); ok {
		if repo := e.GetRepo(); c.object("repository", repo != nil) {
			var login *string
			if repo.Owner != nil {
				login = repo.Owner.Login
			}
			c.name("repository.owner.login", login)
			c.name("repository.name", repo.Name)
		}
	}
	switch e := event.(type) {
	case *github.PullRequestEvent:
		c.pullRequest("pull_request", e.PullRequest)
	case *github.PullRequestReviewEvent:
		c.pullRequest("pull_request", e.PullRequest)
		c.object("review", e.Review != nil)
	case *github.IssuesEvent:
		if c.object("issue", e.Issue != nil) {
			number(&c, "issue.number", e.Issue.Number)
		}
	case *github.IssueCommentEvent:
		if c.object("issue", e.Issue != nil) {
			number(&c, "issue.number", e.Issue.Number)
		}
		// Without it the upstream tracker would take a deleted comment for
		// a deleted issue.
		c.object("comment", e.Comment != nil)
	case *github.CheckRunEvent:
		if run := e.CheckRun; c.object("check_run", run != nil) {
			number(&c, "check_run.id", run.ID)
			c.sha("check_run.head_sha", run.HeadSHA)
			c.pullRequestRefs("check_run.pull_requests", run.PullRequests)
		}
		if e.GetAction() == "requested_action" && c.object("requested_action", e.RequestedAction != nil) {
			c.text("requested_action.identifier", &e.RequestedAction.Identifier)
		}
	case *github.CheckSuiteEvent:
		if suite := e.CheckSuite; c.object("check_suite", suite != nil) {
			c.sha("check_suite.head_sha", suite.HeadSHA)
			c.pullRequestRefs("check_suite.pull_requests", suite.PullRequests)
		}
	case *github.RepositoryEvent:
		// The upstream tracker finds a repository's items by its full name.
		if e.Repo != nil {
			c.fullName("repository.full_name", e.Repo.FullName)
		}
	case *github.MergeGroupEvent:
		if mg := e.MergeGroup; c.object("merge_group", mg != nil) {
			c.sha("merge_group.head_sha", mg.HeadSHA)
			c.sha("merge_group.base_sha", mg.BaseSHA)
			c.text("merge_group.base_ref", mg.BaseRef)
		}
	}
	return c.problem
}

// fields collects the first problem found in a decoded event. Each check
// reports whether the field is fine, so that checks of what it holds can
// follow.
type fields struct{ problem string }

func (c *fields) fail(path, problem, want string) bool {
	if c.problem == "" {
		c.problem = fmt.Sprintf("%s %s (want %s)", path, problem, want)
	}
	return false
}

func (c *fields) object(path string, present bool) bool {
	return present || c.fail(path, "is missing or null", "an object")
}

func number[T int | int64](c *fields, path string, n *T) bool {
	switch {
	case n == nil:
		return c.fail(path, "is missing or null", "a positive number")
	case *n < 1:
		return c.fail(path, "is not a positive number", "a positive number")
	}
	return true
}

// str checks a string field with ok, after ruling out missing and empty.
func (c *fields) str(path string, s *string, want string, ok func(string) bool) bool {
	switch {
	case s == nil:
		return c.fail(path, "is missing or null", want)
	case *s == "":
		return c.fail(path, "is empty", want)
	case !ok(*s):
		return c.fail(path, "is not "+want, want)
	}
	return true
}

// sha is a commit SHA: 40 (or, for SHA-256 repositories, 64) hex digits.
func (c *fields) sha(path string, s *string) bool {
	return c.str(path, s, "a commit SHA", func(s string) bool { return (len(s) == 40 || len(s) == 64) && isHex(s) })
}

// name is a login or repository name: safe as one URL path segment.
func (c *fields) name(path string, s *string) bool {
	return c.str(path, s, "a GitHub name", isName)
}

func (c *fields) fullName(path string, s *string) bool {
	return c.str(path, s, "owner/name", func(s string) bool {
		owner, repo, found := strings.Cut(s, "/")
		return found && isName(owner) && isName(repo)
	})
}

func (c *fields) text(path string, s *string) bool {
	return c.str(path, s, "a non-empty string", func(string) bool { return true })
}

// pullRequest is a pull request the features check, label and address by
// number.
func (c *fields) pullRequest(path string, pr *github.PullRequest) bool {
	if !c.object(path, pr != nil) {
		return false
	}
	var head *string
	if pr.Head != nil {
		head = pr.Head.SHA
	}
	return number(c, path+".number", pr.Number) && c.sha(path+".head.sha", head)
}

// pullRequestRefs are the pull requests of a check run or suite, which a
// re-run checks by number: a 0 read GET /pulls/0/commits, retried.
func (c *fields) pullRequestRefs(path string, prs []*github.PullRequest) bool {
	for i, pr := range prs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !c.object(p, pr != nil) || !number(c, p+".number", pr.Number) {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// isName accepts what GitHub allows in logins (letters, digits, hyphens;
// underscores for managed users) and repository names (also dots), and
// nothing that could change a URL's path: no slash, no "." or "..".
func isName(s string) bool {
	if s == "" || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
