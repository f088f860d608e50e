package upstream_test

import (
	"slices"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
	"github.com/SovereignCloudStack/contribot/rules"
)

func TestModulesOf(t *testing.T) {
	r := &rules.Rules{
		Modules: map[string]rules.Module{"iaas": {Label: "IaaS"}, "container": {Label: "Container"}, "storage": {Label: "area/storage"}},
		Labels: rules.Labels{Rules: []rules.LabelRule{
			{Repos: []string{"SovereignCloudStack/cluster-stack*"}, Modules: []string{"container"}},
			{Repos: []string{"SovereignCloudStack/standards"}, Files: rules.FileGlobs{Any: []string{"Standards/scs-0110-*"}}, Modules: []string{"storage"}},
			{Repos: []string{"rookify"}, Modules: []string{"iaas", "storage"}},
		}},
	}
	tests := []struct {
		name, repo string
		labels     []string
		want       []string
	}{
		{"labels win", "SovereignCloudStack/issues", []string{"upstream", "IaaS", "area/storage"}, []string{"iaas", "storage"}},
		{"label case does not matter", "SovereignCloudStack/issues", []string{"iaas"}, []string{"iaas"}},
		{"repository rule without labels", "SovereignCloudStack/cluster-stacks", []string{"upstream"}, []string{"container"}},
		{"repository name in any owner", "other/rookify", nil, []string{"iaas", "storage"}},
		{"rules that need files do not apply to issues", "SovereignCloudStack/standards", nil, nil},
		{"nothing", "SovereignCloudStack/issues", []string{"upstream"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstream.ModulesOf(r, tt.repo, tt.labels); !slices.Equal(got, tt.want) {
				t.Errorf("ModulesOf(%s, %q) = %q, want %q", tt.repo, tt.labels, got, tt.want)
			}
		})
	}
}

func TestWantLabels(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	o := report.Options{Now: now, StaleAfter: 60 * 24 * time.Hour}
	ref := func(state provider.State, lastActivity time.Time) report.Reference {
		return report.Reference{Provider: "gerrit", State: state, LastActivity: lastActivity}
	}
	link := report.Reference{Provider: "link"}
	recent, old := now.Add(-24*time.Hour), now.Add(-90*24*time.Hour)
	tests := []struct {
		name string
		refs []report.Reference
		want []string
	}{
		{"nothing tracked", []report.Reference{link}, nil},
		{"all merged or released", []report.Reference{ref(provider.Merged, recent), ref(provider.Released, old), link}, []string{rules.UpstreamLabelMerged}},
		{"one in review", []report.Reference{ref(provider.Merged, recent), ref(provider.InReview, recent)}, nil},
		{"stale review", []report.Reference{ref(provider.Merged, recent), ref(provider.InReview, old)}, []string{rules.UpstreamLabelStale}},
		{"an old merge is not stale", []report.Reference{ref(provider.Merged, old)}, []string{rules.UpstreamLabelMerged}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstream.WantLabels(tt.refs, o); !slices.Equal(got, tt.want) {
				t.Errorf("WantLabels = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMaintainer(t *testing.T) {
	for assoc, want := range map[string]bool{"OWNER": true, "MEMBER": true, "COLLABORATOR": true, "CONTRIBUTOR": false, "NONE": false, "FIRST_TIMER": false, "": false} {
		if got := upstream.Maintainer(assoc); got != want {
			t.Errorf("Maintainer(%q) = %v, want %v", assoc, got, want)
		}
	}
}
