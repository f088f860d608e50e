// Package app wires contribot's service together: configuration, the queue,
// the GitHub App client, the rules loader and the features behind the
// webhook server.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/caarlos0/env/v10"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// Config is the service's environment; the variable names are a contract
// (DESIGN.md) that deployments rely on.
type Config struct {
	AppID                 int64  `env:"GITHUB_APP_ID"`
	PrivateKey            string `env:"GITHUB_PRIVATE_KEY"`
	PrivateKeyPath        string `env:"GITHUB_PRIVATE_KEY_PATH"`
	WebhookSecret         string `env:"GITHUB_WEBHOOK_SECRET"`
	WebhookSecretPrevious string `env:"GITHUB_WEBHOOK_SECRET_PREVIOUS"`
	APIURL                string `env:"GITHUB_API_URL" envDefault:"https://api.github.com/"`
	DatabaseURL           string `env:"DATABASE_URL"`
	Port                  int    `env:"PORT" envDefault:"3000"`
	LogLevel              string `env:"LOG_LEVEL" envDefault:"info"`
	// MetricsToken, when set, protects /metrics with a bearer token.
	MetricsToken string `env:"METRICS_TOKEN"`
	// WritesPerSecond paces each installation's write requests; GitHub
	// advises serial writes per installation to stay clear of its secondary
	// rate limits. Zero disables pacing.
	WritesPerSecond float64 `env:"GITHUB_WRITES_PER_SECOND" envDefault:"1"`
	WriteBurst      int     `env:"GITHUB_WRITE_BURST" envDefault:"10"`
	// RulesTTL is how long effective rules are reused without asking GitHub;
	// a push that changes a rules file drops them at once.
	RulesTTL time.Duration `env:"RULES_TTL" envDefault:"15m"`
	// JobTimeout bounds one run of a job; on PostgreSQL a job left running
	// by a killed replica is taken over after twice this.
	JobTimeout time.Duration `env:"JOB_TIMEOUT" envDefault:"1m"`
	// ShutdownTimeout bounds the drain on SIGTERM.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// UpstreamPollInterval is how often each upstream reference is
	// checked; UpstreamPollJitter spreads polls by that fraction of it.
	UpstreamPollInterval time.Duration `env:"UPSTREAM_POLL_INTERVAL" envDefault:"1h"`
	UpstreamPollJitter   float64       `env:"UPSTREAM_POLL_JITTER" envDefault:"0.1"`
	// UpstreamRate paces requests to each upstream host (Gerrit, Launchpad,
	// GitLab), per second, with UpstreamBurst.
	UpstreamRate  float64 `env:"UPSTREAM_RATE" envDefault:"2"`
	UpstreamBurst int     `env:"UPSTREAM_BURST" envDefault:"5"`
	// UpstreamEndpoints overrides providers' API base URLs:
	// "review.opendev.org=https://…/,api.launchpad.net=…,gitlab.com=…/api/v4/".
	UpstreamEndpoints string `env:"UPSTREAM_ENDPOINTS"`
	// UpstreamBudgetGitHub and UpstreamBudgetHost bound one org's
	// upstream reads in one poll: GitHub requests with its installation,
	// and requests to each other upstream host for its references. What
	// they leave out is checked first in the next poll.
	UpstreamBudgetGitHub int `env:"UPSTREAM_BUDGET_GITHUB" envDefault:"1500"`
	UpstreamBudgetHost   int `env:"UPSTREAM_BUDGET_HOST" envDefault:"1000"`
	// UpstreamAllowInternal lists the internal hosts, addresses and CIDR
	// prefixes upstream reads may reach, such as a self-hosted Gerrit,
	// each for the org it serves or "*" for every org
	// ("bob-org=gerrit.internal.example,bob-org=10.0.0.5:8443,
	// *=10.1.0.0/16"); without a port, the scheme's. Every other host
	// named in rules is reached only on a public address, checked when
	// connecting. A host of UpstreamEndpoints on an internal address
	// needs an entry too: naming its link host allows its base.
	UpstreamAllowInternal string `env:"UPSTREAM_ALLOW_INTERNAL"`
	// RedeliverInterval asks GitHub every interval to redeliver webhook
	// deliveries of the last RedeliverSince that failed and never
	// succeeded, at most RedeliverMax a run. On by default: GitHub never
	// retries a delivery on its own, and intake answers 503 when its
	// memory budget is full, so without it such a delivery is lost. It
	// costs the App's JWT, not an installation's quota. Zero: off.
	RedeliverInterval time.Duration `env:"REDELIVER_INTERVAL" envDefault:"10m"`
	RedeliverSince    time.Duration `env:"REDELIVER_SINCE" envDefault:"6h"`
	RedeliverMax      int           `env:"REDELIVER_MAX" envDefault:"100"`
	// AdminToken, when set, opens /admin/jobs (failed jobs, with a retry
	// button) to that bearer token or a login with it.
	AdminToken string `env:"ADMIN_TOKEN"`
	// SetupEnabled serves the App registration flow at /setup (needs
	// PUBLIC_URL); GitHubWebURL is GitHub's web address (GHES: its host).
	SetupEnabled bool   `env:"SETUP_ENABLED"`
	GitHubWebURL string `env:"GITHUB_WEB_URL" envDefault:"https://github.com/"`
	// PublicURL is where this service is reachable, e.g.
	// https://contribot.example.org; reports link to its /upstream page.
	PublicURL string `env:"PUBLIC_URL"`
}

// LoadConfig reads the environment.
func LoadConfig() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("read environment: %w", err)
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.WebhookSecret == "" {
		errs = append(errs, errors.New("GITHUB_WEBHOOK_SECRET is required: it is the secret you set when registering the GitHub App (any value for a local dry run)"))
	}
	if c.PrivateKey != "" && c.PrivateKeyPath != "" {
		errs = append(errs, errors.New("set GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, not both"))
	}
	// Half the credentials is a typo, not a wish for dry-run: refusing to
	// start beats acknowledging deliveries that never get a check run.
	hasKey := c.PrivateKey != "" || c.PrivateKeyPath != ""
	if c.AppID != 0 && !hasKey {
		errs = append(errs, errors.New("GITHUB_APP_ID is set but neither GITHUB_PRIVATE_KEY nor GITHUB_PRIVATE_KEY_PATH is; set both for live mode, or neither for dry-run"))
	}
	if c.AppID == 0 && hasKey {
		errs = append(errs, errors.New("a private key is set but GITHUB_APP_ID is not; set both for live mode, or neither for dry-run"))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT %d is not a TCP port", c.Port))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.UpstreamPollInterval < time.Minute {
		errs = append(errs, fmt.Errorf("UPSTREAM_POLL_INTERVAL %s is too short; upstream hosts are polled at most once a minute", c.UpstreamPollInterval))
	}
	if c.UpstreamPollJitter < 0 || c.UpstreamPollJitter > 0.5 {
		errs = append(errs, fmt.Errorf("UPSTREAM_POLL_JITTER %g: want a fraction from 0 to 0.5", c.UpstreamPollJitter))
	}
	if c.RedeliverInterval != 0 && (c.RedeliverInterval < time.Minute || c.RedeliverSince <= c.RedeliverInterval) {
		errs = append(errs, fmt.Errorf("REDELIVER_INTERVAL %s: want at least 1m and less than REDELIVER_SINCE (%s), so that every delivery is looked at", c.RedeliverInterval, c.RedeliverSince))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		errs = append(errs, fmt.Errorf("ADMIN_TOKEN has %d characters; it can retry jobs, so use at least 32 (openssl rand -hex 32)", len(c.AdminToken)))
	}
	if c.UpstreamBudgetGitHub < 0 || c.UpstreamBudgetHost < 0 {
		errs = append(errs, fmt.Errorf("UPSTREAM_BUDGET_GITHUB %d, UPSTREAM_BUDGET_HOST %d: want requests per org and poll, 0 for the default", c.UpstreamBudgetGitHub, c.UpstreamBudgetHost))
	}
	if _, _, err := c.upstreamReach(); err != nil {
		errs = append(errs, err)
	}
	if c.UpstreamRate <= 0 {
		errs = append(errs, fmt.Errorf("UPSTREAM_RATE %g: want requests per second per host, more than 0", c.UpstreamRate))
	}
	return errors.Join(errs...)
}

// upstreamReach reads where upstream reads go (UPSTREAM_ENDPOINTS) and
// which internal hosts they may reach for which orgs
// (UPSTREAM_ALLOW_INTERNAL), with the endpoints recorded in the
// allowance. An endpoint written as an internal address that no entry
// allows could never be reached: that is an error, so that the operator
// learns it at start and not from every check failing.
func (c Config) upstreamReach() (provider.Allowance, provider.Endpoints, error) {
	eps, err := provider.ParseEndpoints(c.UpstreamEndpoints)
	if err != nil {
		return provider.Allowance{}, provider.Endpoints{}, fmt.Errorf("UPSTREAM_ENDPOINTS: %w", err)
	}
	allow, err := provider.ParseAllowance(c.UpstreamAllowInternal)
	if err != nil {
		return provider.Allowance{}, provider.Endpoints{}, fmt.Errorf("UPSTREAM_ALLOW_INTERNAL: %w", err)
	}
	allow.UseEndpoints(eps)
	if none := allow.EndpointsAllowedForNone(); len(none) > 0 {
		return provider.Allowance{}, provider.Endpoints{}, fmt.Errorf("UPSTREAM_ENDPOINTS: the API of %s is on an internal address that UPSTREAM_ALLOW_INTERNAL allows for no org; add ORG=%s for the org it serves, or *=%s for every org",
			strings.Join(none, ", "), none[0], none[0])
	}
	return allow, eps, nil
}

// Key returns the App's private key PEM, read from the file if a path is
// given. It returns nil when no credentials are configured (dry-run).
func (c *Config) Key() ([]byte, error) {
	if c.PrivateKeyPath != "" {
		b, err := os.ReadFile(c.PrivateKeyPath)
		if err != nil {
			return nil, fmt.Errorf("read GITHUB_PRIVATE_KEY_PATH: %w", err)
		}
		return b, nil
	}
	if c.PrivateKey == "" {
		return nil, nil
	}
	// Platforms that store secrets on one line turn newlines into "\n".
	return []byte(strings.ReplaceAll(c.PrivateKey, `\n`, "\n")), nil
}

// DryRun reports whether the App credentials are missing, in which case the
// service verifies and queues deliveries but only logs what it would do.
func (c *Config) DryRun() bool {
	return c.AppID == 0 || (c.PrivateKey == "" && c.PrivateKeyPath == "")
}

// ParseLevel maps LOG_LEVEL to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return l, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// GitHubApp is the App client the environment configures, for the service
// and for the commands that act as the App (redeliver), so both read the
// same variables the same way. Dry-run (no credentials) is the caller's to
// rule out.
func (c Config) GitHubApp(reg prometheus.Registerer, log *slog.Logger, extra ...githubapp.Option) (*githubapp.App, error) {
	key, err := c.Key()
	if err != nil {
		return nil, err
	}
	opts := append([]githubapp.Option{
		githubapp.WithRegisterer(reg),
		githubapp.WithLogger(log.With(slog.String("component", "github"))),
		githubapp.WithWritePacing(c.WritesPerSecond, c.WriteBurst),
		// Rules files are what conditional requests save most on; 8 MiB
		// holds thousands of them and keeps the process small.
		githubapp.WithETagCacheSize(8 << 20),
	}, extra...)
	ghApp, err := githubapp.New(githubapp.Config{AppID: c.AppID, PrivateKey: key, BaseURL: c.APIURL, UserAgent: "contribot"}, opts...)
	if err != nil {
		return nil, fmt.Errorf("set up the GitHub App: %w", err)
	}
	return ghApp, nil
}
