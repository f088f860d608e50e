package app_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// TestServiceLogsAndAnswersHoldNoSecrets runs the whole service with debug
// logs through good deliveries, a forged signature, GitHub failures and a
// revoked installation token, then looks for the webhook secret, any piece
// of the private key, every installation token and App JWT GitHub saw, in
// the logs and in every HTTP answer.
func TestServiceLogsAndAnswersHoldNoSecrets(t *testing.T) {
	const metricsToken, adminToken = "metrics-token-0123456789abcdef", "admin-token-0123456789abcdef"
	e := start(t, setup{configure: func(c *app.Config) { c.MetricsToken, c.AdminToken = metricsToken, adminToken }})
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	var answers bytes.Buffer
	post := func(sig string) {
		body := payload(t, "pull_request/opened.json", nil)
		req, _ := http.NewRequest(http.MethodPost, e.url+"/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "forged-1")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
		answers.WriteString(resp.Header.Get("WWW-Authenticate"))
	}

	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	e.waitChecks(1)
	post("sha256=" + strings.Repeat("0", 64)) // a forged signature
	post("sha1=deadbeef")                     // the wrong scheme
	// GitHub fails, then the installation token is revoked mid-run.
	e.fake.Fault(func(r *http.Request, n int) *fakegithub.Fault {
		if n%3 == 0 {
			return fakegithub.BadGateway()
		}
		return nil
	})
	e.send("pull_request", payload(t, "pull_request/synchronize.json", nil))
	e.waitChecks(2)
	e.fake.Fault(nil)
	e.fake.RevokeTokens()
	e.send("pull_request", payload(t, "pull_request/reopened.json", nil))
	e.waitChecks(3)
	for _, path := range []string{"/metrics", "/readyz", "/healthz", "/upstream", "/api/upstream", "/admin/jobs"} {
		req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		req.Header.Set("Authorization", "Bearer wrong-"+adminToken) // a wrong guess is not echoed either
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
	}

	secrets := map[string]string{"webhook secret": secret, "metrics token": metricsToken, "admin token": adminToken}
	der := x509.MarshalPKCS1PrivateKey(testKey)
	for i, line := range strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})), "\n") {
		if len(line) == 64 { // a full line of the key's base64 body
			secrets[fmt.Sprintf("private key line %d", i)] = line
		}
	}
	secrets["private key (base64, one line)"] = base64.StdEncoding.EncodeToString(der)[:48]
	credentials := 0
	for _, r := range e.fake.Requests() {
		auth := r.Header.Get("Authorization")
		if _, cred, ok := strings.Cut(auth, " "); ok && len(cred) > 16 {
			secrets["credential sent to GitHub ("+r.Method+" "+r.Path+")"] = cred
			credentials++
		}
	}
	if credentials == 0 {
		t.Fatal("GitHub saw no credentials; the test would prove nothing")
	}
	logs := e.logs.String()
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold the %s", what)
		}
		if strings.Contains(answers.String(), s) {
			t.Errorf("an HTTP answer holds the %s", what)
		}
	}
}
