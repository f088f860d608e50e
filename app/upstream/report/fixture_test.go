package report

import (
	"strconv"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// now is the fixed clock of the tests.
var zero time.Time

var now = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }

func issue(repo string, n int, open bool, modules ...string) Tracker {
	return Tracker{
		Repo: repo, Number: n, Title: "Track " + repo, Open: open, Modules: modules,
		URL: "https://github.com/" + repo + "/issues/" + itoa(n),
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func gerrit(project string, n int64, s provider.State, raw string, act time.Time, ts ...Tracker) Reference {
	return Reference{
		Key: "gerrit:review.opendev.org:" + itoa(int(n)), Provider: "gerrit", Host: "review.opendev.org",
		Project: project, Kind: "change", Number: n,
		URL:   "https://review.opendev.org/c/" + project + "/+/" + itoa(int(n)),
		State: s, RawState: raw, Title: "Change " + itoa(int(n)), LastActivity: act,
		LastChecked: now, Trackers: ts,
	}
}

func githubRef(project string, n int64, s provider.State, raw string, act time.Time, ts ...Tracker) Reference {
	return Reference{
		Key: "github:github.com:" + project + ":pr:" + itoa(int(n)), Provider: "github", Host: "github.com",
		Project: project, Kind: "pr", Number: n,
		URL:   "https://github.com/" + project + "/pull/" + itoa(int(n)),
		State: s, RawState: raw, Title: "PR " + itoa(int(n)), LastActivity: act,
		LastChecked: now, Trackers: ts,
	}
}

func launchpad(project string, n int64, s provider.State, raw string, act time.Time, ts ...Tracker) Reference {
	return Reference{
		Key: "launchpad:bugs.launchpad.net:" + itoa(int(n)), Provider: "launchpad", Host: "bugs.launchpad.net",
		Project: project, Kind: "bug", Number: n,
		URL:   "https://bugs.launchpad.net/" + project + "/+bug/" + itoa(int(n)),
		State: s, RawState: raw, Title: "Bug " + itoa(int(n)), LastActivity: act,
		LastChecked: now, Trackers: ts,
	}
}

func untracked(u string, ts ...Tracker) Reference {
	return Reference{Key: "link:" + u, Provider: "link", URL: u, Kind: "page", Host: "example.org", Trackers: ts}
}

// genRefs makes n references spread over trackers tracking items, with the
// mix of providers, states and modules of a real org.
func genRefs(n, trackers int) []Reference {
	modules := []string{"IaaS", "Container", "Ops", "IAM", "Community", "standards", "documentation", "osism"}
	gerritProjects := []string{"openstack/keystone", "openstack/nova", "openstack/neutron", "openstack/cinder", "openstack/octavia", "openstack/kolla-ansible"}
	githubProjects := []string{"kubernetes-sigs/cluster-api", "kubernetes-sigs/cluster-api-provider-openstack", "osism/ansible-collection-services", "ceph/ceph", "kubernetes/kubernetes"}
	lpProjects := []string{"keystone", "nova", "neutron", "octavia"}
	states := []provider.State{provider.InReview, provider.InReview, provider.Open, provider.Merged, provider.Merged, provider.Merged, provider.Released, provider.Draft, provider.Abandoned, provider.Unavailable, provider.Unknown}
	ts := make([]Tracker, trackers)
	for i := range ts {
		mods := []string{modules[i%len(modules)]}
		if i%7 == 0 {
			mods = append(mods, modules[(i+3)%len(modules)])
		}
		if i%11 == 0 {
			mods = nil
		}
		repo := "SovereignCloudStack/issues"
		if i%3 == 0 {
			repo = "SovereignCloudStack/cluster-stacks"
		}
		ts[i] = issue(repo, 100+i, i%13 != 0, mods...)
		ts[i].Title = "Tracking item " + itoa(i)
		ts[i].PR = i%5 == 0
	}
	refs := make([]Reference, n)
	for i := range refs {
		s := states[i%len(states)]
		act := now.Add(-time.Duration(i%400) * 24 * time.Hour)
		t1, t2 := ts[i%trackers], ts[(i*7+3)%trackers]
		var r Reference
		switch i % 5 {
		case 0, 1:
			r = gerrit(gerritProjects[i%len(gerritProjects)], int64(900000+i), s, "NEW", act, t1)
		case 2, 3:
			r = githubRef(githubProjects[i%len(githubProjects)], int64(1000+i), s, "open", act, t1, t2)
		default:
			r = launchpad(lpProjects[i%len(lpProjects)], int64(2000000+i), s, "In Progress", act, t1)
		}
		r.Title = "Make the " + modules[i%len(modules)] + " part handle case " + itoa(i) + " with more care than before"
		if s == provider.Unknown {
			r.LastActivity, r.LastChecked, r.RawState, r.Title = time.Time{}, time.Time{}, "", ""
		}
		if i%97 == 0 {
			r = untracked("https://wiki.example.org/page/"+itoa(i), t1)
		}
		refs[i] = r
	}
	return refs
}

// zwj is the zero-width joiner app/markdown inserts to break GitHub's
// mention, reference and autolink patterns.
const zwj = "\u200d"
