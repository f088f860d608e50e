package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/caarlos0/env/v10"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/redeliver"
)

const redeliverUsage = `usage: contribot redeliver [--since 6h] [--max N] [--dry-run]

Asks GitHub to send again the App's webhook deliveries of the last --since
that failed and never succeeded, e.g. while contribot was down. GitHub
does not retry failed deliveries itself and keeps them for 3 days.

A delivery whose redelivery is pending, or which was already redelivered
3 times in the window without success, is left alone. At most --max are
redelivered per run (default 100), oldest first; a GitHub rate limit ends
the run, and running it again later continues.

  --since D   how far back to look (default 6h)
  --max N     redeliver at most N deliveries (default 100)
  --dry-run   list what would be redelivered, send nothing

It reads GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, and
GITHUB_API_URL, as serve does.
`

func runRedeliver(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newSubcommand("contribot redeliver", redeliverUsage, stdout, stderr)
	since := cmd.Duration("since", 6*time.Hour, "how far back to look")
	maxN := cmd.Int("max", redeliver.DefaultMax, "redeliver at most this many")
	dryRun := cmd.Bool("dry-run", false, "send nothing")
	if code, done := cmd.parse(args); done {
		return code
	}
	if *since <= 0 {
		return cmd.usageError("--since wants a positive duration such as 6h, got %s", *since)
	}
	if *maxN <= 0 {
		return cmd.usageError("--max wants a positive number, got %d", *maxN)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "contribot redeliver: %v\n", err)
		return 1
	}
	client, log, err := redeliverClient(stderr)
	if err != nil {
		return fail(err)
	}
	rep, err := redeliver.Run(ctx, client, redeliver.Options{Since: *since, Max: *maxN, DryRun: *dryRun, Log: log})
	for _, m := range rep.Deliveries {
		action := m.Event
		if m.Action != "" {
			action += "." + m.Action
		}
		fmt.Fprintf(stdout, "%s  %s  %-28s  status %3d  %d attempt(s)  %s\n",
			m.FirstDeliveredAt.UTC().Format(time.RFC3339), m.GUID, action, m.StatusCode, m.Attempts, m.Outcome)
	}
	fmt.Fprintln(stdout, rep)
	if err != nil {
		return fail(err)
	}
	return 0
}

// redeliverClient builds the App-JWT client from the environment. It reads
// app.Config directly rather than through app.LoadConfig, whose checks are
// serve's: redelivery needs no webhook secret or database.
func redeliverClient(stderr io.Writer) (redeliver.Client, *slog.Logger, error) {
	var cfg app.Config
	if err := env.Parse(&cfg); err != nil {
		return nil, nil, fmt.Errorf("read environment: %w", err)
	}
	level, err := app.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch {
	case cfg.PrivateKey != "" && cfg.PrivateKeyPath != "":
		return nil, nil, fmt.Errorf("set GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, not both")
	case cfg.DryRun():
		return nil, nil, fmt.Errorf("the webhook delivery log is read with the App's own credentials: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH (and GITHUB_API_URL for GitHub Enterprise)")
	}
	// A one-off command has no /metrics to serve.
	ghApp, err := cfg.GitHubApp(prometheus.NewRegistry(), log)
	if err != nil {
		return nil, nil, err
	}
	return redeliver.GitHub{C: ghApp.AppClient()}, log, nil
}
