package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// Issue 11, classes 2 and 7, through the whole service: webhook, queue,
// rules loader, DCO check run on the fake GitHub with two installations.

const (
	// otherOrg is a second organisation with the App installed.
	otherOrg = "victim-org"
	// secretValue is what a private file holds; no byte of it may reach a
	// check run or a log line.
	secretKey   = "AWS_SECRET_ACCESS_KEY"
	secretValue = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
)

var secretFile = []byte(secretKey + "=" + secretValue + "\n")

// twoOrgs starts the service with Codertocat (installation 1, the
// payloads' org) and victim-org (installation 2), each with a private
// repository holding a secret, and a pull request on the public
// Codertocat/Hello-World whose only commit is not signed off.
func twoOrgs(t *testing.T) *env {
	t.Helper()
	e := start(t, setup{})
	e.fake.SetOrgInstallation(owner, 1)
	e.fake.SetOrgInstallation(otherOrg, 2)
	for _, r := range []struct{ owner, repo, path string }{
		{otherOrg, "secret", ".env"},
		{owner, "infra", ".env"},
		{owner, ".github", "secrets.env"},
	} {
		e.fake.SetRepoPrivate(r.owner, r.repo, true)
		e.fake.SetFile(r.owner, r.repo, r.path, secretFile)
	}
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	return e
}

// checkRunText is everything a check run shows.
func checkRunText(run *github.CheckRun) string {
	o := run.GetOutput()
	return o.GetTitle() + "\n" + o.GetSummary() + "\n" + o.GetText()
}

// assertNoSecret fails when any part of the secret shows in the check run
// or the logs.
func assertNoSecret(t *testing.T, e *env, run *github.CheckRun) {
	t.Helper()
	for where, text := range map[string]string{"check run": checkRunText(run), "logs": e.logs.String()} {
		for _, part := range []string{secretKey, secretValue, secretValue[:12], "wJalr"} {
			if strings.Contains(text, part) {
				t.Errorf("%s holds %q of the private file:\n%s", where, part, text)
			}
		}
	}
}

func TestRulesExtends_RepositoryMaintainerOfAPublicRepoReadsNoPrivateFile(t *testing.T) {
	tests := []struct {
		name string
		// repoRules is Codertocat/Hello-World's .github/contribot.yml,
		// orgRules the org default, when set.
		repoRules, orgRules string
		// want is in the check run; notRead are call prefixes that must
		// not happen.
		want    []string
		notRead []string
	}{
		{
			name:      "a repository maintainer of a public repo in org A extends org B's private file",
			repoRules: "extends: " + otherOrg + "/secret:.env\n",
			want:      []string{`.github/contribot.yml:1:10: extends: "victim-org/secret" is not the org's .github repository`},
			notRead:   []string{"GET /repos/" + otherOrg + "/"},
		},
		{
			name:      "a repository maintainer of a public repo in org A extends org B's .github",
			repoRules: "extends: " + otherOrg + "/.github:.github/private.yml\n",
			want:      []string{"extends: victim-org/.github:.github/private.yml is in another organisation than Codertocat; only Codertocat/.github can be extended, so nothing was read from it"},
			notRead:   []string{"GET /repos/" + otherOrg + "/"},
		},
		{
			name:      "a repository maintainer of a public repo in org A extends a private repo of org A",
			repoRules: "extends: " + owner + "/infra:.env\n",
			want:      []string{`.github/contribot.yml:1:10: extends: "Codertocat/infra" is not the org's .github repository`},
			notRead:   []string{"GET /repos/" + owner + "/infra/"},
		},
		{
			name:      "a repository maintainer of a public repo in org A extends a secret in org A's private .github",
			repoRules: "extends: " + owner + "/.github:secrets.env\n",
			want:      []string{`.github/contribot.yml:1:10: extends: path in "Codertocat/.github:secrets.env": only rules files can be extended`},
			notRead:   []string{"GET /repos/" + owner + "/.github/contents/secrets.env"},
		},
		{
			name:     "org A's private .github holds a broken org default with a secret in it",
			orgRules: "dco:\n  enabled: " + secretValue + "\n" + secretKey + ": x\nlabels: {sync: " + secretValue + "}\nwelcome:\n  first_pr: '{{." + secretKey + "}}'\n",
			want: []string{
				"Codertocat/.github:.github/contribot.yml: the org rules do not parse",
				"Codertocat/.github:.github/contribot.yml:2:12: dco.enabled: want a boolean (true or false), got text",
				"Codertocat/.github:.github/contribot.yml:3:1: unknown key (not shown) at the top level",
				`Codertocat/.github:.github/contribot.yml:4:16: labels.sync: want "add-only" or "managed", got (not shown)`,
				"welcome.first_pr: unknown field (known: .Login",
			},
		},
		{
			name:     "org A's private .github holds an org default that is not YAML",
			orgRules: "password: '" + secretValue + "\n",
			want:     []string{"Codertocat/.github:.github/contribot.yml:2: YAML syntax error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := twoOrgs(t)
			if tt.repoRules != "" {
				e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte(tt.repoRules))
			}
			if tt.orgRules != "" {
				e.fake.SetRepoPrivate(owner, ".github", true)
				e.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte(tt.orgRules))
			}
			e.send("pull_request", payload(t, "pull_request/opened.json", nil))
			run := e.waitChecks(1)[0]
			if run.GetConclusion() != "action_required" {
				t.Errorf("conclusion = %s, want action_required: the unsigned commit is still checked", run.GetConclusion())
			}
			text := checkRunText(run)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("check run lacks %q:\n%s", w, text)
				}
			}
			for _, c := range e.fake.AllCalls() {
				for _, n := range tt.notRead {
					if strings.HasPrefix(c, n) {
						t.Errorf("contribot read %s", c)
					}
				}
			}
			assertNoSecret(t, e, run)
		})
	}
}

// A repository maintainer turns DCO off while the org file is broken.
func TestRulesBrokenOrgFile_RepositoryMaintainerCannotTurnDCOOff(t *testing.T) {
	const orgFile = "Codertocat/.github:.github/contribot.yml"
	broken := []struct {
		name, org string
		want      []string
	}{
		{"a typo beside locked: [dco]", "locked: [dco]\ndco:\n  skip_bots: ture\n",
			[]string{orgFile + ": the org rules do not parse and are skipped until they are fixed; the sections they lock stay locked (dco)", orgFile + ":3:14: dco.skip_bots"}},
		{"a YAML syntax error", "locked: [dco]\ndco: {skip_bots: true\n",
			[]string{orgFile + ": the org rules are not readable YAML", orgFile + ":2: YAML syntax error"}},
		{"locked itself malformed", "locked: dco\n",
			[]string{orgFile + ": the org rules do not parse and are skipped until they are fixed; since their locked list cannot be read, dco and the sections they write stay locked (dco)", orgFile + ":1:9: locked: want a list"}},
	}
	repoFiles := []struct{ name, rules string }{
		{"dco.enabled: false", "dco:\n  enabled: false\n"},
		{"extends: none, then dco.enabled: false", "extends: none\ndco:\n  enabled: false\n"},
	}
	for _, b := range broken {
		for _, r := range repoFiles {
			t.Run(b.name+"/"+r.name, func(t *testing.T) {
				t.Parallel()
				e := twoOrgs(t)
				e.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte(b.org))
				e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte(r.rules))
				e.send("pull_request", payload(t, "pull_request/opened.json", nil))
				run := e.waitChecks(1)[0]
				if run.GetConclusion() != "action_required" {
					t.Fatalf("conclusion = %s: the repository switched DCO off while the org file was broken", run.GetConclusion())
				}
				text := checkRunText(run)
				for _, w := range append(b.want, "section dco is locked by the org layer") {
					if !strings.Contains(text, w) {
						t.Errorf("check run lacks %q:\n%s", w, text)
					}
				}
			})
		}
	}
}

// The org admin pushes a typo into a file that parsed before: the version
// that parsed keeps applying, locks and all, and the check run says so.
func TestRulesBrokenOrgFile_LastGoodVersionHoldsAfterAPush(t *testing.T) {
	e := twoOrgs(t)
	e.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte("locked: [dco]\n"))
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("dco:\n  enabled: false\n"))
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	if c := e.waitChecks(1)[0].GetConclusion(); c != "action_required" {
		t.Fatalf("conclusion = %s with a good org file", c)
	}
	// Only a lock the loader cannot read: locked with a typo in it.
	e.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte("lockde: [dco]\n"))
	push := payload(t, "push/with-installation.json", map[string]any{
		"ref": "refs/heads/master", "repository.default_branch": "master",
		"repository.name": ".github", "repository.full_name": owner + "/.github",
		"commits.0.modified": []string{".github/contribot.yml"},
	})
	if status := e.post("push", "push-org", push); status != http.StatusOK {
		t.Fatalf("push: status %d", status)
	}
	e.waitLogged("rules changed; cache dropped")
	e.send("pull_request", payload(t, "pull_request/synchronize.json", nil))
	run := e.waitChecks(2)[1]
	if run.GetConclusion() != "action_required" {
		t.Fatalf("conclusion = %s: the typo dropped the org's lock", run.GetConclusion())
	}
	text := checkRunText(run)
	for _, w := range []string{
		"Codertocat/.github:.github/contribot.yml: the org rules do not parse and are skipped; until they are fixed, their last version that parsed applies instead, with its locks (dco)",
		"Codertocat/.github:.github/contribot.yml:1:1: unknown key (not shown) at the top level",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("check run lacks %q:\n%s", w, text)
		}
	}
}

// A repository maintainer writes a greeting that stays small for every
// sample and for the largest item contribot can foresee, but renders
// about 35 MB for one login: any GitHub user of that name opening a pull
// request must get no comment, and the rules problem is logged and
// counted, with the template's file and line.
func TestWelcome_RepositoryMaintainersGreetingLargerThanGitHubAcceptsPostsNothing(t *testing.T) {
	var rules strings.Builder
	rules.WriteString("welcome:\n  links:\n")
	for i := range 50 {
		fmt.Fprintf(&rules, "    l%d: https://example.org/%d\n", i, i)
	}
	rules.WriteString(`  first_pr: 'Hi @{{.Login}}{{if eq .Login "` + newcomer + `"}}{{range .Links}}` + strings.Repeat(`{{printf "%999s" ""}}`, 700) + `{{end}}{{end}}'` + "\n")
	e := startWelcome(t)
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte(rules.String()))
	e.send("pull_request", prEvent(t, "opened", prNumber, newcomer, "NONE", nil))
	e.waitLogLine(`"level":"ERROR"`, "rules problem: the greeting for this item is longer than GitHub accepts in a comment; nothing posted",
		`"source":".github/contribot.yml:53:13"`, `"max_characters":65472`)
	e.waitLogged("job gave up; it will not run again", "welcome.first_pr (.github/contribot.yml:53:13) renders more than 65472 characters for this item; nothing posted")
	if got := metric(t, e, `contribot_welcome_total{kind="pr",outcome="rules_problem"}`); got != "1" {
		t.Errorf("rules problems counted %q, want 1", got)
	}
	if n := len(e.fake.Comments(owner, repo, prNumber)); n != 0 {
		t.Errorf("%d comments posted, want none", n)
	}
	for _, c := range e.fake.Calls() {
		if strings.Contains(c, "/comments") || strings.HasPrefix(c, "GET /search/") {
			t.Errorf("a greeting that cannot be posted still cost %s", c)
		}
	}
}
