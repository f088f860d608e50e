package app

import (
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/dco"
	"github.com/SovereignCloudStack/contribot/app/queue"
)

// Feature names, also the job's "feature" field.
const (
	FeatureDCO = "dco"
)

// Route decides from the event alone which features want a delivery. It
// runs inside the webhook request, so it reads nothing but the payload.
func Route(event string, payload any) []queue.Route {
	if wantsDCO(payload) {
		return []queue.Route{{Feature: FeatureDCO, Queue: queue.QueuePriority}}
	}
	return nil
}

func wantsDCO(payload any) bool {
	switch ev := payload.(type) {
	case *github.PullRequestEvent:
		switch ev.GetAction() {
		case "opened", "synchronize", "reopened":
			return true
		}
	case *github.MergeGroupEvent:
		return ev.GetAction() == "checks_requested"
	case *github.CheckRunEvent:
		if ev.GetCheckRun().GetName() != dco.CheckName {
			return false
		}
		return ev.GetAction() == "rerequested" ||
			(ev.GetAction() == "requested_action" && ev.GetRequestedAction().Identifier == dco.OverrideAction)
	case *github.CheckSuiteEvent:
		return ev.GetAction() == "rerequested"
	case *github.IssueCommentEvent:
		return ev.GetAction() == "created" && ev.GetIssue().IsPullRequest() && hasSlashLine(ev.GetComment().GetBody())
	case *github.PullRequestReviewEvent:
		return ev.GetAction() == "submitted" && hasSlashLine(ev.GetReview().GetBody())
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
