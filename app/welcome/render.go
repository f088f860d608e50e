package welcome

import (
	"context"
	"fmt"
	"strings"

	"github.com/SovereignCloudStack/contribot/rules"
)

// Marker is the hidden line that identifies contribot's greeting of a
// kind, so that a greeting already on the item is never posted again.
func Marker(kind string) string { return "<!-- contribot:welcome:" + kind + " -->" }

// Render executes a rules template. Contributor-controlled fields arrive
// escaped (see Data); a link the rules do not define renders empty. A
// greeting longer than GitHub accepts (with the marker) is not rendered
// past that: the error is rules.ErrGreetingTooLong.
func Render(src string, data rules.WelcomeData, kind string) (string, error) {
	return RenderContext(context.Background(), src, data, kind)
}

// RenderContext is Render that also stops when ctx ends.
func RenderContext(ctx context.Context, src string, data rules.WelcomeData, kind string) (string, error) {
	out, err := rules.RenderWelcome(ctx, "welcome."+kind, src, data, rules.MaxGreeting)
	if err != nil {
		return "", fmt.Errorf("render the %s greeting: %w", kind, err)
	}
	body := strings.TrimSpace(out)
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
		Kind: k, Number: number, Title: Title(title), URL: url,
		Modules: modules, Links: w.Links,
	}
}
