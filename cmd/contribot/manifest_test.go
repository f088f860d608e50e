package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestManifestCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // in stdout
		wantErr    string // in stderr
		wantName   string
		wantHook   string
		wantPublic bool
	}{
		{name: "https", args: []string{"--url", "https://contribot.example.org"}, wantName: "contribot", wantHook: "https://contribot.example.org/webhook"},
		{name: "name and public", args: []string{"--url=https://bots.example.org/", "--name", "scs-contribot", "--public"}, wantName: "scs-contribot", wantHook: "https://bots.example.org/webhook", wantPublic: true},
		{name: "single-dash flags and loopback http", args: []string{"-url", "http://127.0.0.1:3000"}, wantName: "contribot", wantHook: "http://127.0.0.1:3000/webhook"},
		{name: "localhost http", args: []string{"--url", "http://localhost:3000"}, wantName: "contribot", wantHook: "http://localhost:3000/webhook"},
		{name: "help", args: []string{"-h"}, wantOut: "usage: contribot manifest --url URL"},
		{name: "no url", args: nil, wantCode: 2, wantErr: "--url is required"},
		{name: "public http", args: []string{"--url", "http://contribot.example.org"}, wantCode: 2, wantErr: "use https"},
		{name: "not a URL", args: []string{"--url", "contribot.example.org"}, wantCode: 2, wantErr: "has no host"},
		{name: "name too long", args: []string{"--url", "https://x.example.org", "--name", strings.Repeat("n", 35)}, wantCode: 2, wantErr: "longer than GitHub's 34 characters"},
		{name: "unknown flag", args: []string{"--url", "https://x.example.org", "--private"}, wantCode: 2, wantErr: "flag provided but not defined: -private"},
		{name: "stray argument", args: []string{"--url", "https://x.example.org", "extra"}, wantCode: 2, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runManifest(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if tt.wantErr != "" {
				if !strings.Contains(stderr.String(), tt.wantErr) || !strings.Contains(stderr.String(), "usage: contribot manifest") {
					t.Errorf("stderr lacks %q and the usage:\n%s", tt.wantErr, stderr.String())
				}
				if stdout.Len() != 0 {
					t.Errorf("a usage error printed to stdout:\n%s", stdout.String())
				}
				return
			}
			if tt.wantOut != "" {
				if !strings.Contains(stdout.String(), tt.wantOut) {
					t.Errorf("stdout lacks %q:\n%s", tt.wantOut, stdout.String())
				}
				return
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr:\n%s", stderr.String())
			}
			checkManifestOutput(t, stdout.String(), tt.wantName, tt.wantHook, tt.wantPublic)
		})
	}
}

// checkManifestOutput decodes the printed manifest and checks it asks for
// exactly contribot's permissions and events.
func checkManifestOutput(t *testing.T, out, name, hook string, public bool) {
	t.Helper()
	if !strings.HasPrefix(out, "{\n  \"") {
		t.Errorf("output is not indented JSON:\n%s", out)
	}
	var m struct {
		Name           string `json:"name"`
		URL            string `json:"url"`
		HookAttributes struct {
			URL    string `json:"url"`
			Active bool   `json:"active"`
		} `json:"hook_attributes"`
		RedirectURL string            `json:"redirect_url"`
		Description string            `json:"description"`
		Public      bool              `json:"public"`
		Permissions map[string]string `json:"default_permissions"`
		Events      []string          `json:"default_events"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	base := strings.TrimSuffix(hook, "/webhook")
	if m.Name != name || m.URL != base || m.HookAttributes.URL != hook || !m.HookAttributes.Active ||
		m.RedirectURL != base+"/setup/callback" || m.Public != public || m.Description == "" {
		t.Errorf("manifest = %+v", m)
	}
	wantPerms := map[string]string{
		"checks": "write", "contents": "read", "issues": "write", "merge_queues": "read",
		"metadata": "read", "pull_requests": "write", "members": "read",
	}
	if len(m.Permissions) != len(wantPerms) {
		t.Errorf("permissions = %v, want %v", m.Permissions, wantPerms)
	}
	for k, v := range wantPerms {
		if m.Permissions[k] != v {
			t.Errorf("permission %s = %q, want %q", k, m.Permissions[k], v)
		}
	}
	wantEvents := []string{"check_run", "check_suite", "issue_comment", "issues", "label", "merge_group",
		"pull_request", "pull_request_review", "push", "repository"}
	got := slices.Clone(m.Events)
	sort.Strings(got)
	if !slices.Equal(got, wantEvents) {
		t.Errorf("events = %v, want %v", got, wantEvents)
	}
}
