package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/SovereignCloudStack/contribot/app"
)

const upstreamUsage = `usage: contribot upstream backfill --org ORG

Seeds the upstream tracker from ORG's issues and pull requests that carry
the upstream label (upstream.label in the rules) or "Upstream: <url>" lines.
It reads the same environment as serve (GITHUB_APP_ID, the private key,
DATABASE_URL) and is safe to run again. With SQLite, stop serve first: one
process owns the database file.
`

func runUpstream(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stdout, stderr = terminal(stdout), terminal(stderr)
	if len(args) == 0 || args[0] != "backfill" {
		fmt.Fprint(stderr, "contribot upstream: unknown command; did you mean `contribot upstream backfill --org ORG`?\n\n"+upstreamUsage)
		return 2
	}
	cmd := newSubcommand("contribot upstream backfill", upstreamUsage, stdout, stderr)
	org := cmd.String("org", "", "the GitHub organisation")
	if code, done := cmd.parse(args[1:]); done {
		return code
	}
	if *org == "" || strings.Contains(*org, "/") {
		return cmd.usageError("--org wants an organisation name such as SovereignCloudStack, got %q", *org)
	}
	cfg, err := app.LoadConfig()
	if err != nil {
		fmt.Fprintf(stderr, "contribot upstream backfill: %v\n", err)
		return 1
	}
	level, _ := app.ParseLevel(cfg.LogLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	svc, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "contribot upstream backfill: %v\n", err)
		return 1
	}
	rep, err := svc.BackfillUpstream(ctx, *org)
	if stopErr := svc.Stop(context.WithoutCancel(ctx)); err == nil && stopErr != nil {
		err = stopErr
	}
	if err != nil {
		fmt.Fprintf(stderr, "contribot upstream backfill: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s found, %d tracked, %d new or changed; their check is queued and runs as soon as serve does\n",
		*org, plural(rep.Found, "item"), rep.Tracked, rep.Changed)
	return 0
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
