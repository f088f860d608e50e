package setup

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The exact grants are spelled out here a second time on purpose: widening
// the App's access must be a deliberate change to this test too.
var wantPermissions = map[string]string{
	"checks":        "write",
	"contents":      "read",
	"issues":        "write",
	"merge_queues":  "read",
	"metadata":      "read",
	"pull_requests": "write",
	"members":       "read",
}

var wantEvents = []string{
	"check_run", "check_suite", "issue_comment", "issues", "label", "merge_group",
	"pull_request", "pull_request_review", "push", "repository",
}

func TestManifestJSON(t *testing.T) {
	tests := []struct {
		name                         string
		in                           Options
		wantName, wantURL, wantHook  string
		wantRedirect, wantDescPrefix string
		wantPublic                   bool
	}{
		{"defaults", Options{URL: "https://contribot.example.org"}, "contribot", "https://contribot.example.org",
			"https://contribot.example.org/webhook", "https://contribot.example.org/setup/callback", "Contributor workflow", false},
		{"trailing slash and public", Options{Name: "scs-bot", URL: "https://bots.example.org/", Public: true}, "scs-bot",
			"https://bots.example.org", "https://bots.example.org/webhook", "https://bots.example.org/setup/callback", "Contributor workflow", true},
		{"path prefix and description", Options{Name: " x ", URL: "https://example.org/contribot", Description: "SCS bot"}, "x",
			"https://example.org/contribot", "https://example.org/contribot/webhook", "https://example.org/contribot/setup/callback", "SCS bot", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(Manifest(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Name           string            `json:"name"`
				URL            string            `json:"url"`
				HookAttributes map[string]any    `json:"hook_attributes"`
				RedirectURL    string            `json:"redirect_url"`
				Description    string            `json:"description"`
				Public         bool              `json:"public"`
				Permissions    map[string]string `json:"default_permissions"`
				Events         []string          `json:"default_events"`
			}
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields() // no key GitHub was not asked for
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("%v in %s", err, b)
			}
			if got.Name != tt.wantName || got.URL != tt.wantURL || got.RedirectURL != tt.wantRedirect || got.Public != tt.wantPublic {
				t.Errorf("got name %q url %q redirect %q public %v", got.Name, got.URL, got.RedirectURL, got.Public)
			}
			if got.HookAttributes["url"] != tt.wantHook || got.HookAttributes["active"] != true || len(got.HookAttributes) != 2 {
				t.Errorf("hook_attributes = %v, want url %s, active", got.HookAttributes, tt.wantHook)
			}
			if !strings.HasPrefix(got.Description, tt.wantDescPrefix) {
				t.Errorf("description = %q", got.Description)
			}
			checkGrants(t, got.Permissions, got.Events)
		})
	}
}

// checkGrants fails unless perms and events are exactly contribot's.
func checkGrants(t *testing.T, perms map[string]string, events []string) {
	t.Helper()
	if len(perms) != len(wantPermissions) {
		t.Errorf("default_permissions = %v, want %v", perms, wantPermissions)
	}
	for k, v := range wantPermissions {
		if perms[k] != v {
			t.Errorf("default_permissions[%s] = %q, want %q", k, perms[k], v)
		}
	}
	got := slices.Clone(events)
	sort.Strings(got)
	if !slices.Equal(got, wantEvents) {
		t.Errorf("default_events = %v, want %v", got, wantEvents)
	}
}

// GitHub rejects a manifest with an unknown permission or event; its own
// schema of an App is the reference for the names.
func TestGrantsAreGitHubNames(t *testing.T) {
	b, err := os.ReadFile("testdata/app.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Events struct {
				Items struct {
					Enum []string `json:"enum"`
				} `json:"items"`
			} `json:"events"`
			Permissions struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"permissions"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	for k, p := range Permissions {
		levels, ok := schema.Properties.Permissions.Properties[k]
		if !ok {
			t.Errorf("permission %q is not a GitHub App permission", k)
		} else if !slices.Contains(levels.Enum, string(p.Access)) {
			t.Errorf("permission %q: level %q not in %v", k, p.Access, levels.Enum)
		}
		if p.Title == "" || p.Why == "" {
			t.Errorf("permission %q has no title or explanation", k)
		}
	}
	for _, e := range Events {
		if !slices.Contains(schema.Properties.Events.Items.Enum, e.Name) {
			t.Errorf("event %q is not a GitHub App event", e.Name)
		}
		if e.Why == "" {
			t.Errorf("event %q has no explanation", e.Name)
		}
	}
}

func TestPermissionTable(t *testing.T) {
	got := PermissionTable()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	want := []string{
		"| permission | access | why |",
		"| --- | --- | --- |",
		"| Checks | Read and write | ",
		"| Contents | Read-only | ",
		"| Issues | Read and write | ",
		"| Merge queues | Read-only | ",
		"| Metadata | Read-only | ",
		"| Pull requests | Read and write | ",
		"| Members (organization) | Read-only | ",
	}
	if len(lines) != len(want) {
		t.Fatalf("table has %d lines, want %d:\n%s", len(lines), len(want), got)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || !strings.HasSuffix(lines[i], " |") {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], w)
		}
	}
	if n := strings.Count(EventList(), "\n- `"); n != len(Events)-1 {
		t.Errorf("EventList has %d items, want %d:\n%s", n+1, len(Events), EventList())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Options
		wantErr string // "" for valid
	}{
		{"https", Options{Name: "contribot", URL: "https://contribot.example.org"}, ""},
		{"https with port and path", Options{Name: "contribot", URL: "https://example.org:8443/bot/"}, ""},
		{"http loopback", Options{Name: "contribot", URL: "http://127.0.0.1:3000"}, ""},
		{"http localhost", Options{Name: "contribot", URL: "http://localhost:3000"}, ""},
		{"http ipv6 loopback", Options{Name: "contribot", URL: "http://[::1]:3000"}, ""},
		{"http public", Options{Name: "contribot", URL: "http://contribot.example.org"}, "uses http"},
		{"http localhost lookalike", Options{Name: "contribot", URL: "http://localhost.example.org"}, "uses http"},
		{"no scheme", Options{Name: "contribot", URL: "contribot.example.org"}, "no host"},
		{"ftp", Options{Name: "contribot", URL: "ftp://example.org"}, "not an http(s) URL"},
		{"query", Options{Name: "contribot", URL: "https://example.org/?a=b"}, "query or fragment"},
		{"credentials", Options{Name: "contribot", URL: "https://u:p@example.org"}, "credentials"},
		{"empty URL", Options{Name: "contribot"}, "empty"},
		{"empty name", Options{Name: " ", URL: "https://example.org"}, "name is empty"},
		{"long name", Options{Name: strings.Repeat("a", 35), URL: "https://example.org"}, "longer than"},
		{"34 characters", Options{Name: strings.Repeat("a", 34), URL: "https://example.org"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
