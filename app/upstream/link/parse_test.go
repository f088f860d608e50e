package link

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var scs = Options{Org: "SovereignCloudStack"}

func gh(project string, k Kind, n int64, url string) Ref {
	return Ref{Provider: GitHub, Host: "github.com", Project: project, Kind: k, Number: n, URL: url}
}

func gerritRef(host, project string, n int64, url string) Ref {
	return Ref{Provider: Gerrit, Host: host, Project: project, Kind: Change, Number: n, URL: url}
}

func lp(project string, n int64, url string) Ref {
	return Ref{Provider: Launchpad, Host: "bugs.launchpad.net", Project: project, Kind: Bug, Number: n, URL: url}
}

func gl(host, project string, k Kind, n int64, url string) Ref {
	return Ref{Provider: GitLab, Host: host, Project: project, Kind: k, Number: n, URL: url}
}

func page(host, url string) Ref {
	return Ref{Provider: Other, Kind: Page, Host: host, URL: url}
}

// TestParseForms checks each URL form on its own, written in prose, so
// that exactly one reference with exactly these fields must come out.
func TestParseForms(t *testing.T) {
	keystone := gerritRef("review.opendev.org", "openstack/keystone", 903172, "https://review.opendev.org/c/openstack/keystone/+/903172")
	change := gerritRef("review.opendev.org", "", 903172, "https://review.opendev.org/c/903172")
	capiPR := gh("kubernetes-sigs/cluster-api", PR, 9912, "https://github.com/kubernetes-sigs/cluster-api/pull/9912")
	bug := lp("keystone", 2045974, "https://bugs.launchpad.net/keystone/+bug/2045974")
	bareBug := lp("", 2045974, "https://bugs.launchpad.net/bugs/2045974")
	mr := gl("gitlab.com", "group/sub/project", MR, 12, "https://gitlab.com/group/sub/project/-/merge_requests/12")

	tests := []struct {
		url  string
		want Ref
	}{
		// GitHub
		{"https://github.com/kubernetes-sigs/cluster-api/pull/9912", capiPR},
		{"https://github.com/kubernetes-sigs/cluster-api/pull/9912/files", capiPR},
		{"https://github.com/kubernetes-sigs/cluster-api/pull/9912/commits/0a1b2c3d", capiPR},
		{"https://github.com/kubernetes-sigs/cluster-api/pull/9912#issuecomment-1", capiPR},
		{"https://github.com/kubernetes-sigs/cluster-api/pull/9912?w=1", capiPR},
		{"https://github.com/kubernetes-sigs/cluster-api/pull/9912/", capiPR},
		{"http://github.com/kubernetes-sigs/cluster-api/pull/9912", capiPR},
		{"https://www.github.com/kubernetes-sigs/cluster-api/pull/9912", capiPR},
		{"HTTPS://GitHub.COM/kubernetes-sigs/cluster-api/pull/9912", capiPR},
		{"https://github.com/kubernetes-sigs/cluster-api/pull/09912", capiPR},
		{"https://github.com/osism/issues/issues/812", gh("osism/issues", Issue, 812, "https://github.com/osism/issues/issues/812")},
		{"https://github.com/ceph/ceph/issues/45#issue-2", gh("ceph/ceph", Issue, 45, "https://github.com/ceph/ceph/issues/45")},
		{"https://github.com/Owner-1/repo.name_x/pull/1", gh("Owner-1/repo.name_x", PR, 1, "https://github.com/Owner-1/repo.name_x/pull/1")},
		{"https://github.com/o/r/pull/9223372036854775807", gh("o/r", PR, 9223372036854775807, "https://github.com/o/r/pull/9223372036854775807")},

		// Gerrit
		{"https://review.opendev.org/c/openstack/keystone/+/903172", keystone},
		{"https://review.opendev.org/c/openstack/keystone/+/903172/", keystone},
		{"https://review.opendev.org/c/openstack/keystone/+/903172/3", keystone},
		{"https://review.opendev.org/c/openstack/keystone/+/903172/3/keystone/api/users.py", keystone},
		{"https://review.opendev.org/c/openstack/keystone/+/903172/comments/0b1d2e", keystone},
		{"https://review.opendev.org/c/openstack/keystone/+/903172?tab=checks", keystone},
		{"https://Review.OpenDev.org/c/openstack/keystone/+/903172", keystone},
		{"https://review.opendev.org/#/c/openstack/keystone/+/903172/", keystone},
		{"https://review.opendev.org/#/c/903172/", change},
		{"https://review.opendev.org/#/c/903172", change},
		{"https://review.opendev.org/#/c/903172/4", change},
		{"https://review.opendev.org/#/c/903172/4/keystone/api/users.py", change},
		{"https://review.opendev.org/903172", change},
		{"https://review.opendev.org/903172/", change},
		{"https://review.opendev.org/c/903172", change},
		{"https://review.opendev.org/c/openstack/python-openstackclient/+/880102",
			gerritRef("review.opendev.org", "openstack/python-openstackclient", 880102, "https://review.opendev.org/c/openstack/python-openstackclient/+/880102")},
		{"https://review.opendev.org/c/x/abc/+/5/2/README.md",
			gerritRef("review.opendev.org", "x/abc", 5, "https://review.opendev.org/c/x/abc/+/5")},

		// Launchpad
		{"https://bugs.launchpad.net/keystone/+bug/2045974", bug},
		{"https://bugs.launchpad.net/keystone/+bug/2045974/comments/3", bug},
		{"https://bugs.launchpad.net/keystone/+bug/2045974/", bug},
		{"https://launchpad.net/keystone/+bug/2045974", bug},
		{"https://BUGS.launchpad.net/keystone/+bug/2045974", bug},
		{"https://bugs.launchpad.net/bugs/2045974", bareBug},
		{"https://launchpad.net/bugs/2045974", bareBug},
		{"https://bugs.launchpad.net/ubuntu/+source/nova/+bug/2012345",
			lp("ubuntu/+source/nova", 2012345, "https://bugs.launchpad.net/ubuntu/+source/nova/+bug/2012345")},
		{"https://bugs.launchpad.net/ubuntu/jammy/+source/nova/+bug/2012345",
			lp("ubuntu/jammy/+source/nova", 2012345, "https://bugs.launchpad.net/ubuntu/jammy/+source/nova/+bug/2012345")},
		{"https://bugs.launchpad.net/nova/zed/+bug/2012345", lp("nova/zed", 2012345, "https://bugs.launchpad.net/nova/zed/+bug/2012345")},
		{"https://bugs.launchpad.net/bugs/+bug/7", lp("bugs", 7, "https://bugs.launchpad.net/bugs/+bug/7")},

		// GitLab
		{"https://gitlab.com/group/sub/project/-/merge_requests/12", mr},
		{"https://gitlab.com/group/sub/project/-/merge_requests/12/diffs", mr},
		{"https://gitlab.com/group/sub/project/-/merge_requests/12/diffs?commit_id=abc#note_1", mr},
		{"https://gitlab.com/group/sub/project/merge_requests/12", mr},
		{"https://gitlab.com/group/project/-/issues/5", gl("gitlab.com", "group/project", Issue, 5, "https://gitlab.com/group/project/-/issues/5")},
		{"https://gitlab.com/g/p/issues/5", gl("gitlab.com", "g/p", Issue, 5, "https://gitlab.com/g/p/-/issues/5")},
		{"https://gitlab.com/issues/project/-/issues/5", gl("gitlab.com", "issues/project", Issue, 5, "https://gitlab.com/issues/project/-/issues/5")},
	}
	for _, tc := range tests {
		for _, wrap := range []string{
			"see %s",
			"see %s.",
			"see %s, and",
			"(see %s)",
			"(%s).",
			"see <%s>",
			"[the change](%s)",
			"[%s](%s)",
			"**%s**",
			"| %s |",
			"> quoted: %s",
			"'%s'",
			"„%s“",
			"「%s」。",
			"see %s\u00a0here",
			"see %s\u3000here",
		} {
			text := strings.ReplaceAll(wrap, "%s", tc.url)
			got := Parse(text, scs)
			want := Parsed{Refs: []Found{{Ref: tc.want, Line: 1}}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", text, got, want)
			}
		}
	}
}

// TestParseNotRefs lists URLs that must not become references when they
// are not on an Upstream line.
func TestParseNotRefs(t *testing.T) {
	for _, url := range []string{
		"https://github.com/kubernetes-sigs/cluster-api",
		"https://github.com/kubernetes-sigs/cluster-api/",
		"https://github.com/kubernetes-sigs/cluster-api/commit/0a1b2c3d",
		"https://github.com/kubernetes-sigs/cluster-api/blob/main/README.md",
		"https://github.com/kubernetes-sigs/cluster-api/releases",
		"https://github.com/kubernetes-sigs/cluster-api/pulls",
		"https://github.com/kubernetes-sigs/cluster-api/issues",
		"https://github.com/kubernetes-sigs/cluster-api/pull/0",
		"https://github.com/kubernetes-sigs/cluster-api/pull/-1",
		"https://github.com/kubernetes-sigs/cluster-api/pull/+1",
		"https://github.com/kubernetes-sigs/cluster-api/pull/12a",
		"https://github.com/kubernetes-sigs/cluster-api/pull/9223372036854775808",
		"https://github.com/kubernetes-sigs/cluster-api/pull/99999999999999999999999",
		"https://github.com/own.er/repo/pull/1",
		"https://github.com/o/../pull/1",
		"https://github.com@evil.example/o/r/pull/1",
		"https://github.com.evil.example/o/r/pull/1",
		"https://gist.github.com/o/r/pull/1",
		"https://github.com/SovereignCloudStack/issues/issues/5",
		"https://github.com/sovereigncloudstack/standards/pull/12",
		"https://www.github.com/SOVEREIGNCLOUDSTACK/standards/pull/12",
		"https://review.opendev.org/",
		"https://review.opendev.org/c/openstack/keystone/+/0",
		"https://review.opendev.org/c/openstack/keystone/+/",
		"https://review.opendev.org/c/openstack/keystone/+/abc",
		"https://review.opendev.org/c/openstack/keystone",
		"https://review.opendev.org/#/q/status:open+project:openstack/keystone",
		"https://review.opendev.org/q/topic:scs",
		"https://review.opendev.org/c/+/+/5",
		"https://review.opendev.org/dashboard/self",
		"https://review.example.org/c/openstack/keystone/+/903172",
		"https://bugs.launchpad.net/keystone",
		"https://bugs.launchpad.net/keystone/+bugs",
		"https://bugs.launchpad.net/keystone/+bug/0",
		"https://bugs.launchpad.net/bugs/x",
		"https://bugs.launchpad.net/+bug/5",
		"https://bugs.launchpad.net/ubuntu/+sources/nova/+bug/5",
		"https://bugs.launchpad.net/+source/nova/+bug/5",
		"https://launchpad.net/keystone",
		"https://gitlab.com/group/project",
		"https://gitlab.com/group/project/-/merge_requests",
		"https://gitlab.com/group/project/-/merge_requests/new",
		"https://gitlab.com/group/project/-/blob/main/issues/5",
		"https://gitlab.com/group/-/issues/5",
		"https://gitlab.com/project/merge_requests/5",
		"https://gitlab.example.org/group/project/-/merge_requests/5",
		"https://tracker.ceph.com/issues/12345",
		"https://docs.openstack.org/keystone/latest/",
		"https://github.com/o/r/pull/1x",
		"https://github.com/o/r/pull/1\u00ad",
		"ftp://github.com/o/r/pull/1",
		"github.com/o/r/pull/1",
	} {
		if got := Parse("see "+url+" for details", scs); !reflect.DeepEqual(got, Parsed{}) {
			t.Errorf("Parse(%q) = %+v, want nothing", url, got)
		}
	}
}

func TestParseText(t *testing.T) {
	keystone := gerritRef("review.opendev.org", "openstack/keystone", 903172, "https://review.opendev.org/c/openstack/keystone/+/903172")
	bug := lp("keystone", 2045974, "https://bugs.launchpad.net/keystone/+bug/2045974")
	capiPR := gh("kubernetes-sigs/cluster-api", PR, 9912, "https://github.com/kubernetes-sigs/cluster-api/pull/9912")
	ceph := page("tracker.ceph.com", "https://tracker.ceph.com/issues/12345")

	tests := []struct {
		name string
		text string
		opts *Options
		want Parsed
	}{
		{name: "empty", text: "", want: Parsed{}},
		{
			name: "line numbers and text order",
			text: "Intro\n\nFix: https://bugs.launchpad.net/keystone/+bug/2045974\r\nChange https://review.opendev.org/c/openstack/keystone/+/903172\n",
			want: Parsed{Refs: []Found{{Ref: bug, Line: 3}, {Ref: keystone, Line: 4}}},
		},
		{
			name: "other URL on an Upstream line",
			text: "Upstream: https://tracker.ceph.com/issues/12345",
			want: Parsed{Refs: []Found{{Ref: ceph, Line: 1, UpstreamLine: true}}, HasUpstreamLines: true},
		},
		{
			name: "Upstream line forms",
			text: strings.Join([]string{
				"upstream: https://a.example/1",
				"UPSTREAM:https://a.example/2",
				"- Upstream: https://a.example/3",
				"* Upstream: https://a.example/4",
				"**Upstream:** https://a.example/5",
				"**Upstream**: https://a.example/6",
				"- **Upstream:** https://a.example/7",
				"  * __Upstream__: <https://a.example/8>",
				"> Upstream: https://a.example/9",
				"\tUpstream: [bug](https://a.example/10).",
			}, "\n"),
			want: Parsed{Refs: []Found{
				{Ref: page("a.example", "https://a.example/1"), Line: 1, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/2"), Line: 2, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/3"), Line: 3, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/4"), Line: 4, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/5"), Line: 5, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/6"), Line: 6, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/7"), Line: 7, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/8"), Line: 8, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/9"), Line: 9, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/10"), Line: 10, UpstreamLine: true},
			}, HasUpstreamLines: true},
		},
		{
			name: "not Upstream lines",
			text: strings.Join([]string{
				"See Upstream: https://a.example/1",
				"Upstreams: https://a.example/2",
				"Upstream https://a.example/3",
				"Upstream-Ref: https://a.example/4",
				"-Upstream: https://a.example/5",
				"1. Upstream: https://a.example/6",
			}, "\n"),
			want: Parsed{},
		},
		{
			name: "several URLs on one Upstream line",
			text: "Upstream: https://tracker.ceph.com/issues/12345, https://review.opendev.org/c/openstack/keystone/+/903172 and <https://Docs.OpenStack.org/keystone/latest/#x>",
			want: Parsed{Refs: []Found{
				{Ref: ceph, Line: 1, UpstreamLine: true},
				{Ref: keystone, Line: 1, UpstreamLine: true},
				{Ref: page("docs.openstack.org", "https://docs.openstack.org/keystone/latest/#x"), Line: 1, UpstreamLine: true},
			}, HasUpstreamLines: true},
		},
		{
			name: "repo page, commit and release are pages only on Upstream lines",
			text: "https://github.com/ceph/ceph\nUpstream: https://github.com/ceph/ceph https://github.com/ceph/ceph/commit/abc123 https://github.com/ceph/ceph/releases",
			want: Parsed{Refs: []Found{
				{Ref: page("github.com", "https://github.com/ceph/ceph"), Line: 2, UpstreamLine: true},
				{Ref: page("github.com", "https://github.com/ceph/ceph/commit/abc123"), Line: 2, UpstreamLine: true},
				{Ref: page("github.com", "https://github.com/ceph/ceph/releases"), Line: 2, UpstreamLine: true},
			}, HasUpstreamLines: true},
		},
		{
			name: "non-ASCII letters stay in a page URL",
			text: "Upstream: https://de.wikipedia.org/wiki/Föderation„",
			want: Parsed{Refs: []Found{
				{Ref: page("de.wikipedia.org", "https://de.wikipedia.org/wiki/Föderation"), Line: 1, UpstreamLine: true},
			}, HasUpstreamLines: true},
		},
		{
			name: "balanced parentheses stay in a page URL",
			text: "Upstream: https://en.wikipedia.org/wiki/Ceph_(software)",
			want: Parsed{Refs: []Found{
				{Ref: page("en.wikipedia.org", "https://en.wikipedia.org/wiki/Ceph_(software)"), Line: 1, UpstreamLine: true},
			}, HasUpstreamLines: true},
		},
		{
			name: "org links are never refs, even on Upstream lines",
			text: "Upstream: https://github.com/SovereignCloudStack/issues/issues/5\nUpstream: https://github.com/orgs/sovereigncloudstack/projects/6\nUpstream: https://github.com/SovereignCloudStack\nUpstream: https://github.com//SovereignCloudStack%2Fx",
			want: Parsed{HasUpstreamLines: true},
		},
		{
			name: "an Upstream line without a URL declares nothing",
			text: "Upstream: none yet\nUpstream: https://\nUpstream: https://user@host.example/",
			want: Parsed{},
		},
		{
			name: "fenced code blocks",
			text: strings.Join([]string{
				"```",
				"https://github.com/ceph/ceph/pull/1",
				"Upstream: https://a.example/1",
				"```",
				"~~~yaml",
				"https://github.com/ceph/ceph/pull/2",
				"```",
				"https://github.com/ceph/ceph/pull/3",
				"~~~",
				"- item",
				"  ````markdown",
				"  ```",
				"  https://github.com/ceph/ceph/pull/4",
				"  ```",
				"  ````",
				"> ```",
				"> https://github.com/ceph/ceph/pull/5",
				"> ```",
				"after https://github.com/ceph/ceph/pull/6",
				"```inline``` https://github.com/ceph/ceph/pull/7",
				"```",
				"unclosed https://github.com/ceph/ceph/pull/8",
			}, "\n"),
			want: Parsed{Refs: []Found{
				{Ref: gh("ceph/ceph", PR, 6, "https://github.com/ceph/ceph/pull/6"), Line: 19},
				{Ref: gh("ceph/ceph", PR, 7, "https://github.com/ceph/ceph/pull/7"), Line: 20},
			}},
		},
		{
			name: "inline code",
			text: strings.Join([]string{
				"run `curl https://github.com/ceph/ceph/pull/1` or ``x ` https://github.com/ceph/ceph/pull/2``",
				"Upstream: `https://a.example/1`",
				"an unmatched ` then https://github.com/ceph/ceph/pull/3",
				"escaped \\`https://github.com/ceph/ceph/pull/4\\`",
				"`code`https://github.com/ceph/ceph/pull/5",
			}, "\n"),
			want: Parsed{Refs: []Found{
				{Ref: gh("ceph/ceph", PR, 3, "https://github.com/ceph/ceph/pull/3"), Line: 3},
				{Ref: gh("ceph/ceph", PR, 4, "https://github.com/ceph/ceph/pull/4"), Line: 4},
				{Ref: gh("ceph/ceph", PR, 5, "https://github.com/ceph/ceph/pull/5"), Line: 5},
			}},
		},
		{
			name: "HTML comments",
			text: strings.Join([]string{
				"<!-- e.g. Upstream: https://review.opendev.org/c/openstack/nova/+/1 -->",
				"<!--",
				"Upstream: https://github.com/ceph/ceph/pull/1",
				"-->Upstream: https://a.example/1",
				"text <!-- https://github.com/ceph/ceph/pull/2 --> https://github.com/ceph/ceph/pull/3",
				"<!-- contribot:upstream https://github.com/ceph/ceph/pull/4 -->",
				"<!-->https://github.com/ceph/ceph/pull/5",
				"`<!--` https://github.com/ceph/ceph/pull/6",
				"```",
				"<!--",
				"```",
				"https://github.com/ceph/ceph/pull/7",
				"<!-- unclosed",
				"https://github.com/ceph/ceph/pull/8",
			}, "\n"),
			want: Parsed{Refs: []Found{
				{Ref: page("a.example", "https://a.example/1"), Line: 4, UpstreamLine: true},
				{Ref: gh("ceph/ceph", PR, 3, "https://github.com/ceph/ceph/pull/3"), Line: 5},
				{Ref: gh("ceph/ceph", PR, 5, "https://github.com/ceph/ceph/pull/5"), Line: 7},
				{Ref: gh("ceph/ceph", PR, 6, "https://github.com/ceph/ceph/pull/6"), Line: 8},
				{Ref: gh("ceph/ceph", PR, 7, "https://github.com/ceph/ceph/pull/7"), Line: 12},
			}, HasUpstreamLines: true},
		},
		{
			name: "quoted lines are parsed",
			text: "> Earlier: https://github.com/kubernetes-sigs/cluster-api/pull/9912\n>> and https://bugs.launchpad.net/keystone/+bug/2045974",
			want: Parsed{Refs: []Found{{Ref: capiPR, Line: 1}, {Ref: bug, Line: 2}}},
		},
		{
			name: "dedup across Gerrit forms fills in the project",
			text: "old https://review.opendev.org/#/c/903172/3\nnew https://review.opendev.org/c/openstack/keystone/+/903172\nbare https://review.opendev.org/903172",
			want: Parsed{Refs: []Found{{Ref: keystone, Line: 1}}},
		},
		{
			name: "dedup across Launchpad hosts",
			text: "https://launchpad.net/bugs/2045974 https://bugs.launchpad.net/keystone/+bug/2045974/comments/1",
			want: Parsed{Refs: []Found{{Ref: bug, Line: 1}}},
		},
		{
			name: "dedup keeps the first form's project",
			text: "https://bugs.launchpad.net/keystone/+bug/2045974\nhttps://bugs.launchpad.net/ubuntu/+source/keystone/+bug/2045974",
			want: Parsed{Refs: []Found{{Ref: bug, Line: 1}}},
		},
		{
			name: "dedup across GitHub forms and owner case; an Upstream line marks the first",
			text: "https://github.com/kubernetes-sigs/cluster-api/pull/9912/files\nhttps://www.github.com/Kubernetes-SIGs/cluster-api/pull/9912#x\nUpstream: https://github.com/kubernetes-sigs/cluster-api/pull/9912",
			want: Parsed{Refs: []Found{{Ref: capiPR, Line: 1, UpstreamLine: true}}, HasUpstreamLines: true},
		},
		{
			name: "a pull request and an issue of one number stay apart",
			text: "https://github.com/o/r/pull/5 https://github.com/o/r/issues/5",
			want: Parsed{Refs: []Found{
				{Ref: gh("o/r", PR, 5, "https://github.com/o/r/pull/5"), Line: 1},
				{Ref: gh("o/r", Issue, 5, "https://github.com/o/r/issues/5"), Line: 1},
			}},
		},
		{
			name: "page URLs dedupe as written",
			text: "Upstream: https://a.example/x\nUpstream: HTTPS://A.EXAMPLE/x\nUpstream: https://a.example/x/",
			want: Parsed{Refs: []Found{
				{Ref: page("a.example", "https://a.example/x"), Line: 1, UpstreamLine: true},
				{Ref: page("a.example", "https://a.example/x/"), Line: 3, UpstreamLine: true},
			}, HasUpstreamLines: true},
		},
		{
			name: "without an org every GitHub owner is upstream",
			text: "https://github.com/SovereignCloudStack/issues/issues/5",
			opts: &Options{},
			want: Parsed{Refs: []Found{{Ref: gh("SovereignCloudStack/issues", Issue, 5, "https://github.com/SovereignCloudStack/issues/issues/5"), Line: 1}}},
		},
		{
			name: "configured hosts replace the defaults",
			text: strings.Join([]string{
				"https://review.opendev.org/c/openstack/keystone/+/903172",
				"https://Review.Example.ORG/c/proj/+/7",
				"https://git.example.org/g/p/-/merge_requests/3",
				"https://ghe.example.org/o/r/pull/2",
				"https://ghe.example.org/sovereigncloudstack/r/pull/2",
				"https://github.com/o/r/pull/1",
				"https://gitlab.com/g/p/-/merge_requests/3",
				"https://bugs.launchpad.net/bugs/4",
				"https://lp.example.org/bugs/4",
				"https://bugs.lp.example.org/bugs/4",
			}, "\n"),
			opts: &Options{
				Org:            "SovereignCloudStack",
				GitHubHosts:    []string{"GHE.example.org"},
				GerritHosts:    []string{" https://review.example.org/ "},
				GitLabHosts:    []string{"git.example.org", ""},
				LaunchpadHosts: []string{"lp.example.org", "bugs.lp.example.org"},
			},
			want: Parsed{Refs: []Found{
				{Ref: gerritRef("review.example.org", "proj", 7, "https://review.example.org/c/proj/+/7"), Line: 2},
				{Ref: gl("git.example.org", "g/p", MR, 3, "https://git.example.org/g/p/-/merge_requests/3"), Line: 3},
				{Ref: Ref{Provider: GitHub, Host: "ghe.example.org", Project: "o/r", Kind: PR, Number: 2, URL: "https://ghe.example.org/o/r/pull/2"}, Line: 4},
				{Ref: Ref{Provider: Launchpad, Host: "bugs.lp.example.org", Kind: Bug, Number: 4, URL: "https://bugs.lp.example.org/bugs/4"}, Line: 9},
			}},
		},
		{
			name: "a host in two lists belongs to the first provider",
			text: "https://code.example.org/o/r/pull/1 https://code.example.org/c/p/+/2",
			opts: &Options{GitHubHosts: []string{"code.example.org"}, GerritHosts: []string{"code.example.org"}},
			want: Parsed{Refs: []Found{{Ref: Ref{Provider: GitHub, Host: "code.example.org", Project: "o/r", Kind: PR, Number: 1, URL: "https://code.example.org/o/r/pull/1"}, Line: 1}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := scs
			if tc.opts != nil {
				o = *tc.opts
			}
			got := Parse(tc.text, o)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", dump(got), dump(tc.want))
			}
		})
	}
}

func dump(p Parsed) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HasUpstreamLines=%v\n", p.HasUpstreamLines)
	for _, f := range p.Refs {
		fmt.Fprintf(&b, "  %+v\n", f)
	}
	return b.String()
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		in, want Options
	}{
		{
			in: Options{Org: "SovereignCloudStack"},
			want: Options{
				Org:            "SovereignCloudStack",
				GitHubHosts:    []string{"github.com"},
				GerritHosts:    []string{"review.opendev.org"},
				GitLabHosts:    []string{"gitlab.com"},
				LaunchpadHosts: []string{"bugs.launchpad.net", "launchpad.net"},
			},
		},
		{
			in: Options{
				GitHubHosts:    []string{" ", ""},
				GerritHosts:    []string{"HTTPS://Review.Example.org/r/", "review.opendev.org"},
				GitLabHosts:    []string{},
				LaunchpadHosts: []string{"launchpad.test"},
			},
			want: Options{
				GitHubHosts:    []string{"github.com"},
				GerritHosts:    []string{"review.example.org", "review.opendev.org"},
				GitLabHosts:    []string{"gitlab.com"},
				LaunchpadHosts: []string{"launchpad.test"},
			},
		},
	}
	for _, tc := range tests {
		if got := tc.in.WithDefaults(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v.WithDefaults() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestParseDefaultsUsed checks that the zero Options recognise every
// default host, not just that WithDefaults lists them.
func TestParseDefaultsUsed(t *testing.T) {
	text := "https://github.com/o/r/pull/1 https://review.opendev.org/2 https://gitlab.com/g/p/-/issues/3 https://bugs.launchpad.net/bugs/4 https://launchpad.net/bugs/5"
	var got []Provider
	for _, f := range Parse(text, Options{}).Refs {
		got = append(got, f.Provider)
	}
	want := []Provider{GitHub, Gerrit, GitLab, Launchpad, Launchpad}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("providers = %v, want %v", got, want)
	}
}

// TestParseLongLines checks inputs whose naive handling would be slow or
// wrong: a long run of unmatched backticks and a URL that fills a line.
func TestParseLongLines(t *testing.T) {
	var b strings.Builder
	for n := 1; n < 200; n++ {
		b.WriteString(strings.Repeat("`", n) + " ")
	}
	b.WriteString("https://github.com/o/r/pull/1")
	got := Parse(b.String(), scs)
	// The runs of one to 199 backticks pair up with nothing, so the URL is
	// outside any span.
	want := Parsed{Refs: []Found{{Ref: gh("o/r", PR, 1, "https://github.com/o/r/pull/1"), Line: 1}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s", dump(got))
	}

	long := "Upstream: https://a.example/" + strings.Repeat("x", 70000)
	got = Parse(long, scs)
	if len(got.Refs) != 1 || got.Refs[0].URL != long[len("Upstream: "):] {
		t.Errorf("long URL: got %d refs", len(got.Refs))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"Upstream: https://review.opendev.org/c/openstack/keystone/+/903172",
		"https://bugs.launchpad.net/keystone/+bug/2045974 https://launchpad.net/bugs/2045974",
		"- **Upstream:** https://tracker.ceph.com/issues/1, https://github.com/SovereignCloudStack/issues/issues/5",
		"```\nhttps://github.com/o/r/pull/1\n```\n`https://github.com/o/r/pull/2` <!-- https://github.com/o/r/pull/3 -->",
		"https://review.opendev.org/#/c/903172/3 https://review.opendev.org/903172",
		"https://gitlab.com/g/s/p/-/merge_requests/12/diffs https://gitlab.com/g/p/issues/5",
		"[x](https://github.com/o/r/pull/9223372036854775808) <https://github.com/o/r/issues/7>.",
		"Upstream: https://en.wikipedia.org/wiki/Ceph_(software))",
		"<!-->\n~~~\n```\n> Upstream: http://WWW.GitHub.com/o/r/pull/1\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := Parse(text, scs)
		lines := strings.Count(text, "\n") + 1
		seen := map[string]bool{}
		last := 0
		anyUpstream := false
		for _, r := range got.Refs {
			k := r.Key()
			if k == "" || seen[k] {
				t.Fatalf("empty or repeated key %q in %+v", k, got.Refs)
			}
			seen[k] = true
			if r.Tracked() && r.Number <= 0 {
				t.Fatalf("tracked ref without a number: %+v", r)
			}
			if !r.Tracked() && (r.Provider != Other || !r.UpstreamLine) {
				t.Fatalf("untracked ref off an Upstream line: %+v", r)
			}
			if r.Host == "" || r.Host != strings.ToLower(r.Host) || r.URL == "" {
				t.Fatalf("bad host or URL: %+v", r)
			}
			if r.Host == "github.com" && (strings.EqualFold(r.Project, "SovereignCloudStack") || strings.HasPrefix(strings.ToLower(r.Project), "sovereigncloudstack/")) {
				t.Fatalf("org link: %+v", r)
			}
			if r.Provider == Other && strings.HasPrefix(strings.ToLower(r.URL), "https://github.com/sovereigncloudstack") {
				t.Fatalf("org link: %+v", r)
			}
			if r.Line < last || r.Line < 1 || r.Line > lines {
				t.Fatalf("line %d out of order or range (last %d, lines %d)", r.Line, last, lines)
			}
			last = r.Line
			anyUpstream = anyUpstream || r.UpstreamLine
		}
		if anyUpstream && !got.HasUpstreamLines {
			t.Fatalf("a ref from an Upstream line but HasUpstreamLines is false")
		}
		// Parsing is a function of the text: a second run agrees.
		if again := Parse(text, scs); !reflect.DeepEqual(again, got) {
			t.Fatalf("Parse is not deterministic")
		}
	})
}

// issueBody is a realistic 5 KB issue from the SCS issue template: prose,
// a checklist, an HTML-commented template hint, a log in a fence and
// several upstream links.
var issueBody = func() string {
	var b strings.Builder
	b.WriteString(`<!--
Thank you for reporting! Please fill in the template below.
Upstream: https://review.opendev.org/c/openstack/example/+/1 (put the upstream link here)
-->
## Summary

Keystone returns 500 when a federated user with an expired mapping logs in
through the SCS IAM stack. We traced it to the mapping engine; a fix is
under review upstream, see https://review.opendev.org/c/openstack/keystone/+/903172
and the bug report https://bugs.launchpad.net/keystone/+bug/2045974.

- Upstream: https://review.opendev.org/c/openstack/keystone/+/903172
- **Upstream:** https://bugs.launchpad.net/keystone/+bug/2045974, https://tracker.ceph.com/issues/63412

## Steps to reproduce

1. Deploy the testbed with ` + "`osism apply keystone`" + `
2. Create a mapping as described in https://docs.scs.community/docs/iaas/guides/
3. Log in with ` + "`openstack --os-auth-type v3oidcpassword token issue`" + `

` + "```" + `
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/keystone/federation/utils.py", line 812, in process
    raise exception.ValidationError(...)
keystone.exception.ValidationError: see https://github.com/openstack/keystone/pull/1
` + "```" + `

## Related

> From the OSISM side: https://github.com/osism/issues/issues/812
> and the container image change https://github.com/osism/container-images/pull/345

Also discussed in https://github.com/SovereignCloudStack/issues/issues/512 and
[the CAPI ticket](https://github.com/kubernetes-sigs/cluster-api/pull/9912).

`)
	filler := "We checked the behaviour on the current release and on the previous one; both fail in the same way, with the same trace, which points at the mapping rules rather than the identity provider.\n"
	for b.Len() < 5000 {
		b.WriteString(filler)
	}
	return b.String()
}()

func TestIssueBody(t *testing.T) {
	var keys []string
	for _, f := range Parse(issueBody, scs).Refs {
		keys = append(keys, fmt.Sprintf("%s@%d/%v", f.Key(), f.Line, f.UpstreamLine))
	}
	want := []string{
		"gerrit:review.opendev.org:903172@9/true",
		"launchpad:bugs.launchpad.net:2045974@10/true",
		"link:https://tracker.ceph.com/issues/63412@13/true",
		"github:github.com:osism/issues:issue:812@30/false",
		"github:github.com:osism/container-images:pr:345@31/false",
		"github:github.com:kubernetes-sigs/cluster-api:pr:9912@34/false",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys =\n%s\nwant\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
}

func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(issueBody)))
	for b.Loop() {
		Parse(issueBody, scs)
	}
}

func BenchmarkParse64K(b *testing.B) {
	var s strings.Builder
	for s.Len() < 64<<10 {
		s.WriteString(issueBody)
	}
	text := s.String()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Parse(text, scs)
	}
}
