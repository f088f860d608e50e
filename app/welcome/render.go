package welcome

import (
	"fmt"
	"strings"

	"github.com/SovereignCloudStack/contribot/rules"
)

// Marker is the hidden line that identifies contribot's greeting of a
// kind, so that a greeting already on the item is never posted again.
func Marker(kind string) string { return "<!-- contribot:welcome:" + kind + " -->" }

// Render executes a rules template. Contributor-controlled fields arrive
// escaped (see Data); a link the rules do not define renders empty.
func Render(src string, data rules.WelcomeData, kind string) (string, error) {
	t, err := rules.ParseWelcomeTemplate("welcome."+kind, src)
	if err != nil {
		return "", fmt.Errorf("parse the %s greeting: %w", kind, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render the %s greeting: %w", kind, err)
	}
	body := strings.TrimSpace(b.String())
	if body == "" {
		return "", nil
	}
	return body + "\n\n" + Marker(kind), nil
}

// Data fills the template fields, escaping what the contributor wrote.
func Data(w rules.Welcome, kind, owner, repo string, number int, login, title, url string, modules []string) rules.WelcomeData {
	k := "issue"
	if kind != KindIssue {
		k = "pull request"
	}
	return rules.WelcomeData{
		Login: SafeLogin(login), Repo: owner + "/" + repo, Org: owner,
		Kind: k, Number: number, Title: CodeSpan(title), URL: url,
		Modules: modules, Links: w.Links,
	}
}
