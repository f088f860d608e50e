package welcome

import (
	"errors"
	"testing"

	"github.com/SovereignCloudStack/contribot/rules"
)

// A repository maintainer's greeting defines one body under the name the
// load check uses and another under the name the service renders with
// (welcome.issue). The service checks the template it runs, so the
// smuggled body never runs and nothing is posted.
func TestRenderContext_RepositoryMaintainersDefineForTheServiceNameDoesNotRun(t *testing.T) {
	for name, src := range map[string]string{
		"range over an integer": `{{define "welcome.first_issue"}}Welcome, @{{.Login}}!{{end}}{{define "welcome.issue"}}{{range 3}}spam {{end}}{{end}}`,
		"text only":             `{{define "welcome.first_issue"}}Welcome, @{{.Login}}!{{end}}{{define "welcome.issue"}}spam{{end}}`,
	} {
		t.Run(name, func(t *testing.T) {
			body, err := RenderContext(t.Context(), src, Data(rules.Welcome{}, KindIssue, "o", "r", 1, "newcomer", "hi", "https://github.com/o/r/issues/1", nil), KindIssue)
			var te *rules.TemplateError
			if !errors.As(err, &te) || body != "" {
				t.Errorf("RenderContext = %q, %v; want nothing and the template's problem", body, err)
			}
		})
	}
}
