package provider

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/google/go-github/v60/github"
)

// hostileSet is a Set whose Gerrit (review.opendev.org), GitLab
// (gitlab.com) and Launchpad all answer with answer, as a host that an org
// admin or a repository maintainer names in upstream.gerrit or
// upstream.gitlab can, and whose GitHub is gh.
func hostileSet(t *testing.T, answer []byte, gh *ghServer) *Set {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(answer) }))
	t.Cleanup(srv.Close)
	eps, err := ParseEndpoints("review.opendev.org=" + srv.URL + "/,launchpad=" + srv.URL + "/,gitlab.com=" + srv.URL + "/api/v4/")
	if err != nil {
		t.Fatal(err)
	}
	opts := SetOptions{HTTP: client(), Endpoints: eps, PerSecond: -1}
	if gh != nil {
		opts.GitHub = func(ctx context.Context, _ string) (*github.Client, error) { return gh.client(ctx) }
	}
	return NewSet(opts)
}

// repeatTo is unit repeated between head and tail to n bytes in all.
func repeatTo(head, unit, tail string, n int) []byte {
	var b bytes.Buffer
	b.WriteString(head)
	for b.Len()+len(unit)+len(tail) <= n {
		b.WriteString(unit)
	}
	b.WriteString(tail)
	return b.Bytes()
}

func gerritRefs(n int) []link.Ref {
	refs := make([]link.Ref, n)
	for i := range refs {
		refs[i] = gerritRef(int64(i + 1))
	}
	return refs
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSet_HostileHost_AnswerBombsCostLittle: a host named in rules answers
// with far more than was asked for: megabytes for one change, or a list of
// hundreds of thousands of empty objects, which costs ~100 bytes of
// memory per 3 bytes of answer when decoded whole (10 MiB of them took a
// gigabyte). Each answer is capped to what its request can need and
// decoded no further than what was asked, so the memory a check costs is
// bounded by its request, not by the host: a few times the request's cap
// (reading in growing chunks and the final copy cost twice the answer,
// and the race detector doubles that), where decoding the whole answer
// cost hundreds of times. Not parallel: it measures allocation.
func TestSet_HostileHost_AnswerBombsCostLittle(t *testing.T) {
	tests := []struct {
		attacker string
		answer   []byte
		refs     []link.Ref
		cap      int64  // what the request may read
		want     string // the public text of every ref's failure; "" for none
	}{
		{
			attacker: "a Gerrit an org admin names answers 10 MiB of empty changes for one",
			answer:   repeatTo(")]}'\n[", "{},", "{}]", MaxBody),
			refs:     gerritRefs(1),
			cap:      gerritPerChange,
			want:     "review.opendev.org sent an answer over 16 KiB",
		},
		{
			attacker: "a Gerrit an org admin names answers a batch of 50 with 270,000 empty changes",
			answer:   repeatTo(")]}'\n[", "{},", "{}]", 50*gerritPerChange),
			refs:     gerritRefs(50),
			cap:      50 * gerritPerChange,
			want:     "review.opendev.org sent an answer that could not be read",
		},
		{
			attacker: "a GitLab a repository maintainer names answers 10 MiB for one merge request",
			answer:   repeatTo(`{"state":"opened","title":"`, "A", `"}`, MaxBody),
			refs:     []link.Ref{glRef("a/b", link.MR, 1)},
			cap:      gitlabMaxBody,
			want:     "gitlab.com sent an answer over 4 MiB",
		},
		{
			attacker: "a Launchpad endpoint answers 10 MiB of bug tasks",
			answer:   repeatTo(`{"entries":[`, "{},", "{}]}", MaxBody),
			refs:     []link.Ref{lpRef("keystone", 1)},
			cap:      lpPage * lpPerTask,
			want:     "launchpad.net sent an answer over 1200 KiB",
		},
		{
			attacker: "a Launchpad endpoint answers a page of 400,000 empty bug tasks",
			answer:   repeatTo(`{"total_size":1,"entries":[`, "{},", "{}]}", lpPage*lpPerTask),
			refs:     []link.Ref{lpRef("keystone", 1)},
			cap:      lpPage * lpPerTask,
		},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			s := hostileSet(t, tt.answer, nil)
			var got map[string]Result
			n := allocated(func() { got = s.Fetch(context.Background(), tt.refs) })
			if limit := uint64(6*tt.cap + 1<<20); n > limit {
				t.Errorf("an answer of %d KiB cost %d KiB of allocation, want at most %d KiB", len(tt.answer)>>10, n>>10, limit>>10)
			}
			for _, r := range tt.refs {
				res := got[r.Key()]
				if pub := PublicText(res.Err); tt.want != "" && pub != tt.want {
					t.Errorf("%s: public text %q, want %q", r.Key(), pub, tt.want)
				}
				if tt.want == "" && res.Err != nil {
					t.Errorf("%s: %v, want the first page's tasks read", r.Key(), Detail(res.Err))
				}
			}
		})
	}
}

// TestSet_HostileHost_LongTextsAreCut: any provider's title, state and
// target names are cut before they leave the package, whatever the host
// sent: a hostile Gerrit, GitLab or Launchpad (or a fake GitHub) with
// subjects of kilobytes to megabytes must not have them stored and served
// whole on every anonymous GET of the public page.
func TestSet_HostileHost_LongTextsAreCut(t *testing.T) {
	long := func(n int) string { return strings.Repeat("Äb ", n/4) }
	tests := []struct {
		attacker string
		answer   []byte
		ref      link.Ref
		github   map[string]ghItem
	}{
		{
			attacker: "a Gerrit an org admin names sends a 4,000-rune subject and a 3,000-byte status",
			answer:   []byte(`)]}'` + "\n" + `[{"_number":1,"status":"` + strings.Repeat("N", 3000) + `","subject":"` + long(4000*4/3) + `"}]`),
			ref:      gerritRef(1),
		},
		{
			attacker: "a GitLab a repository maintainer names sends a 1 MiB title and state",
			answer:   []byte(`{"state":"` + strings.Repeat("o", 1<<20) + `","title":"` + long(1<<20) + `"}`),
			ref:      glRef("a/b", link.MR, 1),
		},
		{
			attacker: "a Launchpad endpoint sends long titles, statuses and target names",
			answer: []byte(`{"entries":[{"bug_target_name":"` + strings.Repeat("t", 100000) + `","status":"` + strings.Repeat("s", 100000) +
				`","title":"Bug #1 in x: \"` + long(400000) + `\""}]}`),
			ref: lpRef("keystone", 1),
		},
		{
			attacker: "any GitHub user's issue, as a GitHub that sent a 1 MiB title would show it",
			ref:      ghRef("o/r", link.Issue, 5),
			github:   map[string]ghItem{"o/r#5": {fields: map[string]any{"state": strings.Repeat("x", 100000), "title": long(1 << 20)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			var gh *ghServer
			if tt.github != nil {
				gh = newGHServer(t, tt.github)
			}
			res := hostileSet(t, tt.answer, gh).Fetch(context.Background(), []link.Ref{tt.ref})[tt.ref.Key()]
			if res.Err != nil {
				t.Fatalf("check failed: %v", Detail(res.Err))
			}
			st := res.Status
			if n := utf8.RuneCountInString(st.Title); n > MaxTitle || !strings.HasSuffix(st.Title, "…") || !strings.HasPrefix(st.Title, "Äb Äb") {
				t.Errorf("title of %d runes (%.20q…%q), want the start, cut to at most %d with a mark", n, st.Title, st.Title[max(0, len(st.Title)-8):], MaxTitle)
			}
			if n := utf8.RuneCountInString(st.Raw); n > MaxRaw || !strings.HasSuffix(st.Raw, "…") {
				t.Errorf("raw state of %d runes (%.20q…), want at most %d with a mark", n, st.Raw, MaxRaw)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"äöü", 3, "äöü"},
		{"äöüß", 3, "äö…"},
		{"a  bcd", 3, "a…"},
		{"日本語のテキスト", 5, "日本語の…"},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
