package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/app/setup"
	"github.com/SovereignCloudStack/contribot/app/welcome"
	"github.com/SovereignCloudStack/contribot/rules"
)

// The README's examples are what admins copy; they must stay true.

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestREADMERulesExamplesAreValid(t *testing.T) {
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readme(t), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d YAML examples in README.md, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		f, err := rules.Parse("README example", []byte(b[1]))
		if err != nil {
			t.Errorf("example %d does not parse: %v\n%s", i+1, err, b[1])
			continue
		}
		kind := rules.LayerRepo
		if strings.Contains(b[1], "locked:") {
			kind = rules.LayerOrg
		}
		res := rules.Merge(rules.BuiltinLayer(), rules.Layer{Kind: kind, File: f})
		if len(res.Problems)+len(res.Warnings) > 0 {
			t.Errorf("example %d: problems %v, warnings %v", i+1, res.Problems, res.Warnings)
		}
	}
}

func TestREADMEExplainRunIsCurrent(t *testing.T) {
	// The command may continue over lines that end in a backslash.
	m := regexp.MustCompile("```console\n\\$ go run ./cmd/contribot labels explain ((?:.*\\\\\n)*.*)\n((?s:.*?))```").FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("README.md has no console block with a `labels explain` run")
	}
	args := strings.Fields(strings.ReplaceAll(m[1], "\\\n", " "))
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), append([]string{"labels", "explain"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got, want := stdout.String(), m[2]; got != want {
		t.Errorf("README shows:\n%s\nthe command prints:\n%s", want, got)
	}
}

func TestREADMEWelcomeExampleIsCurrent(t *testing.T) {
	m := regexp.MustCompile("(?s)```markdown\n(Welcome to Sovereign Cloud Stack, @alice.*?)\n```").FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("README.md has no rendered first_pr greeting")
	}
	w := rules.Merge(rules.BuiltinLayer()).Rules.Welcome
	got, err := welcome.Render(w.FirstPR, welcome.Data(w, welcome.KindPullRequest, "SovereignCloudStack", "standards", 512, "alice", "Add a storage standard", "https://github.com/SovereignCloudStack/standards/pull/512", nil), welcome.KindPullRequest)
	if err != nil {
		t.Fatal(err)
	}
	if got != m[1] {
		t.Errorf("README shows:\n%s\nthe built-in rules render:\n%s", m[1], got)
	}
}

// The README's permission table and event list are the manifest's: what an
// admin grants by hand is what /setup and `contribot manifest` ask for.
func TestREADMEPermissionsAreTheManifests(t *testing.T) {
	text := readme(t)
	for what, want := range map[string]string{"permission table": setup.PermissionTable(), "event list": setup.EventList()} {
		if !strings.Contains(text, want) {
			t.Errorf("README's %s is not the manifest's; want:\n%s", what, want)
		}
	}
}
