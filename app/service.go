package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/tidwall/gjson"

	"github.com/SovereignCloudStack/contribot/app/admin"
	"github.com/SovereignCloudStack/contribot/app/dco"
	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/labels"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/redeliver"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
	"github.com/SovereignCloudStack/contribot/app/server"
	"github.com/SovereignCloudStack/contribot/app/setup"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
	"github.com/SovereignCloudStack/contribot/app/welcome"
)

// Service is one running contribot process.
type Service struct {
	cfg       Config
	log       *slog.Logger
	queue     *queue.Queue
	handler   http.Handler
	registry  *prometheus.Registry
	rules     *rulesload.Loader
	dco       *dco.Handler
	labels    *labels.Handler
	welcome   *welcome.Handler
	upstream  *upstream.Handler
	github    *githubapp.App // nil in dry-run
	self      selfLogin
	stopPrune context.CancelFunc
	conns     *server.ConnLimit
}

// Options are what tests and benchmarks change beyond the environment.
type Options struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// GitHub transport options, e.g. to turn off write pacing in tests.
	GitHubOptions []githubapp.Option
	Queue         queue.Options
	// Now is the upstream tracker's clock (last checked, staleness), for
	// tests that let hours pass; nil is time.Now.
	Now func() time.Time
}

// New builds the service: it opens and migrates the database, but starts
// nothing.
func New(ctx context.Context, cfg Config, opts Options) (*Service, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Service{cfg: cfg, log: log, registry: reg}
	s.rules = rulesload.New(rulesload.Options{TTL: cfg.RulesTTL})

	clients, err := s.githubClients(opts)
	if err != nil {
		return nil, err
	}
	s.dco = &dco.Handler{
		Client:   clients.dco,
		Rules:    rulesAdapter{s.rules},
		Log:      log.With(slog.String("feature", FeatureDCO)),
		Describe: githubapp.Describe,
		RateLimited: func(err error) bool {
			_, ok := githubapp.RetryAfter(err)
			return ok
		},
	}

	qopts := opts.Queue
	qopts.Logger = log
	qopts.Schema = append(append(append(append(qopts.Schema, labels.Schema...), welcome.Schema...), upstream.Schema...), admin.Schema...)
	qopts.Handler = queue.HandlerFunc(s.work)
	// Tasks run only after Start, by when s.upstream is set.
	qopts.Tasks = queue.TaskFunc(s.task)
	if cfg.RedeliverInterval > 0 && s.github != nil {
		qopts.Periodic = append(qopts.Periodic, queue.Periodic{Task: TaskRedeliver, Key: "app", Every: cfg.RedeliverInterval, Jitter: 0.1})
	}
	pollEvery := cfg.UpstreamPollInterval
	if pollEvery <= 0 {
		pollEvery = time.Hour
	}
	qopts.Periodic = append(qopts.Periodic, queue.Periodic{Task: upstream.TaskPoll, Key: upstream.PollKey, Every: pollEvery, Jitter: cfg.UpstreamPollJitter, RunOnStart: true})
	if qopts.TaskTimeouts == nil {
		// A poll paces itself per upstream host; thousands of references
		// take minutes, not the seconds a delivery's job gets. Redelivery
		// asks at the App's write pace, one a second by default.
		redeliver := 2 * time.Minute
		if cfg.WritesPerSecond > 0 {
			redeliver += time.Duration(float64(max(cfg.RedeliverMax, 1)) / cfg.WritesPerSecond * float64(time.Second))
		}
		qopts.TaskTimeouts = map[string]time.Duration{upstream.TaskPoll: 30 * time.Minute, TaskRedeliver: redeliver}
	}
	qopts.RetryAfter = githubapp.RetryAfter
	if qopts.JobTimeout == 0 {
		qopts.JobTimeout = cfg.JobTimeout
	}
	if qopts.Metrics == nil {
		qopts.Metrics = queue.NewMetrics(reg)
	}
	q, err := queue.Open(ctx, cfg.DatabaseURL, qopts)
	if err != nil {
		return nil, err
	}
	s.queue = q
	reg.MustRegister(queue.NewDepthCollector(q))
	s.labels = &labels.Handler{
		Client:    clients.labels,
		Rules:     rulesAdapter{s.rules},
		Store:     &labels.Store{DB: q.DB()},
		Log:       log.With(slog.String("feature", FeatureLabels)),
		LabelsTTL: cfg.RulesTTL,
		Metrics:   labels.NewMetrics(reg),
	}
	s.welcome = &welcome.Handler{
		Client:  clients.welcome,
		Rules:   rulesAdapter{s.rules},
		Store:   &welcome.Store{DB: q.DB()},
		Log:     log.With(slog.String("feature", FeatureWelcome)),
		Metrics: welcome.NewMetrics(reg),
	}
	if err := s.newUpstream(ctx, cfg, clients, q, pollEvery, reg, opts.Now); err != nil {
		_ = q.Stop(ctx)
		return nil, err
	}
	if s.github != nil {
		s.self.app = s.github
		s.labels.Self = s.self.botLogin
		s.welcome.Self = s.self.botLogin
		s.upstream.Self = s.self.botLogin
	}

	secrets := [][]byte{[]byte(cfg.WebhookSecret)}
	if cfg.WebhookSecretPrevious != "" {
		secrets = append(secrets, []byte(cfg.WebhookSecretPrevious))
	}
	s.handler = server.New(server.Config{
		Secrets:      secrets,
		Queue:        q,
		Route:        Route,
		Accepted:     s.accepted,
		Logger:       log,
		Registry:     reg,
		MetricsToken: cfg.MetricsToken,
		Extra:        s.pages(q),
	})
	s.conns = server.NewConnLimit(server.MaxConns, reg)
	return s, nil
}

// newUpstream builds the upstream tracker: its providers read public
// upstream hosts without credentials, and GitHub with the installation of
// the org whose items name the reference.
func (s *Service) newUpstream(ctx context.Context, cfg Config, clients clients, q *queue.Queue, pollEvery time.Duration, reg prometheus.Registerer, now func() time.Time) error {
	// Hosts in rules are dialled on public addresses only; an internal
	// host is reached only for the orgs UPSTREAM_ALLOW_INTERNAL names it
	// for, and its references are read per org.
	allow, endpoints, err := cfg.upstreamReach()
	if err != nil {
		return err
	}
	rate, burst := cfg.UpstreamRate, cfg.UpstreamBurst
	if rate <= 0 {
		rate = 2
	}
	if burst <= 0 {
		burst = 5
	}
	store := &upstream.Store{DB: q.DB(), Now: now}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	set := provider.NewSet(provider.SetOptions{
		Allowance: allow,
		Endpoints: endpoints,
		PerSecond: rate,
		Burst:     burst,
		// Each org's GitHub references are read with that org's own
		// installation: another org's could read private repositories the
		// tracking org cannot, and put what it read on the tracking org's
		// public reports.
		GitHub: func(ctx context.Context, org string) (*github.Client, error) {
			if s.github == nil {
				return nil, upstream.ErrDryRun
			}
			inst, err := store.Installation(ctx, org)
			if err != nil {
				return nil, err
			}
			if inst == 0 {
				return nil, fmt.Errorf("no installation of the App on %s tracks upstream work", org)
			}
			return s.github.Installation(inst), nil
		},
	})
	store.OrgScoped = set.OrgScoped
	publicURL := strings.TrimSuffix(cfg.PublicURL, "/")
	pageURL := ""
	if publicURL != "" {
		pageURL = publicURL + "/upstream"
	}
	s.upstream = &upstream.Handler{
		Client:    clients.upstream,
		Rules:     rulesAdapter{s.rules},
		Store:     store,
		Queue:     q,
		Providers: set,
		Log:       s.log.With(slog.String("feature", FeatureUpstream)),
		Metrics:   upstream.NewMetrics(reg),
		PollEvery: pollEvery,
		PageURL:   pageURL,
		DryRun:    s.cfg.DryRun(),
		Now:       now,
		LockTTL:   max(upstream.LockTTL, 2*cfg.JobTimeout+time.Minute),
		Budget:    upstream.Budget{GitHub: cfg.UpstreamBudgetGitHub, Host: cfg.UpstreamBudgetHost},
	}
	return nil
}

// PollUpstream has the upstream references that are due checked now,
// rather than at the next periodic poll.
func (s *Service) PollUpstream(ctx context.Context) error {
	return s.queue.Schedule(ctx, upstream.TaskPoll, "now@"+strconv.FormatInt(time.Now().UnixNano(), 10), 0)
}

// pages are the routes besides the webhook and health: the tracker's
// public page and its JSON twin (the store lists only items the rules allow
// on them), the admin view of failed jobs (404 unless ADMIN_TOKEN is set),
// and the App registration flow when SETUP_ENABLED.
func (s *Service) pages(q *queue.Queue) map[string]http.Handler {
	src := upstreamSource{s.upstream.Store}
	opts := report.PageOptions{StaleAfter: upstream.DefaultStaleAfter, Title: "Upstream contributions"}
	pages := map[string]http.Handler{
		"/upstream":     report.Page(src, opts),
		"/api/upstream": report.API(src, opts),
		"/admin/":       admin.Handler(q, admin.Options{Token: s.cfg.AdminToken, DB: q.DB(), Logger: s.log.With(slog.String("component", "admin"))}),
	}
	if s.cfg.SetupEnabled {
		// A GITHUB_API_URL that does not resolve leaves APIURL empty; the
		// App itself refuses to start with it in live mode.
		apiURL, _ := githubapp.ResolveAPIURL(s.cfg.APIURL)
		h := setup.Handler(setup.HandlerOptions{
			Manifest: setup.Options{Name: setup.DefaultName, URL: strings.TrimSuffix(s.cfg.PublicURL, "/")},
			APIURL:   apiURL,
			WebURL:   s.cfg.GitHubWebURL,
			Logger:   s.log.With(slog.String("component", "setup")),
			Secret:   []byte(s.cfg.WebhookSecret),
		})
		pages["/setup"], pages["/setup/"] = h, h
	}
	return pages
}

type upstreamSource struct{ store *upstream.Store }

func (u upstreamSource) References(ctx context.Context) ([]report.Reference, error) {
	return u.store.References(ctx, "")
}

// TaskRedeliver is the periodic redelivery of missed webhook deliveries.
const TaskRedeliver = "redeliver"

// task runs a task job: the upstream tracker's, or the redelivery of
// missed deliveries. Tasks run only after Start, by when every feature
// is set.
func (s *Service) task(ctx context.Context, t queue.Task) error {
	if t.Task == TaskRedeliver {
		if s.github == nil {
			return nil
		}
		return redeliver.RunTask(ctx, redeliver.GitHub{C: s.github.AppClient()}, s.cfg.RedeliverSince, s.cfg.RedeliverMax,
			s.log.With(slog.String("task", TaskRedeliver)))
	}
	return s.upstream.HandleTask(ctx, t)
}

// clients are the per-installation GitHub clients of each feature.
type clients struct {
	dco      func(installation int64) dco.Client
	labels   func(installation int64) labels.Client
	welcome  func(installation int64) welcome.Client
	upstream func(installation int64) upstream.Client
}

// githubClients returns the per-installation client factories: the real
// App, or in dry-run clients that log what they would do.
func (s *Service) githubClients(opts Options) (clients, error) {
	if s.cfg.DryRun() {
		s.log.Warn("dry-run: GITHUB_APP_ID and a private key are not set; deliveries are verified and queued, and the actions are only logged")
		return clients{
			dco: func(inst int64) dco.Client {
				return dryRunClient{log: s.log, installation: inst, stop: dco.ErrDryRun}
			},
			labels: func(inst int64) labels.Client {
				return dryRunClient{log: s.log, installation: inst, stop: labels.ErrDryRun}
			},
			welcome: func(inst int64) welcome.Client {
				return dryRunClient{log: s.log, installation: inst, stop: welcome.ErrDryRun}
			},
			upstream: func(inst int64) upstream.Client {
				return dryRunClient{log: s.log, installation: inst, stop: upstream.ErrDryRun}
			},
		}, nil
	}
	ghApp, err := s.cfg.GitHubApp(s.registry, s.log, opts.GitHubOptions...)
	if err != nil {
		return clients{}, err
	}
	s.github = ghApp
	return clients{
		dco:      func(inst int64) dco.Client { return dco.GitHub{C: ghApp.Installation(inst)} },
		labels:   func(inst int64) labels.Client { return labels.GitHub{C: ghApp.Installation(inst)} },
		welcome:  func(inst int64) welcome.Client { return welcome.GitHub{C: ghApp.Installation(inst)} },
		upstream: func(inst int64) upstream.Client { return upstream.GitHub{C: ghApp.Installation(inst)} },
	}, nil
}

// work runs one job: decode the stored payload, check it, and hand it to
// its feature.
func (s *Service) work(ctx context.Context, job queue.Job) error {
	event, err := vet(job)
	if err != nil {
		return queue.Permanent(err)
	}
	switch job.Feature {
	case FeatureDCO:
		return s.dco.Handle(ctx, job, event)
	case FeatureLabels:
		return s.labels.Handle(ctx, job, event)
	case FeatureWelcome:
		return s.welcome.Handle(ctx, job, event)
	case FeatureUpstream:
		return s.upstream.Handle(ctx, job, event)
	}
	s.log.Warn("job for an unknown feature dropped", slog.String("feature", job.Feature), slog.String("delivery", job.Delivery))
	return nil
}

// accepted reacts in memory to verified deliveries: a push that changes a
// rules file on the default branch drops the cached rules at once, so the
// next event in that repository already sees the new rules. It runs inside
// the request and reads only the fields it needs, in place: a push of 2048
// commits decoded whole with go-github would cost many times its size, and
// 8 million empty commits took 745 MiB.
func (s *Service) accepted(event string, body []byte) {
	switch event {
	case "label":
		// A created, renamed or deleted label changes what exists.
		f := gjson.GetManyBytes(body, "repository.owner.login", "repository.name")
		s.labels.InvalidateRepo(f[0].String(), f[1].String())
	case "installation":
		// A removed or suspended installation's token is dead; forget it so
		// a reinstall starts clean instead of meeting a 401 first.
		f := gjson.GetManyBytes(body, "action", "installation.id")
		switch f[0].String() {
		case "deleted", "suspend", "new_permissions_accepted":
			if s.github != nil && f[1].Int() > 0 {
				s.github.InvalidateInstallation(f[1].Int())
			}
		}
	case "push":
		s.pushed(body)
	}
}

// pushed drops the cached rules of a repository whose default branch got
// a commit that adds, changes or removes a rules file.
func (s *Service) pushed(body []byte) {
	f := gjson.GetManyBytes(body, "ref", "repository.default_branch", "repository.name", "repository.owner.login", "repository.owner.name")
	repo := f[2].String()
	if f[0].String() != "refs/heads/"+f[1].String() || repo == "" {
		return
	}
	owner := f[3].String()
	if owner == "" {
		owner = f[4].String()
	}
	// One copy of the commit list, then read in place. Only arrays are
	// lists (gjson would walk an object's members, or take a string as a
	// one-element list); a null commit or file list names no files.
	var changed string
	each := func(list gjson.Result, fn func(gjson.Result) bool) {
		if list.IsArray() {
			list.ForEach(func(_, v gjson.Result) bool { return fn(v) })
		}
	}
	each(gjson.GetBytes(body, "commits"), func(commit gjson.Result) bool {
		for _, files := range []string{"added", "modified", "removed"} {
			each(commit.Get(files), func(file gjson.Result) bool {
				if file.Type == gjson.String && rulesload.IsRulesPath(repo, file.Str) {
					changed = file.Str
				}
				return changed == ""
			})
		}
		return changed == ""
	})
	if changed != "" {
		s.rules.Invalidate(owner, repo)
		s.log.Info("rules changed; cache dropped", slog.String("repo", owner+"/"+repo), slog.String("file", changed))
	}
}

// Handler is the HTTP handler, for tests that run their own server.
func (s *Service) Handler() http.Handler { return s.handler }

// Queue exposes the queue to tests and benchmarks.
func (s *Service) Queue() *queue.Queue { return s.queue }

// LabelHistoryRetention is how long the labels feature remembers a pull
// request it has not seen since; long-lived PRs are seen on every push.
const LabelHistoryRetention = 90 * 24 * time.Hour

// Start starts the workers, and the daily pruning of label history.
func (s *Service) Start(ctx context.Context) error {
	if err := s.queue.Start(ctx); err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(context.Background())
	s.stopPrune = cancel
	go func() {
		t := time.NewTicker(24 * time.Hour)
		defer t.Stop()
		for {
			if err := s.labels.Store.Prune(pctx, time.Now().Add(-LabelHistoryRetention)); err != nil && pctx.Err() == nil {
				s.log.Warn("could not prune label history; retrying tomorrow", slog.String("error", err.Error()))
			}
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Stop drains workers within the shutdown timeout and closes the database.
func (s *Service) Stop(ctx context.Context) error {
	if s.stopPrune != nil {
		s.stopPrune()
	}
	return s.queue.Stop(ctx)
}

// Run serves HTTP on the configured port until ctx ends (SIGTERM), then
// stops intake first and drains the workers, so nothing accepted is lost.
func (s *Service) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(s.cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", s.cfg.Port, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a given listener.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	srv := newHTTPServer(s.handler)
	srv.ConnState = s.conns.ConnState
	ln = s.conns.Listener(ln)
	if err := s.Start(ctx); err != nil {
		return err
	}
	s.log.Info("contribot serving", slog.String("addr", ln.Addr().String()), slog.String("database", s.queue.Backend), slog.Bool("dry_run", s.cfg.DryRun()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.log.Info("shutting down: intake stops, running jobs drain", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	if err := srv.Shutdown(shutdown); err != nil {
		s.log.Warn("HTTP shutdown", slog.String("error", err.Error()))
	}
	if err := s.Stop(shutdown); err != nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", serveErr)
	}
	return nil
}

// newHTTPServer bounds what one client can hold: headers must arrive within
// 5 s and stay under 16 KiB (GitHub sends 1-2 KiB; anyone could hold 64 KiB
// per stalled request before, outside the body budget), a webhook body
// within the handler's 15 s (server.BodyReadTimeout), other requests within
// the read timeout. A keep-alive connection is closed after a minute idle,
// or sooner to make room when all server.MaxConns are taken (Serve's
// connection limit); GitHub's next delivery rarely reuses one later.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// selfLogin learns the App's bot login ("<slug>[bot]") once, with the App
// JWT, which costs no installation's rate limit; a failure is retried on
// the next call.
type selfLogin struct {
	app   *githubapp.App
	mu    sync.Mutex
	login string
}

func (s *selfLogin) botLogin(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.login != "" {
		return s.login, nil
	}
	a, _, err := s.app.AppClient().Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("get the authenticated app: %w", err)
	}
	s.login = a.GetSlug() + "[bot]"
	return s.login, nil
}
