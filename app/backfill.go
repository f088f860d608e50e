package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/SovereignCloudStack/contribot/app/upstream"
)

// BackfillUpstream seeds the upstream tracker from an org's existing
// labelled issues and pull requests, acting as the org's installation.
// The running service (or the next start) checks the references found.
func (s *Service) BackfillUpstream(ctx context.Context, org string) (upstream.BackfillReport, error) {
	if s.github == nil {
		return upstream.BackfillReport{}, errors.New("backfill reads the org through the GitHub App: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH)")
	}
	inst, _, err := s.github.AppClient().Apps.FindOrganizationInstallation(ctx, org)
	if err != nil {
		return upstream.BackfillReport{}, fmt.Errorf("find the App's installation on %s (is the App installed there?): %w", org, err)
	}
	gh := upstream.GitHub{C: s.github.Installation(inst.GetID())}
	return s.upstream.Backfill(ctx, inst.GetID(), gh, org)
}
