package provider

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

func gerritRef(n int64) link.Ref {
	return link.Ref{Provider: link.Gerrit, Host: "review.opendev.org", Project: "openstack/keystone", Kind: link.Change, Number: n,
		URL: "https://review.opendev.org/c/openstack/keystone/+/" + strconv.FormatInt(n, 10)}
}

func lpRef(project string, n int64) link.Ref {
	return link.Ref{Provider: link.Launchpad, Host: "bugs.launchpad.net", Project: project, Kind: link.Bug, Number: n,
		URL: fmt.Sprintf("https://bugs.launchpad.net/%s/+bug/%d", project, n)}
}

func glRef(path string, kind link.Kind, n int64) link.Ref {
	seg := "issues"
	if kind == link.MR {
		seg = "merge_requests"
	}
	return link.Ref{Provider: link.GitLab, Host: "gitlab.com", Project: path, Kind: kind, Number: n,
		URL: fmt.Sprintf("https://gitlab.com/%s/-/%s/%d", path, seg, n)}
}

func ghRef(repo string, kind link.Kind, n int64) link.Ref {
	seg := "issues"
	if kind == link.PR {
		seg = "pull"
	}
	return link.Ref{Provider: link.GitHub, Host: "github.com", Project: repo, Kind: kind, Number: n,
		URL: fmt.Sprintf("https://github.com/%s/%s/%d", repo, seg, n)}
}

// client is a plain client for tests: no limit, no retries.
func client() *http.Client { return &http.Client{} }

// checkErrOnly fails unless every ref has an Err and a zero Status, which
// is what makes the caller keep the last known state.
func checkErrOnly(t *testing.T, got map[string]Result, refs []link.Ref) {
	t.Helper()
	for _, r := range refs {
		res, ok := got[r.Key()]
		if !ok {
			t.Errorf("%s: no result", r.Key())
			continue
		}
		if res.Err == nil || res.Status != (Status{}) {
			t.Errorf("%s: got %+v, want only an Err", r.Key(), res)
		}
	}
}
