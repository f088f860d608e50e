// Command contribot runs the contribot GitHub App and its offline tools.
//
//	contribot [serve]                 run the service (the default)
//	contribot dco check …             evaluate DCO sign-offs offline
//	contribot rules check FILE…       validate rules files
//	contribot labels explain …        show the labels rules give a PR, and why
//	contribot upstream backfill …     seed the upstream tracker from an org
//	contribot redeliver …             ask GitHub to redeliver missed deliveries
//	contribot manifest …              print the GitHub App manifest
//	contribot version                 print the version
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/SovereignCloudStack/contribot/app"
)

// defaultMemoryLimit keeps a typical process under 60 MB resident.
const defaultMemoryLimit = 40 << 20

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  contribot [serve]                                   run the GitHub App service
  contribot dco check --commits FILE.json [--rules FILE] [--member LOGIN]... [--json]
  contribot dco check --git RANGE [--dir DIR] [--rules FILE] [--json]
  contribot rules check FILE...                       validate rules files
  contribot labels explain --repo OWNER/NAME (--files A,B | --pr-files FILE.json) [--rules FILE] [--json]
  contribot upstream backfill --org ORG               seed the upstream tracker from ORG's issues
  contribot redeliver [--since 6h] [--max N] [--dry-run]  redeliver webhook deliveries that failed and never succeeded
  contribot manifest --url URL [--name NAME] [--public]   print the GitHub App manifest
  contribot version
`

// run runs the command args names. A panic ends it with exit status 2 and
// its message and stack escaped: a panic's value may quote what a commit
// or a file holds, and Go's own report would print it raw.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			code = reportPanic(stderr, v, debug.Stack())
		}
	}()
	return dispatch(ctx, args, stdout, stderr)
}

// reportPanic writes a recovered panic through the terminal writer and
// returns the exit status for it.
func reportPanic(stderr io.Writer, v any, stack []byte) int {
	w := terminal(stderr)
	fmt.Fprintf(w, "contribot: internal error: %s\nThis is a bug; please report it with the stack below.\n\n", terminalText(fmt.Sprint(v)))
	_, _ = w.Write(stack)
	return 2
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "serve" {
		return serve(ctx, stderr)
	}
	// Every offline command's messages, its flag errors included, quote
	// what it was given; they reach a terminal escaped. The service's
	// stderr is JSON logs, whose encoder escapes for itself.
	stderr = terminal(stderr)
	switch args[0] {
	case "dco":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, "contribot dco: unknown command; did you mean `contribot dco check`?\n\n"+usage)
			return 2
		}
		return runDCOCheck(ctx, args[2:], stdout, stderr)
	case "rules":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, "contribot rules: unknown command; did you mean `contribot rules check FILE`?\n\n"+usage)
			return 2
		}
		return runRulesCheck(args[2:], stdout, stderr)
	case "labels":
		if len(args) < 2 || args[1] != "explain" {
			fmt.Fprint(stderr, "contribot labels: unknown command; did you mean `contribot labels explain`?\n\n"+usage)
			return 2
		}
		return runLabelsExplain(args[2:], stdout, stderr)
	case "upstream":
		return runUpstream(ctx, args[1:], stdout, stderr)
	case "redeliver":
		return runRedeliver(ctx, args[1:], stdout, stderr)
	case "manifest":
		return runManifest(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "contribot", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "contribot: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func serve(ctx context.Context, stderr io.Writer) int {
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit: the collector works harder near it instead of
		// letting bursts of 25 MiB-capped payloads grow the heap; set
		// GOMEMLIMIT to change it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	cfg, err := app.LoadConfig()
	if err != nil {
		fmt.Fprintf(stderr, "contribot: %v\n", err)
		return 2
	}
	level, _ := app.ParseLevel(cfg.LogLevel)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	svc, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("contribot could not start", slog.String("error", err.Error()))
		return 1
	}
	if err := svc.Run(ctx); err != nil {
		log.Error("contribot stopped with an error", slog.String("error", err.Error()))
		return 1
	}
	log.Info("contribot stopped")
	return 0
}
