package dco

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-github/v60/github"
)

// refusedMarker starts the note about a refused override.
const refusedMarker = "\n\n> **Override refused:**"

// canOverride lists the repository permissions that may set DCO to pass:
// the same people who could merge the PR anyway.
var canOverride = map[string]bool{"admin": true, "maintain": true, "write": true}

// override answers the "Set DCO to pass" button. GitHub sends the button
// press from anyone who can see the check, so the permission is checked
// through the API and the decision is recorded on the check run itself.
func (h *Handler) override(ctx context.Context, log *slog.Logger, ev *github.CheckRunEvent) error {
	run := ev.GetCheckRun()
	if ev.GetRequestedAction().Identifier != OverrideAction || run.GetName() != CheckName {
		return nil
	}
	owner, repo := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
	who := ev.GetSender().GetLogin()
	log = log.With(slog.Int64("installation", ev.GetInstallation().GetID()), slog.String("repo", owner+"/"+repo),
		slog.String("sha", short(run.GetHeadSHA())), slog.String("sender", who))
	c := h.Client(ev.GetInstallation().GetID())
	perm, err := c.Permission(ctx, owner, repo, who)
	if err != nil {
		return h.dryRunOr(log, err)
	}
	at := h.now().UTC().Format("2006-01-02 15:04 MST")
	prev := run.GetOutput()
	if !canOverride[perm] {
		log.Warn("override refused: sender lacks write permission", slog.String("permission", perm))
		// One refusal note at a time: a later press replaces the earlier
		// note instead of growing the summary towards GitHub's limit.
		summary, _, _ := strings.Cut(prev.GetSummary(), refusedMarker)
		_, err := c.UpdateCheckRun(ctx, owner, repo, run.GetID(), github.UpdateCheckRunOptions{
			Name: CheckName,
			Output: &github.CheckRunOutput{
				Title:   github.String(prev.GetTitle()),
				Summary: github.String(fmt.Sprintf("%s%s @%s asked to set DCO to pass at %s, but has %q permission on %s/%s. Only people with write permission can; please ask a maintainer.", strings.TrimRight(summary, "\n"), refusedMarker, who, at, perm, owner, repo)),
				Text:    github.String(prev.GetText()),
			},
		})
		return h.dryRunOr(log, err)
	}
	_, err = c.UpdateCheckRun(ctx, owner, repo, run.GetID(), github.UpdateCheckRunOptions{
		Name:        CheckName,
		Status:      github.String("completed"),
		Conclusion:  github.String("success"),
		CompletedAt: &github.Timestamp{Time: h.now()},
		Output: &github.CheckRunOutput{
			Title:   github.String(fmt.Sprintf("Set to pass by @%s", who)),
			Summary: github.String(fmt.Sprintf("@%s (%s permission) set DCO to pass at %s.\n\nThe result before the override was: %s", who, perm, at, prev.GetTitle())),
			Text:    github.String(prev.GetText()),
		},
	})
	if err != nil {
		return h.dryRunOr(log, err)
	}
	log.Info("DCO overridden", slog.String("permission", perm))
	return nil
}
