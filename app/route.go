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
// cost. An error means the payload is not a JSON object.
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
