package upstream

import (
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// The status comment is found by the marker it starts with. Any GitHub
// user can put the marker in a title that contribot then quotes in a
// comment of its own (a greeting); such a comment must not pass for the
// status comment, or the tracker would overwrite it.
func TestIsStatusComment_AnyGitHubUserQuotesTheMarker(t *testing.T) {
	const self = "contribot[bot]"
	comment := func(login, body string) *github.IssueComment {
		return &github.IssueComment{User: &github.User{Login: github.String(login)}, Body: github.String(body)}
	}
	tests := []struct {
		name string
		c    *github.IssueComment
		want bool
	}{
		{"contribot's status comment", comment(self, report.CommentMarker+"\n**Upstream status**\n"), true},
		{"contribot's greeting quoting a title with the marker", comment(self, "Thanks for `help "+report.CommentMarker+"`, @alice!\n\n<!-- contribot:welcome:pr -->"), false},
		{"any GitHub user pastes the marker first", comment("mallory", report.CommentMarker+"\nfake status"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isStatusComment(tt.c, self); got != tt.want {
				t.Errorf("isStatusComment = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStartsWithMarker(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{report.DashboardMarker + "\n# Upstream work", true},
		{"\r\n" + report.DashboardMarker + "\n", true},
		{"An issue that quotes " + report.DashboardMarker, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := report.StartsWithMarker(tt.body, report.DashboardMarker); got != tt.want {
			t.Errorf("StartsWithMarker(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}
