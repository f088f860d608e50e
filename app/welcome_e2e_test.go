package app_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/welcome"
	"github.com/SovereignCloudStack/contribot/rules"
)

// newcomer is the contributor of these tests; the real payloads are by
// Codertocat, the repository's owner.
const newcomer = "ada-lovelace"

const (
	markerIssue  = "<!-- contribot:welcome:issue -->"
	markerPR     = "<!-- contribot:welcome:pr -->"
	markerMerged = "<!-- contribot:welcome:merged -->"
	// The real issues/opened.json is Codertocat/Hello-World#1.
	issueNumber = 1
)

// searchCall is the one search the welcome feature makes, as the fake
// records it: go-github sends per_page and q, in that order.
func searchCall(q string) string {
	return "GET /search/issues?" + url.Values{"per_page": {"2"}, "q": {q}}.Encode()
}

func listCommentsCall(n int) string {
	return fmt.Sprintf("GET /repos/Codertocat/Hello-World/issues/%d/comments?per_page=100", n)
}

func createCommentCall(n int) string {
	return fmt.Sprintf("POST /repos/Codertocat/Hello-World/issues/%d/comments", n)
}

// welcomeCalls are the calls the welcome feature makes: searches and
// comments. The DCO and labels jobs that run beside it read commits, files
// and labels; rules reads are left out too.
func (e *env) welcomeCalls() []string {
	var out []string
	for _, c := range e.fake.Calls() {
		if strings.Contains(c, " /search/issues") || strings.Contains(c, "/comments") || strings.Contains(c, "/members/") {
			out = append(out, c)
		}
	}
	return out
}

// memberCall is the membership check a newcomer candidate costs, since
// payloads do not show private org membership.
const memberCall = "GET /orgs/Codertocat/members/" + newcomer

func (e *env) searches() int {
	return e.countCalls(func(c string) bool { return strings.HasPrefix(c, "GET /search/issues") })
}

// issueOpened is the real issues/opened payload as issue number of the
// newcomer (or login), with the author association given. The documented
// example has no installation; GitHub Apps always get one.
func issueOpened(t testing.TB, number int, login, association string, set map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"issue.number": number, "issue.user.login": login, "issue.author_association": association,
		"issue.html_url": fmt.Sprintf("https://github.com/Codertocat/Hello-World/issues/%d", number),
		"installation":   map[string]any{"id": 1},
	}
	maps.Copy(m, set)
	return payload(t, "issues/opened.json", m)
}

// prEvent is the real pull_request payload (action "opened" or "closed")
// as pull request number by login.
func prEvent(t testing.TB, action string, number int, login, association string, set map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"number": number, "pull_request.number": number,
		"pull_request.user.login": login, "pull_request.author_association": association,
		"pull_request.html_url": fmt.Sprintf("https://github.com/Codertocat/Hello-World/pull/%d", number),
	}
	maps.Copy(m, set)
	return payload(t, "pull_request/"+action+".json", m)
}

// preparePR gives the DCO and labels jobs that a newcomer's pull request
// also queues what they read, so they finish instead of retrying.
func (e *env) preparePR(numbers ...int) {
	for _, n := range numbers {
		e.fake.SetPRCommits(owner, repo, n, []*github.RepositoryCommit{fakegithub.Commit(headSHA, signed, alice, nil, "alice")})
		e.fake.SetPRFiles(owner, repo, n, []*github.CommitFile{{Filename: github.String("README.md")}})
	}
}

// startWelcome starts the service with Codertocat/Hello-World known to
// the fake: issue #1 carries the real payload's label, and pull request #2
// has what the DCO and labels jobs read.
func startWelcome(t *testing.T) *env {
	t.Helper()
	e := start(t, setup{})
	e.fake.SetLabels(owner, repo, issueNumber, []string{"bug"})
	e.preparePR(prNumber)
	return e
}

// intakeAck is the JSON intake answers with.
type intakeAck struct {
	Queued    []string `json:"queued"`
	Duplicate bool     `json:"duplicate"`
	Ignored   string   `json:"ignored"`
}

// signedPost delivers a signed webhook and returns intake's answer. It
// reports errors instead of failing the test, so goroutines may call it.
func signedPost(base, event, id string, body []byte) (int, intakeAck, error) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, intakeAck{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, intakeAck{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, intakeAck{}, err
	}
	var ack intakeAck
	if err := json.Unmarshal(raw, &ack); err != nil {
		return resp.StatusCode, ack, fmt.Errorf("intake answer %q: %w", raw, err)
	}
	return resp.StatusCode, ack, nil
}

// deliverAll sends deliveries, each with a new delivery ID as GitHub gives
// a redelivery, and waits until every job they queued has completed. It
// returns the features each was queued for.
func (e *env) deliverAll(event string, bodies ...[]byte) [][]string {
	e.t.Helper()
	before := e.done.Load()
	var jobs int64
	var queued [][]string
	for _, body := range bodies {
		id := fmt.Sprintf("welcome-%d", deliveryN.Add(1))
		status, ack, err := signedPost(e.url, event, id, body)
		if err != nil {
			e.t.Fatal(err)
		}
		if status != http.StatusAccepted && status != http.StatusOK {
			e.t.Fatalf("delivery %s: status %d", id, status)
		}
		if ack.Duplicate {
			e.t.Fatalf("delivery %s with a new ID was taken for a duplicate", id)
		}
		jobs += int64(len(ack.Queued))
		queued = append(queued, ack.Queued)
	}
	e.waitJobs(before + jobs)
	return queued
}

// deliverOne is deliverAll for one delivery.
func (e *env) deliverOne(event string, body []byte) []string {
	e.t.Helper()
	return e.deliverAll(event, body)[0]
}

// greetings are the comments carrying a welcome marker on the items.
func greetings(fake *fakegithub.Server, numbers ...int) []*github.IssueComment {
	var out []*github.IssueComment
	for _, n := range numbers {
		for _, c := range fake.Comments(owner, repo, n) {
			if strings.Contains(c.GetBody(), "<!-- contribot:welcome:") {
				out = append(out, c)
			}
		}
	}
	return out
}

// onlyComment returns the single comment on the item, failing otherwise.
func onlyComment(t *testing.T, fake *fakegithub.Server, n int) string {
	t.Helper()
	cs := fake.Comments(owner, repo, n)
	if len(cs) != 1 {
		bodies := make([]string, len(cs))
		for i, c := range cs {
			bodies[i] = c.GetBody()
		}
		t.Fatalf("#%d has %d comments, want 1: %q", n, len(cs), bodies)
	}
	return cs[0].GetBody()
}

// builtinGreeting renders the built-in SCS message of a kind as the
// service should post it.
func builtinGreeting(t *testing.T, kind string, number int, login, title, itemURL string, modules []string) string {
	t.Helper()
	res := rules.Merge(rules.BuiltinLayer())
	w := res.Rules.Welcome
	body, err := welcome.Render(welcome.Template(w, kind), welcome.Data(w, kind, owner, repo, number, login, title, itemURL, modules), kind)
	if err != nil || body == "" {
		t.Fatalf("built-in %s greeting: %q, %v", kind, body, err)
	}
	return body
}

// checkBuiltin checks, independently of the renderer, what the SCS default
// greeting of a kind must say.
func checkBuiltin(t *testing.T, kind, body string) {
	t.Helper()
	want := map[string][]string{
		welcome.KindIssue: {
			"Welcome to Sovereign Cloud Stack, @" + newcomer + ", and thank you for opening your first issue!",
			"(https://scs.community/contribute/)", "(https://github.com/SovereignCloudStack/.github/blob/main/CODE_OF_CONDUCT.md)",
			"(https://matrix.to/#/#scs-community:matrix.org)", "(https://sovereigncloudstack.github.io/calendar/scs.ics)",
			"good first issue",
		},
		welcome.KindPullRequest: {
			"Welcome to Sovereign Cloud Stack, @" + newcomer + ", and thank you for your first pull request!",
			"`git commit -s`", "(https://docs.scs.community/community/tools/github/dco-and-licenses)",
			"(https://docs.scs.community/contributor-docs)", "(https://matrix.to/#/#scs-community:matrix.org)",
			"(https://sovereigncloudstack.github.io/calendar/scs.ics)",
		},
		welcome.KindMerged: {
			"Congratulations, @" + newcomer + ", and thank you!", "good first issues",
		},
	}[kind]
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the %s greeting lacks %q:\n%s", kind, w, body)
		}
	}
	marker := map[string]string{welcome.KindIssue: markerIssue, welcome.KindPullRequest: markerPR, welcome.KindMerged: markerMerged}[kind]
	if !strings.HasSuffix(body, "\n\n"+marker) {
		t.Errorf("the %s greeting does not end with its hidden marker %q:\n%s", kind, marker, body)
	}
	for _, bad := range []string{"{{", "<no value>", "]()"} {
		if strings.Contains(body, bad) {
			t.Errorf("the %s greeting contains %q (an unrendered field or empty link):\n%s", kind, bad, body)
		}
	}
}

func TestWelcomeNewcomerFirstPR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		labels  []string
		modules []string
	}{
		{"the real payload's labels name no module", []string{"bug"}, nil},
		{"a module label on the pull request is named", []string{"bug", "IaaS"}, []string{"IaaS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			labels := make([]map[string]any, len(tt.labels))
			for i, l := range tt.labels {
				labels[i] = map[string]any{"name": l, "color": "ededed"}
			}
			queued := e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", map[string]any{"pull_request.labels": labels}))
			if !slices.Contains(queued, app.FeatureWelcome) {
				t.Fatalf("a newcomer's pull request was queued for %q, not for welcome", queued)
			}
			want := []string{searchCall("is:pr author:" + newcomer + " org:codertocat"), memberCall, listCommentsCall(prNumber), createCommentCall(prNumber)}
			if got := e.welcomeCalls(); !slices.Equal(got, want) {
				t.Fatalf("welcome calls = %q, want exactly %q", got, want)
			}
			body := onlyComment(t, e.fake, prNumber)
			checkBuiltin(t, welcome.KindPullRequest, body)
			if want := builtinGreeting(t, welcome.KindPullRequest, prNumber, newcomer, "Update the README with new information.",
				"https://github.com/Codertocat/Hello-World/pull/2", tt.modules); body != want {
				t.Errorf("greeting:\n%s\nwant the built-in first_pr:\n%s", body, want)
			}
			touches := strings.Contains(body, "It touches IaaS.")
			if touches != (tt.modules != nil) {
				t.Errorf("module sentence present = %v, want %v:\n%s", touches, tt.modules != nil, body)
			}
			if got := metric(t, e, `contribot_welcome_total{kind="pr",outcome="greeted"}`); got != "1" {
				t.Errorf("greeted counted %q, want 1", got)
			}
		})
	}
}

func TestWelcomeNewcomerFirstIssue(t *testing.T) {
	t.Parallel()
	e := startWelcome(t)
	queued := e.deliverOne("issues", issueOpened(t, issueNumber, newcomer, "NONE", nil))
	// The fixture's label makes it a candidate for upstream tracking too,
	// which costs no GitHub call for an item without the upstream label.
	if !slices.Equal(queued, []string{app.FeatureWelcome, app.FeatureUpstream}) {
		t.Fatalf("a newcomer's issue was queued for %q, want welcome and upstream", queued)
	}
	want := []string{searchCall("is:issue author:" + newcomer + " org:codertocat"), memberCall, listCommentsCall(issueNumber), createCommentCall(issueNumber)}
	if got := e.welcomeCalls(); !slices.Equal(got, want) {
		t.Fatalf("welcome calls = %q, want exactly %q", got, want)
	}
	body := onlyComment(t, e.fake, issueNumber)
	checkBuiltin(t, welcome.KindIssue, body)
	if want := builtinGreeting(t, welcome.KindIssue, issueNumber, newcomer, "Spelling error in the README file",
		"https://github.com/Codertocat/Hello-World/issues/1", nil); body != want {
		t.Errorf("greeting:\n%s\nwant the built-in first_issue:\n%s", body, want)
	}
	if strings.Contains(body, "thank you for your first pull request") || !strings.Contains(body, "thank you for opening your first issue") {
		t.Errorf("an issue got the pull request's greeting:\n%s", body)
	}
}

func TestWelcomeNotGreetedWithoutSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event string
		body  func(t *testing.T) []byte
		// routed: intake queues a welcome job, which rules the author out
		// (counted); otherwise intake already drops the feature.
		routed bool
		kind   string
	}{
		{"member's issue", "issues", func(t *testing.T) []byte { return issueOpened(t, issueNumber, "maintainer", "MEMBER", nil) }, false, "issue"},
		{"owner's pull request (the real payload)", "pull_request", func(t *testing.T) []byte { return payload(t, "pull_request/opened.json", nil) }, false, "pr"},
		{"collaborator's pull request", "pull_request", func(t *testing.T) []byte {
			return prEvent(t, "opened", prNumber, "helper", "COLLABORATOR", nil)
		}, false, "pr"},
		{"member's association in lower case", "issues", func(t *testing.T) []byte { return issueOpened(t, issueNumber, "maintainer", "member", nil) }, false, "issue"},
		{"bot's pull request", "pull_request", func(t *testing.T) []byte {
			return prEvent(t, "opened", prNumber, "renovate[bot]", "NONE", map[string]any{"pull_request.user.type": "Bot"})
		}, false, "pr"},
		{"bot's issue known by its login only", "issues", func(t *testing.T) []byte {
			return issueOpened(t, issueNumber, "helper-app[bot]", "NONE", nil)
		}, true, "issue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			queued := e.deliverOne(tt.event, tt.body(t))
			if got := slices.Contains(queued, app.FeatureWelcome); got != tt.routed {
				t.Fatalf("queued for %q: welcome job = %v, want %v", queued, got, tt.routed)
			}
			if got := e.welcomeCalls(); len(got) != 0 {
				t.Errorf("welcome calls = %q, want none", got)
			}
			if n := len(greetings(e.fake, issueNumber, prNumber)); n != 0 {
				t.Errorf("%d greetings posted", n)
			}
			if tt.routed {
				if got := metric(t, e, fmt.Sprintf(`contribot_welcome_total{kind=%q,outcome="ruled_out"}`, tt.kind)); got != "1" {
					t.Errorf("ruled_out counted %q, want 1: the job did not decide from the payload", got)
				}
			}
		})
	}
}

func TestWelcomeRepeatContributorNotGreeted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		olderOwner  string // where the person's earlier issue is
		olderRepo   string
		wantGreeted bool
	}{
		{"earlier issue in the same repository", owner, repo, false},
		{"earlier issue elsewhere in the org", owner, "Spoon-Knife", false},
		{"earlier issue in another org only", "other-org", "elsewhere", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			e.fake.AddSearchItem(tt.olderOwner, tt.olderRepo, fakegithub.SearchItem{Number: 7, Author: newcomer, CreatedAt: time.Now().Add(-48 * time.Hour)})
			e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: issueNumber, Author: newcomer})
			e.deliverOne("issues", issueOpened(t, issueNumber, newcomer, "NONE", nil))
			if n := e.searches(); n != 1 {
				t.Fatalf("%d searches, want 1: %q", n, e.welcomeCalls())
			}
			if got := len(greetings(e.fake, issueNumber)) == 1; got != tt.wantGreeted {
				t.Fatalf("greeted = %v, want %v; calls %q", got, tt.wantGreeted, e.welcomeCalls())
			}
			if tt.wantGreeted {
				return
			}
			if got := metric(t, e, `contribot_welcome_total{kind="issue",outcome="not_first"}`); got != "1" {
				t.Errorf("not_first counted %q, want 1", got)
			}
			// The person's next issue in the same burst: the search result
			// is reused.
			e.fake.Reset()
			e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 5, Author: newcomer})
			e.deliverOne("issues", issueOpened(t, 5, newcomer, "NONE", nil))
			if got := e.welcomeCalls(); len(got) != 0 {
				t.Errorf("second issue in the burst: welcome calls = %q, want none (cached search)", got)
			}
			if got := metric(t, e, `contribot_welcome_total{kind="issue",outcome="not_first"}`); got != "2" {
				t.Errorf("not_first counted %q after the second issue, want 2", got)
			}
			if n := len(greetings(e.fake, issueNumber, 5)); n != 0 {
				t.Errorf("%d greetings for a repeat contributor", n)
			}
		})
	}
}

func TestWelcomeSearchIndexLagStillGreets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		item *fakegithub.SearchItem // the new issue in the index, if at all
	}{
		{"the index has not caught up: nothing found", &fakegithub.SearchItem{Number: issueNumber, Author: newcomer, Unindexed: true}},
		{"the index has the item itself only", &fakegithub.SearchItem{Number: issueNumber, Author: newcomer}},
		{"the item exists nowhere else", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			if tt.item != nil {
				e.fake.AddSearchItem(owner, repo, *tt.item)
			}
			// Someone else's issues are in the index too.
			e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 3, Author: "someone-else"})
			e.deliverOne("issues", issueOpened(t, issueNumber, newcomer, "NONE", nil))
			want := []string{searchCall("is:issue author:" + newcomer + " org:codertocat"), memberCall, listCommentsCall(issueNumber), createCommentCall(issueNumber)}
			if got := e.welcomeCalls(); !slices.Equal(got, want) {
				t.Fatalf("welcome calls = %q, want %q", got, want)
			}
			checkBuiltin(t, welcome.KindIssue, onlyComment(t, e.fake, issueNumber))
		})
	}
}

func TestWelcomeGreetedOnceAcrossRedelivery(t *testing.T) {
	t.Parallel()
	t.Run("the same pull request delivered again", func(t *testing.T) {
		t.Parallel()
		e := startWelcome(t)
		body := prEvent(t, "opened", prNumber, newcomer, "NONE", nil)
		e.deliverOne("pull_request", body)
		checkBuiltin(t, welcome.KindPullRequest, onlyComment(t, e.fake, prNumber))
		e.fake.Reset()
		// A redelivery has a new ID, so intake queues it again.
		e.deliverAll("pull_request", body, body)
		if got := e.welcomeCalls(); len(got) != 0 {
			t.Errorf("redeliveries made welcome calls %q, want none: the greeting is remembered", got)
		}
		onlyComment(t, e.fake, prNumber)
		if got := metric(t, e, `contribot_welcome_total{kind="pr",outcome="known"}`); got != "2" {
			t.Errorf("known counted %q, want 2", got)
		}
	})
	t.Run("the same pull request delivered twice at once", func(t *testing.T) {
		t.Parallel()
		// Two workers run the two deliveries' jobs side by side. Whichever
		// claims the greeting second must not post it too: the fake holds
		// the marker look-up until both jobs are there (or a second has
		// passed, when only one job ever gets that far).
		e := startWelcome(t)
		var looking atomic.Int64
		gate := make(chan struct{})
		var once sync.Once
		open := func() { once.Do(func() { close(gate) }) }
		time.AfterFunc(time.Second, open)
		defer open() // never leave a request of the fake waiting
		e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
			if r.Method == http.MethodGet && r.URL.Path == "/repos/Codertocat/Hello-World/issues/2/comments" {
				if looking.Add(1) >= 2 {
					open()
				}
				<-gate
			}
			return nil
		})
		body := prEvent(t, "opened", prNumber, newcomer, "NONE", nil)
		before := e.done.Load()
		var jobs int64
		for range 2 {
			_, ack, err := signedPost(e.url, "pull_request", fmt.Sprintf("welcome-%d", deliveryN.Add(1)), body)
			if err != nil {
				t.Fatal(err)
			}
			jobs += int64(len(ack.Queued))
		}
		e.waitJobs(before + jobs)
		if n := len(greetings(e.fake, prNumber)); n != 1 {
			t.Errorf("%d greetings from two deliveries of one event worked at once, want 1; calls %q", n, e.welcomeCalls())
		}
	})
	t.Run("a first issue and a first pull request arriving together", func(t *testing.T) {
		t.Parallel()
		e := startWelcome(t)
		before := e.done.Load()
		var jobs int64
		for _, d := range []struct {
			event string
			body  []byte
		}{
			{"issues", issueOpened(t, issueNumber, newcomer, "NONE", nil)},
			{"pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil)},
		} {
			_, ack, err := signedPost(e.url, d.event, fmt.Sprintf("welcome-%d", deliveryN.Add(1)), d.body)
			if err != nil {
				t.Fatal(err)
			}
			jobs += int64(len(ack.Queued))
		}
		e.waitJobs(before + jobs)
		if n := len(greetings(e.fake, issueNumber, prNumber)); n != 1 {
			t.Fatalf("%d greetings for a first issue and pull request together, want 1", n)
		}
		if n := e.countCalls(func(c string) bool { return strings.HasSuffix(c, "/comments") && strings.HasPrefix(c, "POST ") }); n != 1 {
			t.Errorf("%d comments created, want 1", n)
		}
		e.waitLogged("one greeting for a first issue and pull request that arrive together")
	})
}

func TestWelcomeGreetedOnceAcrossJobRetry(t *testing.T) {
	t.Parallel()
	// GitHub fails the comment (not applied): the comment is sent once, so
	// the job fails after claiming the greeting, and its retry resumes the
	// claim, looks for the marker and greets.
	e := startWelcome(t)
	var tries atomic.Int64
	e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/repos/Codertocat/Hello-World/issues/2/comments" && tries.Add(1) == 1 {
			return fakegithub.BadGateway()
		}
		return nil
	})
	e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
	checkBuiltin(t, welcome.KindPullRequest, onlyComment(t, e.fake, prNumber))
	want := []string{searchCall("is:pr author:" + newcomer + " org:codertocat"), memberCall, listCommentsCall(prNumber), createCommentCall(prNumber),
		listCommentsCall(prNumber), createCommentCall(prNumber)}
	if got := e.welcomeCalls(); !slices.Equal(got, want) {
		t.Errorf("welcome calls = %q, want %q: one search, then each attempt looks for the marker before it comments", got, want)
	}
	e.waitLogLine("job failed; River retries it with backoff", `\"feature\":\"welcome\"`, "502")
}

func TestWelcomeGreetedOnceWhenGitHubAppliedAFailedComment(t *testing.T) {
	t.Parallel()
	// GitHub stores the comment but the answer is lost (502 from the
	// gateway). Whatever retries — the transport or the job — must not
	// greet twice; the marker on the item says it is there.
	e := startWelcome(t)
	var lost atomic.Bool
	e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if r.Method != http.MethodPost || r.URL.Path != "/repos/Codertocat/Hello-World/issues/2/comments" || !lost.CompareAndSwap(false, true) {
			return nil
		}
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return &fakegithub.Fault{Status: http.StatusBadRequest}
		}
		e.fake.AddComment(owner, repo, prNumber, "contribot[bot]", in.Body)
		return fakegithub.BadGateway()
	})
	e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
	if !lost.Load() {
		t.Fatal("the comment was never posted")
	}
	if n := len(greetings(e.fake, prNumber)); n != 1 {
		t.Errorf("%d greetings on the pull request, want 1; calls %q", n, e.welcomeCalls())
	}
}

func TestWelcomeGreetedOnceAcrossReplicasOnPostgres(t *testing.T) {
	t.Parallel()
	db := dbtest.FreshPostgres(t)
	a := start(t, setup{databaseURL: db})
	b := start(t, setup{databaseURL: db, fake: a.fake})
	issues := []int{101, 102, 103, 104, 105, 106, 107, 108}
	prs := []int{201, 202}
	a.preparePR(prs...)

	// The searches wait until a pull request's and an issue's are both
	// under way, so that their jobs go on to claim the greeting at the same
	// moment (a timer opens the gate should that never happen).
	var issueSearch, prSearch atomic.Bool
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	time.AfterFunc(3*time.Second, open)
	defer open() // never leave a request of the fake waiting
	a.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if r.URL.Path == "/search/issues" {
			if strings.HasPrefix(r.URL.Query().Get("q"), "is:pr") {
				prSearch.Store(true)
			} else {
				issueSearch.Store(true)
			}
			if issueSearch.Load() && prSearch.Load() {
				open()
			}
			<-gate
		}
		return nil
	})

	// Each event reaches both replicas at once, under distinct delivery
	// IDs: five welcome workers in each replica race for the greeting. The
	// pull requests go first, so that their jobs, waiting at the gate, leave
	// workers free for the issues'.
	var jobs atomic.Int64
	deliverBoth := func(event string, bodies ...[]byte) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(bodies))
		for _, body := range bodies {
			for _, e := range []*env{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, ack, err := signedPost(e.url, event, fmt.Sprintf("welcome-%d", deliveryN.Add(1)), body)
					switch {
					case err != nil:
						errs <- err
					case status != http.StatusAccepted || !slices.Contains(ack.Queued, app.FeatureWelcome):
						errs <- fmt.Errorf("%s: status %d, queued %q", event, status, ack.Queued)
					}
					jobs.Add(int64(len(ack.Queued)))
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	var prBodies, issueBodies [][]byte
	for _, n := range prs {
		prBodies = append(prBodies, prEvent(t, "opened", n, newcomer, "NONE", nil))
	}
	for _, n := range issues {
		issueBodies = append(issueBodies, issueOpened(t, n, newcomer, "NONE", nil))
	}
	deliverBoth("pull_request", prBodies...)
	deliverBoth("issues", issueBodies...)

	deadline := time.Now().Add(30 * time.Second)
	for a.done.Load()+b.done.Load() < jobs.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs completed after 30s", a.done.Load()+b.done.Load(), jobs.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("jobs completed: replica a %d, replica b %d; %d searches", a.done.Load(), b.done.Load(), a.searches())
	got := greetings(a.fake, append(slices.Clone(issues), prs...)...)
	if len(got) != 1 {
		where := make([]string, len(got))
		for i, c := range got {
			where[i] = c.GetIssueURL()
		}
		t.Fatalf("%d greetings across two replicas, want 1: %q", len(got), where)
	}
	if n := a.countCalls(func(c string) bool { return strings.HasPrefix(c, "POST ") && strings.HasSuffix(c, "/comments") }); n != 1 {
		t.Errorf("%d comments created, want 1", n)
	}
	if welcomeJobs := 2 * (len(issues) + len(prs)); a.searches() > welcomeJobs {
		t.Errorf("%d searches for %d welcome jobs", a.searches(), welcomeJobs)
	}
}

func TestWelcomeFirstMergedPR(t *testing.T) {
	t.Parallel()
	merged := func(t *testing.T) []byte {
		return prEvent(t, "closed", prNumber, newcomer, "CONTRIBUTOR", map[string]any{"pull_request.merged": true})
	}
	mergedQuery := searchCall("is:pr is:merged author:" + newcomer + " org:codertocat")
	t.Run("congratulated once", func(t *testing.T) {
		t.Parallel()
		e := startWelcome(t)
		e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: prNumber, Author: newcomer, PR: true, Merged: true})
		queued := e.deliverOne("pull_request", merged(t))
		if !slices.Equal(queued, []string{app.FeatureWelcome, app.FeatureUpstream}) {
			t.Fatalf("a merged pull request was queued for %q, want welcome and upstream", queued)
		}
		want := []string{mergedQuery, memberCall, listCommentsCall(prNumber), createCommentCall(prNumber)}
		if got := e.welcomeCalls(); !slices.Equal(got, want) {
			t.Fatalf("welcome calls = %q, want %q", got, want)
		}
		body := onlyComment(t, e.fake, prNumber)
		checkBuiltin(t, welcome.KindMerged, body)
		if want := builtinGreeting(t, welcome.KindMerged, prNumber, newcomer, "Update the README with new information.",
			"https://github.com/Codertocat/Hello-World/pull/2", nil); body != want {
			t.Errorf("congratulation:\n%s\nwant the built-in first_merged_pr:\n%s", body, want)
		}
		e.fake.Reset()
		e.deliverOne("pull_request", merged(t))
		if got := e.welcomeCalls(); len(got) != 0 {
			t.Errorf("redelivered merge: welcome calls %q, want none", got)
		}
		onlyComment(t, e.fake, prNumber)
	})
	t.Run("after the first pull request's greeting", func(t *testing.T) {
		t.Parallel()
		e := startWelcome(t)
		e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
		e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: prNumber, Author: newcomer, PR: true, Merged: true})
		e.deliverOne("pull_request", merged(t))
		got := greetings(e.fake, prNumber)
		if len(got) != 2 || !strings.HasSuffix(got[0].GetBody(), markerPR) || !strings.HasSuffix(got[1].GetBody(), markerMerged) {
			t.Fatalf("want the first-PR greeting, then the congratulation; got %d greetings", len(got))
		}
	})
	t.Run("not the first merged pull request", func(t *testing.T) {
		t.Parallel()
		e := startWelcome(t)
		e.fake.AddSearchItem(owner, "Spoon-Knife", fakegithub.SearchItem{Number: 9, Author: newcomer, PR: true, Merged: true, CreatedAt: time.Now().Add(-24 * time.Hour)})
		e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: prNumber, Author: newcomer, PR: true, Merged: true})
		e.deliverOne("pull_request", merged(t))
		if got := e.welcomeCalls(); !slices.Equal(got, []string{mergedQuery}) {
			t.Errorf("welcome calls = %q, want only the search", got)
		}
		if n := len(e.fake.Comments(owner, repo, prNumber)); n != 0 {
			t.Errorf("%d comments for a second merged pull request", n)
		}
	})
	t.Run("closed without merging", func(t *testing.T) {
		t.Parallel()
		e := startWelcome(t)
		queued := e.deliverOne("pull_request", prEvent(t, "closed", prNumber, newcomer, "NONE", nil))
		if slices.Contains(queued, app.FeatureWelcome) {
			t.Errorf("an unmerged close was queued for welcome: %q", queued)
		}
	})
}

func TestWelcomeGreetingAlreadyOnItemNotPostedAgain(t *testing.T) {
	t.Parallel()
	// The database was lost (or restored from an old backup): the marker
	// on the item still tells.
	e := startWelcome(t)
	e.fake.AddComment(owner, repo, prNumber, "reviewer", "Looks good; the DCO check passed.")
	e.fake.AddComment(owner, repo, prNumber, "contribot[bot]", "Welcome to Sovereign Cloud Stack, @"+newcomer+"!\n\n"+markerPR)
	body := prEvent(t, "opened", prNumber, newcomer, "NONE", nil)
	e.deliverOne("pull_request", body)
	want := []string{searchCall("is:pr author:" + newcomer + " org:codertocat"), memberCall, listCommentsCall(prNumber)}
	if got := e.welcomeCalls(); !slices.Equal(got, want) {
		t.Fatalf("welcome calls = %q, want %q (no comment)", got, want)
	}
	if n := len(e.fake.Comments(owner, repo, prNumber)); n != 2 {
		t.Errorf("%d comments, want the 2 that were there", n)
	}
	e.waitLogged("greeting already on the item; not posted again")
	// It is remembered now: a redelivery costs nothing.
	e.fake.Reset()
	e.deliverOne("pull_request", body)
	if got := e.welcomeCalls(); len(got) != 0 {
		t.Errorf("after finding the marker, a redelivery made welcome calls %q", got)
	}
}

func TestWelcomeTemplateErrorReported(t *testing.T) {
	t.Parallel()
	e := startWelcome(t)
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("welcome:\n  first_pr: |\n    Hi @{{.Logn}}!\n  label: first-contribution\n"))
	e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
	e.waitLogLine(`"feature":"welcome"`, `"msg":"rules setting not applied"`, ".github/contribot.yml:3:11: welcome.first_pr: unknown field .Logn")
	// The broken file is skipped whole (its label too); the other layers
	// greet.
	body := onlyComment(t, e.fake, prNumber)
	checkBuiltin(t, welcome.KindPullRequest, body)
	if strings.Contains(body, "Hi @") {
		t.Errorf("the broken template was used:\n%s", body)
	}
	if slices.Contains(e.fake.Labels(owner, repo, prNumber), "first-contribution") {
		t.Errorf("the skipped file's label was added")
	}
}

func TestWelcomeMarkdownInjectionEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, title, want string
	}{
		{"mention, HTML, link and code",
			"@octocat <img src=x onerror=alert(1)> [click](https://evil.example) `x`",
			"Thanks for @\u200doctocat &lt;img src=x onerror=alert\\(1\\)&gt; \\[click\\]\\(https:\u200d//evil.example\\) \\`x\\`, @" + newcomer + "!"},
		{"line breaks and a run of backticks",
			"fix\n\n# @everyone\r\n```<script>",
			"Thanks for fix \\# @\u200deveryone \\`\\`\\`&lt;script&gt;, @" + newcomer + "!"},
		// A maintainer's template may put the title where GitHub reads no
		// code span: in an HTML block, or a table cell.
		{"a maintainer's template puts the title in an HTML block", "@alice see #1 https://github.com/v/r/issues/1",
			"<details><summary>Thanks for @\u200dalice see \\#\u200d1 https:\u200d//github.com/v/r/issues/1, @" + newcomer + "!</summary></details>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			tmpl := "Thanks for {{.Title}}, @{{.Login}}!"
			if strings.HasPrefix(tt.want, "<details>") {
				tmpl = "<details><summary>" + tmpl + "</summary></details>"
			}
			e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("welcome:\n  first_pr: \""+tmpl+"\"\n"))
			e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", map[string]any{"pull_request.title": tt.title}))
			if got, want := onlyComment(t, e.fake, prNumber), tt.want+"\n\n"+markerPR; got != want {
				t.Errorf("greeting = %q\nwant       %q", got, want)
			}
		})
	}
}

func TestWelcomeFirstContributionLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		event  string
		number int
		body   func(t *testing.T) []byte
	}{
		{"first pull request", "pull_request", prNumber, func(t *testing.T) []byte {
			return prEvent(t, "opened", prNumber, newcomer, "NONE", nil)
		}},
		{"first issue", "issues", issueNumber, func(t *testing.T) []byte {
			return issueOpened(t, issueNumber, newcomer, "NONE", nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("welcome:\n  label: first-contribution\n"))
			e.deliverOne(tt.event, tt.body(t))
			onlyComment(t, e.fake, tt.number)
			add := fmt.Sprintf("POST /repos/Codertocat/Hello-World/issues/%d/labels", tt.number)
			if !e.posted(add, `["first-contribution"]`) {
				t.Errorf("no %s with [\"first-contribution\"]; calls %q", add, e.fake.Calls())
			}
			if !slices.Contains(e.fake.Labels(owner, repo, tt.number), "first-contribution") {
				t.Errorf("labels = %q, want first-contribution among them", e.fake.Labels(owner, repo, tt.number))
			}
		})
	}
}

// The payload alone cannot tell these people apart; the search and the
// membership check can.
func TestWelcomeDecidedBeyondThePayload(t *testing.T) {
	t.Parallel()
	unsearchable := func(r *http.Request, _ int) *fakegithub.Fault {
		if r.URL.Path == "/search/issues" {
			return &fakegithub.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"Validation Failed","errors":[{"message":"The listed users cannot be searched either because the users do not exist or you do not have permission to view the users.","resource":"Search","field":"q","code":"invalid"}],"documentation_url":"https://docs.github.com/v3/search/"}`}
		}
		return nil
	}
	tests := []struct {
		name    string
		event   string
		body    func(t *testing.T) []byte
		member  bool
		fault   func(*http.Request, int) *fakegithub.Fault
		greeted bool
		outcome string
	}{
		{name: "CONTRIBUTOR (upstream commits imported) on a first pull request", event: "pull_request",
			body: func(t *testing.T) []byte { return prEvent(t, "opened", prNumber, newcomer, "CONTRIBUTOR", nil) }, greeted: true, outcome: "greeted"},
		{name: "a member whose membership is private", event: "pull_request",
			body: func(t *testing.T) []byte { return prEvent(t, "opened", prNumber, newcomer, "NONE", nil) }, member: true, outcome: "ruled_out"},
		{name: "unsearchable, first-time contributor's pull request", event: "pull_request", fault: unsearchable,
			body: func(t *testing.T) []byte {
				return prEvent(t, "opened", prNumber, newcomer, "FIRST_TIME_CONTRIBUTOR", nil)
			}, greeted: true, outcome: "greeted"},
		{name: "unsearchable, an issue cannot be told first", event: "issues", fault: unsearchable,
			body: func(t *testing.T) []byte { return issueOpened(t, issueNumber, newcomer, "NONE", nil) }, outcome: "not_first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startWelcome(t)
			e.fake.SetMember(owner, newcomer, tt.member)
			if tt.fault != nil {
				e.fake.Fault(tt.fault)
			}
			e.deliverOne(tt.event, tt.body(t))
			if n := len(greetings(e.fake, issueNumber, prNumber)); (n == 1) != tt.greeted || n > 1 {
				t.Errorf("%d greetings, want greeted = %v; calls %q", n, tt.greeted, e.welcomeCalls())
			}
			kind := "pr"
			if tt.event == "issues" {
				kind = "issue"
			}
			if got := metric(t, e, fmt.Sprintf(`contribot_welcome_total{kind=%q,outcome=%q}`, kind, tt.outcome)); got != "1" {
				t.Errorf("outcome %s counted %q, want 1", tt.outcome, got)
			}
		})
	}
}

// A template that passes the load check but fails for one item ends that
// job and claims nothing: the person's next item is still greeted.
func TestWelcomeRuntimeTemplateErrorHoldsNothing(t *testing.T) {
	t.Parallel()
	e := startWelcome(t)
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("welcome:\n  first_pr: \"Hi @{{.Login}}{{if .Modules}} {{index .Modules 1}}{{end}}\"\n"))
	e.send("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", map[string]any{"pull_request.labels": []map[string]any{{"name": "IaaS"}}}))
	e.waitLogged("job gave up; it will not run again", "fix welcome in the rules", "index out of range")
	e.waitJobs(2) // the event's DCO and labels jobs, so they do not count for the next delivery
	if n := e.searches(); n != 0 {
		t.Errorf("%d searches before the template failed, want 0", n)
	}
	e.preparePR(3)
	e.deliverOne("pull_request", prEvent(t, "opened", 3, newcomer, "NONE", nil))
	if got := greetings(e.fake, prNumber, 3); len(got) != 1 || !strings.HasPrefix(got[0].GetBody(), "Hi @"+newcomer+"\n") {
		t.Errorf("greetings = %d, want the second PR greeted: %q", len(got), e.welcomeCalls())
	}
}

func TestWelcomeRepoScopeSearchesTheRepository(t *testing.T) {
	t.Parallel()
	e := startWelcome(t)
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("welcome:\n  scope: repo\n"))
	e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
	want := []string{searchCall("is:pr author:" + newcomer + " repo:codertocat/hello-world"), memberCall, listCommentsCall(prNumber), createCommentCall(prNumber)}
	if got := e.welcomeCalls(); !slices.Equal(got, want) {
		t.Errorf("welcome calls = %q, want %q", got, want)
	}
}

// Anyone can paste the marker; only contribot's own comment means greeted.
func TestWelcomeMarkerInSomeoneElsesCommentDoesNotCount(t *testing.T) {
	t.Parallel()
	e := startWelcome(t)
	e.fake.AddComment(owner, repo, prNumber, "mallory", "quoting: "+markerPR)
	e.deliverOne("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
	if n := len(greetings(e.fake, prNumber)); n != 2 {
		t.Errorf("%d comments with the marker, want mallory's and the greeting; calls %q", n, e.welcomeCalls())
	}
}
