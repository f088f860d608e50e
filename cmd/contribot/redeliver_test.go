package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

func TestRedeliverUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--since", "0s"}, 2, "--since wants a positive duration such as 6h, got 0s"},
		{[]string{"--since", "six hours"}, 2, `invalid value "six hours" for flag -since`},
		{[]string{"--max", "0"}, 2, "--max wants a positive number, got 0"},
		{[]string{"--max"}, 2, "flag needs an argument: -max"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runRedeliver(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), "usage: contribot redeliver") {
				t.Errorf("exit %d, stderr %q; want exit %d and %q with the usage", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
	t.Run("-h", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := runRedeliver(context.Background(), []string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--dry-run") {
			t.Errorf("exit %d, stdout %q", code, stdout.String())
		}
	})
}

func TestRedeliverWithoutCredentials(t *testing.T) {
	for _, tc := range []struct{ name, appID, key string }{
		{"nothing", "", ""},
		{"no key", "1", ""},
		{"no app id", "", "-----BEGIN RSA PRIVATE KEY-----"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GITHUB_APP_ID", tc.appID)
			t.Setenv("GITHUB_PRIVATE_KEY", tc.key)
			t.Setenv("GITHUB_PRIVATE_KEY_PATH", "")
			var stdout, stderr bytes.Buffer
			code := runRedeliver(context.Background(), nil, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), "set GITHUB_APP_ID and GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH") {
				t.Errorf("exit %d, stderr %q; want exit 1 naming the variables", code, stderr.String())
			}
		})
	}
}

func TestRedeliverAgainstFakeGitHub(t *testing.T) {
	fake := fakegithub.New(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake.SetAppPublicKey(&key.PublicKey)
	fake.SetAppID(7, "contribot")
	t.Setenv("GITHUB_APP_ID", "7")
	t.Setenv("GITHUB_PRIVATE_KEY", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	t.Setenv("GITHUB_PRIVATE_KEY_PATH", "")
	t.Setenv("GITHUB_API_URL", fake.URL())
	t.Setenv("GITHUB_WEBHOOK_SECRET", "") // not needed to redeliver
	t.Setenv("LOG_LEVEL", "info")

	now := time.Now()
	add := func(guid string, ago time.Duration, code int) int64 {
		return fake.AddHookDelivery(fakegithub.HookDelivery{GUID: guid, Event: "pull_request", Action: "opened",
			StatusCode: code, DeliveredAt: now.Add(-ago), InstallationID: 1}).ID
	}
	add("old", 7*time.Hour, 502)
	first := add("first", 5*time.Hour, 502)
	add("fine", 4*time.Hour, 200)
	second := add("second", 2*time.Hour, 0)

	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runRedeliver(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := run("--since", "6h", "--dry-run")
	if code != 0 || len(fake.Redelivered()) != 0 {
		t.Fatalf("dry run: exit %d, redelivered %v\n%s%s", code, fake.Redelivered(), out, errOut)
	}
	if !strings.Contains(out, "first  pull_request.opened") || !strings.Contains(out, "would redeliver 2 (dry run)") || strings.Contains(out, "old") {
		t.Errorf("dry run output:\n%s", out)
	}

	code, out, errOut = run("--since", "6h", "--max", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if got, want := fake.Redelivered(), []int64{first, second}; !slices.Equal(got, want) {
		t.Errorf("redelivered %v, want %v (oldest first, not the one outside the window)", got, want)
	}
	if !strings.HasSuffix(out, "scanned 3 deliveries in the last 6h: 2 failed and never succeeded; redelivered 2\n") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "guid=first") {
		t.Errorf("log lacks the delivery:\n%s", errOut)
	}

	// The redeliveries succeeded: a second run has nothing to do.
	code, out, _ = run()
	if code != 0 || len(fake.Redelivered()) != 2 || !strings.Contains(out, "0 failed and never succeeded") {
		t.Errorf("second run: exit %d, redelivered %v\n%s", code, fake.Redelivered(), out)
	}
}
