package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	if !gjson.ValidBytes(payload) || !gjson.ParseBytes(payload).IsObject() {
		return nil, describeJSONError(payload)
	}
	var routes []queue.Route
	if wantsDCO(event, payload) {
		// DCO verdicts gate merges; labels can wait behind them.
		routes = append(routes, queue.Route{Feature: FeatureDCO, Queue: queue.QueuePriority})
	}
	if wantsLabels(event, payload) {
		routes = append(routes, queue.Route{Feature: FeatureLabels, Queue: queue.QueueDefault})
	}
	if wantsWelcome(event, payload) {
		routes = append(routes, queue.Route{Feature: FeatureWelcome, Queue: queue.QueueDefault})
	}
	if wantsUpstream(event, payload) {
		routes = append(routes, queue.Route{Feature: FeatureUpstream, Queue: queue.QueueDefault})
	}
	return routes, nil
}

// wantsWelcome takes new issues and pull requests and merged pull
// requests, except those whose author the payload already rules out: most
// events of an active org come from members, and they cost no job at all.
func wantsWelcome(event string, payload []byte) bool {
	var item string
	switch event {
	case "issues":
		item = "issue"
		// A transferred issue arrives as opened, with its old self in changes.
		f := gjson.GetManyBytes(payload, "action", "issue.pull_request", "changes.old_issue")
		if f[0].String() != "opened" || f[1].Exists() || f[2].Exists() {
			return false
		}
	case "pull_request":
		item = "pull_request"
		f := gjson.GetManyBytes(payload, "action", "pull_request.merged")
		if f[0].String() != "opened" && (f[0].String() != "closed" || !f[1].Bool()) {
			return false
		}
	default:
		return false
	}
	f := gjson.GetManyBytes(payload, item+".author_association", item+".user.type")
	return !welcome.Insider(f[0].String()) && f[1].String() != "Bot"
}

// wantsUpstream takes the events that can change what an issue or pull
// request tracks upstream. The tracking label's name is in the rules, which
// intake does not read; what intake can rule out is an item with no labels
// and no URL in its text, which tracks nothing and never did (an edit that
// removes the last URL is still taken, through changes.body).
func wantsUpstream(event string, payload []byte) bool {
	var item string
	switch event {
	case "issues":
		item = "issue"
	case "pull_request":
		item = "pull_request"
	case "repository":
		// Items of a repository that is gone or changed visibility must
		// leave the public reports, or may return to them.
		switch gjson.GetBytes(payload, "action").String() {
		case "deleted", "privatized", "publicized":
			return true
		}
		return false
	case "issue_comment":
		f := gjson.GetManyBytes(payload, "action", "comment.body")
		switch f[0].String() {
		case "created", "edited":
			return strings.Contains(f[1].String(), "://") || gjson.GetBytes(payload, "changes.body").Exists()
		case "deleted":
			return strings.Contains(f[1].String(), "://")
		}
		return false
	default:
		return false
	}
	switch gjson.GetBytes(payload, "action").String() {
	case "labeled", "unlabeled":
		return true
	case "deleted", "transferred":
		// A tracked item that is gone must leave the reports; only labelled
		// items or ones with a URL can have been tracked.
		f := gjson.GetManyBytes(payload, item+".body", item+".labels.#")
		return strings.Contains(f[0].String(), "://") || f[1].Int() > 0
	case "opened", "edited", "closed", "reopened":
		f := gjson.GetManyBytes(payload, item+".body", item+".labels.#", "changes.body.from")
		return strings.Contains(f[0].String(), "://") || f[1].Int() > 0 || strings.Contains(f[2].String(), "://")
	}
	return false
}

func wantsLabels(event string, payload []byte) bool {
	if event != "pull_request" {
		return false
	}
	switch gjson.GetBytes(payload, "action").String() {
	case "opened", "synchronize", "reopened", "labeled", "unlabeled":
		return true
	case "edited":
		// Only a new base branch changes the files; title edits do not.
		return gjson.GetBytes(payload, "changes.base").Exists()
	}
	return false
}

func wantsDCO(event string, payload []byte) bool {
	action := gjson.GetBytes(payload, "action").String()
	switch event {
	case "pull_request":
		switch action {
		case "opened", "synchronize", "reopened":
			return true
		}
	case "merge_group":
		return action == "checks_requested"
	case "check_run":
		if gjson.GetBytes(payload, "check_run.name").String() != dco.CheckName {
			return false
		}
		return action == "rerequested" ||
			(action == "requested_action" && gjson.GetBytes(payload, "requested_action.identifier").String() == dco.OverrideAction)
	case "check_suite":
		return action == "rerequested"
	case "issue_comment":
		f := gjson.GetManyBytes(payload, "issue.pull_request", "comment.body")
		return action == "created" && f[0].IsObject() && hasSlashLine(f[1].String())
	case "pull_request_review":
		return action == "submitted" && hasSlashLine(gjson.GetBytes(payload, "review.body").String())
	}
	return false
}

// hasSlashLine is the cheap intake filter for commands; the exact command is
// configurable in the rules, which only the worker reads.
func hasSlashLine(body string) bool {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "/") {
			return true
		}
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

// need is a field a delivery must carry before any feature acts on it: a
// GitHub call built from a missing one goes to the wrong place (GET
// /repos///pulls/0), and code reading a null object panics.
type need struct {
	path string
	kind fieldKind
	// action, when set, limits the need to deliveries of that action.
	action string
}

type fieldKind int

const (
	object   fieldKind = iota
	number             // a positive integer
	sha                // a commit SHA: 40 (or, for SHA-256 repositories, 64) hex digits
	name               // a login or repository name: safe as one URL path segment
	fullName           // owner/name, each a name
	text               // a non-empty string
)

var kindWants = map[fieldKind]string{
	object:   "an object",
	number:   "a positive number",
	sha:      "a commit SHA",
	name:     "a GitHub name",
	fullName: "owner/name",
	text:     "a non-empty string",
}

// repositoryNeeds are every routed delivery's: what each feature's first
// GitHub call is built from.
var repositoryNeeds = []need{
	{path: "repository", kind: object},
	{path: "repository.owner.login", kind: name},
	{path: "repository.name", kind: name},
}

// eventNeeds are, per event Route sends to a feature, the item the
// features read and the number or SHA they address it by. GitHub always
// sends them; a delivery without them is malformed, not retryable.
var eventNeeds = map[string][]need{
	"pull_request": {
		{path: "pull_request", kind: object},
		{path: "pull_request.number", kind: number},
		{path: "pull_request.head.sha", kind: sha},
	},
	"pull_request_review": {
		{path: "pull_request", kind: object},
		{path: "pull_request.number", kind: number},
		{path: "pull_request.head.sha", kind: sha},
		{path: "review", kind: object},
	},
	"issues": {
		{path: "issue", kind: object},
		{path: "issue.number", kind: number},
	},
	"issue_comment": {
		{path: "issue", kind: object},
		{path: "issue.number", kind: number},
		// Without it the upstream tracker would take a deleted comment for
		// a deleted issue.
		{path: "comment", kind: object},
	},
	"check_run": {
		{path: "check_run", kind: object},
		{path: "check_run.id", kind: number},
		{path: "check_run.head_sha", kind: sha},
		{path: "requested_action", kind: object, action: "requested_action"},
		{path: "requested_action.identifier", kind: text, action: "requested_action"},
	},
	"check_suite": {
		{path: "check_suite", kind: object},
		{path: "check_suite.head_sha", kind: sha},
	},
	// The upstream tracker finds a repository's items by its full name.
	"repository": {
		{path: "repository.full_name", kind: fullName},
	},
	"merge_group": {
		{path: "merge_group", kind: object},
		{path: "merge_group.head_sha", kind: sha},
		{path: "merge_group.base_sha", kind: sha},
		{path: "merge_group.base_ref", kind: text},
	},
}

// malformed names what keeps a delivery's payload from being acted on: a
// field of repositoryNeeds or eventNeeds that is missing, null, empty or
// of the wrong kind. It returns "" for a payload every feature can read.
// The message names the field and the problem, never its value.
func malformed(event string, payload []byte) string {
	action := gjson.GetBytes(payload, "action").String()
	for _, list := range [][]need{repositoryNeeds, eventNeeds[event]} {
		for _, n := range list {
			if n.action != "" && n.action != action {
				continue
			}
			if problem := check(gjson.GetBytes(payload, n.path), n.kind); problem != "" {
				return fmt.Sprintf("%s %s (want %s)", n.path, problem, kindWants[n.kind])
			}
		}
	}
	return ""
}

func check(r gjson.Result, kind fieldKind) string {
	switch {
	case !r.Exists():
		return "is missing"
	case r.Type == gjson.Null:
		return "is null"
	}
	ok := false
	switch kind {
	case object:
		ok = r.IsObject()
	case number:
		ok = r.Type == gjson.Number && r.Num >= 1 && r.Num == float64(int64(r.Num))
	case sha:
		ok = r.Type == gjson.String && (len(r.Str) == 40 || len(r.Str) == 64) && isHex(r.Str)
	case name:
		ok = r.Type == gjson.String && isName(r.Str)
	case fullName:
		owner, repo, found := strings.Cut(r.Str, "/")
		ok = r.Type == gjson.String && found && isName(owner) && isName(repo)
	case text:
		ok = r.Type == gjson.String && r.Str != ""
	}
	if ok {
		return ""
	}
	if r.Type == gjson.String && r.Str == "" {
		return "is empty"
	}
	return "is not " + kindWants[kind]
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
