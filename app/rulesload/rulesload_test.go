package rulesload

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/rules"
)

const (
	org      = "SovereignCloudStack"
	orgRules = "SovereignCloudStack/.github:.github/contribot.yml"
	orgDCO   = "SovereignCloudStack/.github:.github/dco.yml"
)

// fakeGitHub serves files keyed "owner/repo:path" and counts reads.
type fakeGitHub struct {
	mu    sync.Mutex
	files map[string]string
	fail  map[string]error
	calls map[string]int
	// gate, when set, holds reads until it is closed: every read, or only
	// those of gateOnly when that is set.
	gate     chan struct{}
	gateOnly string
}

func newFake(files map[string]string) *fakeGitHub {
	return &fakeGitHub{files: files, fail: map[string]error{}, calls: map[string]int{}}
}

func (g *fakeGitHub) GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error) {
	key := owner + "/" + repo + ":" + path
	g.mu.Lock()
	g.calls[key]++
	gate, err := g.gate, g.fail[key]
	if g.gateOnly != "" && g.gateOnly != key {
		gate = nil
	}
	content, found := g.files[key]
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, false, err
	}
	return []byte(content), found, nil
}

func (g *fakeGitHub) set(key, content string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files[key] = content
}

// reads returns and resets the read counts.
func (g *fakeGitHub) reads() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = map[string]int{}
	return c
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLoader() (*Loader, *clock) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(Options{TTL: time.Minute, Now: c.now}), c
}

func mustLoad(t *testing.T, l *Loader, g Fetcher, repo string) *Loaded {
	t.Helper()
	ld, err := l.Load(context.Background(), g, org, repo)
	if err != nil {
		t.Fatalf("Load(%s): %v", repo, err)
	}
	return ld
}

func messages(es rules.Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

func TestCaching(t *testing.T) {
	g := newFake(map[string]string{
		orgRules: "dco:\n  skip_bots: false\n",
		"SovereignCloudStack/standards:" + rules.DefaultPath: "dco:\n  override: false\n",
	})
	l, c := newLoader()

	steps := []struct {
		name  string
		do    func()
		repo  string
		reads map[string]int
	}{
		{
			name: "cold load reads the repo file and the org file (which has a dco section, so no dco.yml)",
			repo: "standards",
			reads: map[string]int{
				orgRules: 1,
				"SovereignCloudStack/standards:.github/contribot.yml": 1,
			},
		},
		{name: "cached load reads nothing", repo: "standards", reads: map[string]int{}},
		{
			name: "another repository of the owner reuses the org files and caches 404s",
			repo: "docs",
			reads: map[string]int{
				"SovereignCloudStack/docs:.github/contribot.yml": 1,
				"SovereignCloudStack/docs:.github/dco.yml":       1,
			},
		},
		{name: "404s are cached too", repo: "docs", reads: map[string]int{}},
		{
			name:  "invalidating a repository rereads only its files",
			do:    func() { l.Invalidate(org, "standards") },
			repo:  "standards",
			reads: map[string]int{"SovereignCloudStack/standards:.github/contribot.yml": 1},
		},
		{
			name:  "invalidating .github rereads the org files for every repository",
			do:    func() { l.Invalidate(org, ".github") },
			repo:  "docs",
			reads: map[string]int{orgRules: 1},
		},
		{name: "... once per owner", repo: "standards", reads: map[string]int{}},
		{
			name: "after the TTL everything is read again",
			do:   func() { c.advance(time.Minute) },
			repo: "standards",
			reads: map[string]int{
				orgRules: 1,
				"SovereignCloudStack/standards:.github/contribot.yml": 1,
			},
		},
		{
			name:  "owner and repository names are case-insensitive",
			repo:  "Standards",
			reads: map[string]int{},
		},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		g.reads()
		ld := mustLoad(t, l, g, s.repo)
		if got := g.reads(); !reflect.DeepEqual(got, s.reads) {
			t.Errorf("%s: reads = %v, want %v", s.name, got, s.reads)
		}
		if !ld.Rules.DCO.Enabled || ld.Rules.DCO.SkipBots {
			t.Errorf("%s: DCO = %+v, want enabled with skip_bots false from the org", s.name, ld.Rules.DCO)
		}
	}
}

func TestInvalidatePicksUpNewContent(t *testing.T) {
	repoKey := "SovereignCloudStack/docs:" + rules.DefaultPath
	g := newFake(map[string]string{repoKey: "dco:\n  override: true\n"})
	l, _ := newLoader()
	if ld := mustLoad(t, l, g, "docs"); !ld.Rules.DCO.Override {
		t.Fatal("override should be on")
	}
	g.set(repoKey, "dco:\n  override: false\n")
	if ld := mustLoad(t, l, g, "docs"); !ld.Rules.DCO.Override {
		t.Fatal("a cached load should not see the change yet")
	}
	l.Invalidate(org, "docs")
	if ld := mustLoad(t, l, g, "docs"); ld.Rules.DCO.Override {
		t.Error("after Invalidate the new file should apply")
	}
}

func TestInvalidateExtendsTarget(t *testing.T) {
	// A repository that extends another file of the .github repository must see a push there.
	target := "SovereignCloudStack/.github:.github/strict.yml"
	g := newFake(map[string]string{
		"SovereignCloudStack/docs:" + rules.DefaultPath: "extends: SovereignCloudStack/.github:.github/strict.yml\n",
		target: "dco:\n  override: true\n",
	})
	l, _ := newLoader()
	mustLoad(t, l, g, "docs")
	g.set(target, "dco:\n  override: false\n")
	l.Invalidate(org, ".github")
	if ld := mustLoad(t, l, g, "docs"); ld.Rules.DCO.Override {
		t.Error("the pushed extends target should apply after Invalidate")
	}
}

func TestLoad(t *testing.T) {
	repoFile := "SovereignCloudStack/docs:" + rules.DefaultPath
	repoDCO := "SovereignCloudStack/docs:" + rules.ProbotDCOPath
	tests := []struct {
		name     string
		repo     string // default "docs"
		files    map[string]string
		want     func(*rules.DCO)
		problems []string
		warnings []string
		sources  map[string]string
		notRead  []string
	}{
		{
			name: "no files: built-in rules",
			want: func(*rules.DCO) {},
			sources: map[string]string{
				"dco.enabled": rules.BuiltinName,
			},
		},
		{
			name: "broken repository file falls back to org and built-in",
			files: map[string]string{
				orgRules: "dco:\n  override: false\n",
				repoFile: "dco:\n  enabled: false\n  requre:\n    members: false\n",
				repoDCO:  "require:\n  members: false\n",
			},
			want:     func(d *rules.DCO) { d.Override = false },
			problems: []string{`.github/contribot.yml:3:3: unknown key "requre" in dco (known: enabled, require, remediation, skip_bots, allow, recheck_command, override)`},
			notRead:  []string{repoDCO},
		},
		{
			name: "broken org file falls back to built-in and the repository file",
			files: map[string]string{
				orgRules: "dco:\n  enabled: nope\n",
				repoFile: "dco:\n  skip_bots: false\n",
			},
			want: func(d *rules.DCO) { d.SkipBots = false },
			problems: []string{
				orgRules + `: the org rules do not parse and are skipped until they are fixed`,
				// Read from another repository: the value is not quoted.
				orgRules + `:2:12: dco.enabled: want a boolean (true or false), got text`,
			},
		},
		{
			name: "org lock keeps the repository from disabling DCO",
			files: map[string]string{
				orgRules: "locked: [dco]\ndco:\n  remediation:\n    individual: true\n",
				repoFile: "dco:\n  enabled: false\n",
			},
			want:     func(d *rules.DCO) { d.Remediation.Individual = true },
			warnings: []string{".github/contribot.yml:1:1: section dco is locked by the org layer (" + orgRules + ":1:10); this change is ignored"},
		},
		{
			name: "extends none drops the org layer",
			files: map[string]string{
				orgRules: "dco:\n  override: false\n",
				repoFile: "extends: none\n",
			},
			want: func(*rules.DCO) {},
			sources: map[string]string{
				"dco.override": rules.BuiltinName,
			},
		},
		{
			name: "extends none does not escape an org lock",
			files: map[string]string{
				orgRules: "locked: [dco]\ndco:\n  override: false\n",
				repoFile: "extends: none\ndco:\n  enabled: false\n",
			},
			want:     func(d *rules.DCO) { d.Override = false },
			warnings: []string{".github/contribot.yml:2:1: section dco is locked by the org layer (" + orgRules + ":1:10); this change is ignored"},
		},
		{
			name: "extends another file of the org's .github repository",
			files: map[string]string{
				orgRules: "dco:\n  override: false\n",
				repoFile: "extends: SovereignCloudStack/.github:.github/strict.yml\n",
				"SovereignCloudStack/.github:.github/strict.yml": "dco:\n  skip_bots: false\n",
			},
			want: func(d *rules.DCO) { d.SkipBots = false },
			sources: map[string]string{
				"dco.skip_bots": "SovereignCloudStack/.github:.github/strict.yml:2:14",
				"dco.override":  rules.BuiltinName,
			},
		},
		{
			name: "a repository maintainer extends another org's file: refused, not read",
			files: map[string]string{
				orgRules:                              "dco:\n  override: false\n",
				repoFile:                              "extends: osism/.github\n",
				"osism/.github:.github/contribot.yml": "dco:\n  enabled: false\n",
			},
			want:     func(d *rules.DCO) { d.Override = false },
			problems: []string{".github/contribot.yml:1:10: extends: osism/.github:.github/contribot.yml is in another organisation than SovereignCloudStack; only SovereignCloudStack/.github can be extended, so nothing was read from it; using the org default " + orgRules + " instead"},
			notRead:  []string{"osism/.github:.github/contribot.yml"},
		},
		{
			name: "a repository maintainer extends a private repository of the org: refused, not read",
			files: map[string]string{
				repoFile:                          "extends: SovereignCloudStack/secret:.env\n",
				"SovereignCloudStack/secret:.env": "AWS_SECRET=x\n",
			},
			want:     func(*rules.DCO) {},
			problems: []string{`.github/contribot.yml:1:10: extends: "SovereignCloudStack/secret" is not the org's .github repository; only files there can be extended ("owner/.github" or "owner/.github:path")`},
			notRead:  []string{"SovereignCloudStack/secret:.env"},
		},
		{
			// Issue 11 review: a one-line JSON file there gave the
			// column of a key, which told the length of a secret.
			name: "a repository maintainer extends a file of the org's .github that is no rules file: refused, not read",
			files: map[string]string{
				repoFile: "extends: SovereignCloudStack/.github:secret.json\n",
				"SovereignCloudStack/.github:secret.json": `{"token": "ghp_0123456789abcdef", "dco": 1}` + "\n",
			},
			want:     func(*rules.DCO) {},
			problems: []string{`.github/contribot.yml:1:10: extends: path in "SovereignCloudStack/.github:secret.json": only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`},
			notRead:  []string{"SovereignCloudStack/.github:secret.json"},
		},
		{
			name: "extends a file that does not exist: org default",
			files: map[string]string{
				orgRules: "dco:\n  override: false\n",
				repoFile: "extends: SovereignCloudStack/.github:.github/rules.yml\n",
			},
			want:     func(d *rules.DCO) { d.Override = false },
			problems: []string{".github/contribot.yml:1:10: extends: SovereignCloudStack/.github:.github/rules.yml does not exist or contribot cannot read it; using the org default " + orgRules + " instead"},
		},
		{
			name: "extends a broken file: org default",
			files: map[string]string{
				orgRules: "dco:\n  override: false\n",
				repoFile: "extends: SovereignCloudStack/.github:.github/rules.yml\n",
				"SovereignCloudStack/.github:.github/rules.yml": "dco:\n  enabled: false\n  oops: 1\n",
			},
			want: func(d *rules.DCO) { d.Override = false },
			problems: []string{
				".github/contribot.yml:1:10: extends: SovereignCloudStack/.github:.github/rules.yml has problems; using the org default " + orgRules + " instead",
				`SovereignCloudStack/.github:.github/rules.yml:3:3: unknown key (not shown) in dco (known: enabled, require, remediation, skip_bots, allow, recheck_command, override)`,
			},
		},
		{
			name: "dco.yml migration without contribot.yml",
			files: map[string]string{
				repoDCO: "allowRemediationCommits:\n  individual: true\n",
			},
			want:    func(d *rules.DCO) { d.Remediation.Individual = true },
			sources: map[string]string{"dco.remediation.individual": ".github/dco.yml:2:15"},
		},
		{
			name: "dco.yml migration with a contribot.yml that has no dco section",
			files: map[string]string{
				repoFile: "extends: \"\"\n",
				repoDCO:  "require:\n  members: false\n",
			},
			want: func(d *rules.DCO) { d.Require.Members = false },
		},
		{
			name: "dco.yml is not read once contribot.yml has a dco section",
			files: map[string]string{
				repoFile: "dco:\n  skip_bots: false\n",
				repoDCO:  "require:\n  members: false\n",
			},
			want:    func(d *rules.DCO) { d.SkipBots = false },
			notRead: []string{repoDCO},
		},
		{
			name: "org dco.yml applies while the org file has no dco section",
			files: map[string]string{
				orgDCO: "require:\n  members: false\n",
			},
			want:    func(d *rules.DCO) { d.Require.Members = false },
			sources: map[string]string{"dco.require.members": orgDCO + ":2:12"},
		},
		{
			name: "broken dco.yml is reported and skipped",
			files: map[string]string{
				repoDCO: "require: {members: maybe}\n",
			},
			want:     func(*rules.DCO) {},
			problems: []string{`.github/dco.yml:1:20: require.members: want a boolean (true or false), got "maybe"`},
		},
		{
			name: "the .github repository's own rules are the org default",
			repo: ".github",
			files: map[string]string{
				orgRules: "locked: [dco]\ndco:\n  override: false\n",
			},
			want:    func(d *rules.DCO) { d.Override = false },
			sources: map[string]string{"dco.override": ".github/contribot.yml:3:13"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.repo == "" {
				tt.repo = "docs"
			}
			g := newFake(tt.files)
			l, _ := newLoader()
			ld := mustLoad(t, l, g, tt.repo)

			want := rules.BuiltinLayer().File.Rules.DCO
			want.Allow.Logins = append([]string(nil), want.Allow.Logins...)
			tt.want(&want)
			if !reflect.DeepEqual(ld.Rules.DCO, want) {
				t.Errorf("DCO = %+v\nwant  %+v", ld.Rules.DCO, want)
			}
			if got := messages(ld.Problems); !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("Problems = %q\nwant %q", got, tt.problems)
			}
			if got := messages(ld.Warnings); !reflect.DeepEqual(got, tt.warnings) {
				t.Errorf("Warnings = %q\nwant %q", got, tt.warnings)
			}
			for path, origin := range tt.sources {
				o := ld.Sources[path]
				if (origin == rules.BuiltinName && o.File != origin) || (origin != rules.BuiltinName && o.String() != origin) {
					t.Errorf("Sources[%q] = %s, want %s", path, o, origin)
				}
			}
			reads := g.reads()
			for _, key := range tt.notRead {
				if reads[key] != 0 {
					t.Errorf("%s was read", key)
				}
			}
		})
	}
}

func TestFetchError(t *testing.T) {
	down := errors.New("503 Service Unavailable")
	repoFile := "SovereignCloudStack/docs:" + rules.DefaultPath
	g := newFake(map[string]string{repoFile: "dco: {}\n"})
	g.fail[repoFile] = down
	l, _ := newLoader()

	_, err := l.Load(context.Background(), g, org, "docs")
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want it to wrap %v", err, down)
	}
	if want := "load rules of SovereignCloudStack/docs: read SovereignCloudStack/docs:.github/contribot.yml: 503 Service Unavailable"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	// Failures are not cached: the next event tries again.
	delete(g.fail, repoFile)
	g.reads()
	if _, err := l.Load(context.Background(), g, org, "docs"); err != nil {
		t.Fatal(err)
	}
	if n := g.reads()[repoFile]; n != 1 {
		t.Errorf("repository file read %d times after a failure, want 1", n)
	}
}

func TestConcurrentLoadsShareReads(t *testing.T) {
	g := newFake(map[string]string{orgRules: "dco: {}\n"})
	g.gate = make(chan struct{})
	l, _ := newLoader()

	const n = 20
	var wg sync.WaitGroup
	results := make([]*Loaded, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ld, err := l.Load(context.Background(), g, org, "docs")
			if err != nil {
				t.Error(err)
			}
			results[i] = ld
		}()
	}
	// Let the loads pile up on the first read before releasing it.
	waitFor(t, func() bool { return reads(g, orgRules) == 1 })
	time.Sleep(20 * time.Millisecond)
	close(g.gate)
	wg.Wait()

	for key, count := range g.reads() {
		if count != 1 {
			t.Errorf("%s read %d times by %d concurrent loads, want 1", key, count, n)
		}
	}
	for i := range results {
		if results[i] != results[0] {
			t.Fatalf("load %d got a different result", i)
		}
	}
}

func TestInvalidateDuringLoad(t *testing.T) {
	// A load that read the old file before a push must not cache it.
	repoFile := "SovereignCloudStack/docs:" + rules.DefaultPath
	g := newFake(map[string]string{repoFile: "dco:\n  override: true\n"})
	g.gate, g.gateOnly = make(chan struct{}), repoFile
	l, _ := newLoader()

	done := make(chan *Loaded)
	go func() {
		ld, err := l.Load(context.Background(), g, org, "docs")
		if err != nil {
			t.Error(err)
		}
		done <- ld
	}()
	// The load has the old content in hand when the push arrives.
	waitFor(t, func() bool { return reads(g, repoFile) == 1 })
	g.set(repoFile, "dco:\n  override: false\n")
	l.Invalidate(org, "docs")
	close(g.gate)
	if ld := <-done; !ld.Rules.DCO.Override {
		t.Fatal("the in-flight load should have read the old file")
	}

	if ld := mustLoad(t, l, g, "docs"); ld.Rules.DCO.Override {
		t.Error("a load that started before Invalidate was cached")
	}
}

func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	g := newFake(map[string]string{})
	g.gate = make(chan struct{})
	l, _ := newLoader()

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := l.Load(ctx, g, org, "docs")
		first <- err
	}()
	waitFor(t, func() bool { return reads(g, orgRules) == 1 })
	second := make(chan error)
	go func() {
		_, err := l.Load(context.Background(), g, org, "docs")
		second <- err
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v, want context.Canceled", err)
	}
	close(g.gate)
	if err := <-second; err != nil {
		t.Errorf("the other caller failed with the first caller's cancellation: %v", err)
	}
}

func TestExtendsTargetCachedPerReadingOwner(t *testing.T) {
	// Owners read files with their own installation, so one owner's read
	// must not answer for another, whatever a file names.
	shared := "osism/.github:.github/contribot.yml"
	g := newFake(map[string]string{
		"SovereignCloudStack/docs:" + rules.DefaultPath: "extends: osism/.github\n",
		"osism/docs:" + rules.DefaultPath:               "extends: osism/.github\n",
		shared:                                          "dco: {override: false}\n",
	})
	l, _ := newLoader()
	mustLoad(t, l, g, "docs")
	if n := g.reads()[shared]; n != 0 {
		t.Errorf("another org's file was read %d times", n)
	}
	if _, err := l.Load(context.Background(), g, "osism", "docs"); err != nil {
		t.Fatal(err)
	}
	if n := g.reads()[shared]; n != 1 {
		t.Errorf("the org's own file read %d times, want once", n)
	}
}

func TestParseCacheByContent(t *testing.T) {
	same := "dco:\n  skip_bots: false\n"
	g := newFake(map[string]string{
		"SovereignCloudStack/a:" + rules.DefaultPath: same,
		"SovereignCloudStack/b:" + rules.DefaultPath: same,
		"SovereignCloudStack/c:" + rules.DefaultPath: "dco: {}\n",
	})
	l, c := newLoader()
	for _, repo := range []string{"a", "b", "c"} {
		mustLoad(t, l, g, repo)
	}
	if n := len(l.parsed); n != 2 {
		t.Errorf("%d parses cached for 2 distinct contents", n)
	}
	// Entries nobody asked for within a TTL are swept.
	c.advance(2 * time.Minute)
	mustLoad(t, l, g, "a")
	if n := len(l.parsed); n != 1 {
		t.Errorf("%d parses cached after the sweep, want 1", n)
	}
	if n := len(l.repos); n != 1 {
		t.Errorf("%d results cached after the sweep, want 1", n)
	}
}

func TestIsRulesPath(t *testing.T) {
	tests := []struct {
		repo, path string
		want       bool
	}{
		{"standards", ".github/contribot.yml", true},
		{"standards", ".github/dco.yml", true},
		{"standards", "contribot.yml", false},
		{"standards", ".github/contribot.yaml", false},
		{"standards", "docs/.github/dco.yml", false},
		{"standards", ".github/workflows/x.yml", false},
		// extends may name a rules file of the org's .github repository,
		// and nothing else there.
		{".github", ".github/strict.yml", true},
		{".GitHub", ".github/strict.yaml", true},
		{".github", "rules/strict.yml", false},
		{".github", "README.md", false},
		{".github", ".github/workflows/x.yml", false},
	}
	for _, tt := range tests {
		if got := IsRulesPath(tt.repo, tt.path); got != tt.want {
			t.Errorf("IsRulesPath(%q, %q) = %v, want %v", tt.repo, tt.path, got, tt.want)
		}
	}
}

func reads(g *fakeGitHub, key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[key]
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// A repository maintainer turns DCO off while the org file is broken: the
// org's locks must hold through a typo, whether or not this process has
// seen a version of the org file that parsed.
func TestLoad_RepositoryMaintainerTurnsDCOOffWhileTheOrgFileIsBroken(t *testing.T) {
	repoFile := "SovereignCloudStack/docs:" + rules.DefaultPath
	broken := []struct {
		name, org string
		// locked is what the broken file alone locks, line is where the
		// check run sends the org admin.
		locked []string
		line   string
	}{
		{"a typo beside locked", "locked: [dco]\ndco:\n  enabled: ture\n", []string{"dco"}, orgRules + ":3:12:"},
		{"an unknown key beside locked", "locked: [dco]\ndcoo: {}\n", []string{"dco"}, orgRules + ":2:1:"},
		{"a YAML syntax error", "locked: [dco]\ndco: {enabled: true\n", rules.Lockable(), orgRules + ":2: YAML syntax error"},
		{"locked is not a list", "locked: dco\nlabels: {enabled: false}\n", []string{"dco", "labels"}, orgRules + ":1:9:"},
		{"locked names an unknown section", "locked: [dco, lables]\n", []string{"dco"}, orgRules + ":1:15:"},
		{"locked is misspelt", "lockd: [dco]\n", []string{"dco"}, orgRules + ":1:1:"},
		{"locked is an alias", "x: &l [dco]\nlocked: *l\n", []string{"dco"}, orgRules + ":1:4:"},
		{"the file is a list", "- locked: [dco]\n", rules.Lockable(), orgRules + ":1:1:"},
		// Issue 11 review (B6): the locked list is where Parse does not
		// look for it, and the file holds no readable top-level list.
		{"locked indented under dco", "dco:\n  remediation:\n    individual: true\n  locked: [dco]\n", []string{"dco"}, orgRules + ":4:3:"},
		{"locked indented under labels", "labels:\n  enabled: true\n  locked: [dco]\n", []string{"dco", "labels"}, orgRules + ":3:3:"},
		{"locked in a second document", "dco:\n  remediation: {individual: true}\n---\nlocked: [dco]\n", []string{"dco"}, orgRules + ":4:1:"},
		{"locked misspelt inside a section", "welcome:\n  enabled: true\n  lockd: [dco]\n", []string{"dco", "welcome"}, orgRules + ":3:3:"},
		{"a top-level locked list beside a misspelt one", "locked: [welcome]\nlockd: [dco]\n", []string{"dco", "welcome"}, orgRules + ":2:1:"},
	}
	repoFiles := map[string]map[string]string{
		"dco.enabled: false": {repoFile: "dco:\n  enabled: false\n"},
		"extends: none":      {repoFile: "extends: none\ndco:\n  enabled: false\n"},
		"extends another .github file that turns DCO off": {
			repoFile: "extends: SovereignCloudStack/.github:.github/off.yml\n",
			"SovereignCloudStack/.github:.github/off.yml": "dco:\n  enabled: false\n",
		},
	}
	for _, b := range broken {
		for rname, files := range repoFiles {
			t.Run(b.name+"/"+rname, func(t *testing.T) {
				check := func(t *testing.T, ld *Loaded, headline string, locked []string) {
					t.Helper()
					if !ld.Rules.DCO.Enabled {
						t.Errorf("DCO is off: %+v", ld.Rules.DCO)
					}
					for _, s := range locked {
						if !slices.Contains(ld.Rules.Locked, s) {
							t.Errorf("Locked = %q, want %s among them", ld.Rules.Locked, s)
						}
					}
					got := messages(ld.Problems)
					if len(got) < 2 || !strings.HasPrefix(got[0], orgRules+": "+headline) {
						t.Fatalf("Problems = %q, want first %q", got, orgRules+": "+headline)
					}
					if !slices.ContainsFunc(got[1:], func(m string) bool { return strings.HasPrefix(m, b.line) }) {
						t.Errorf("Problems = %q, want one at %s", got, b.line)
					}
				}
				t.Run("no good version known (after a restart)", func(t *testing.T) {
					g := newFake(maps.Clone(files))
					g.set(orgRules, b.org)
					l, _ := newLoader()
					check(t, mustLoad(t, l, g, "docs"), "the org rules", b.locked)
				})
				t.Run("the last good version applies", func(t *testing.T) {
					g := newFake(maps.Clone(files))
					g.set(orgRules, "locked: [dco]\ndco:\n  remediation:\n    individual: true\n")
					l, _ := newLoader()
					mustLoad(t, l, g, "docs")
					g.set(orgRules, b.org)
					l.Invalidate(org, ".github")
					ld := mustLoad(t, l, g, "docs")
					check(t, ld, "the org rules do not parse and are skipped; until they are fixed, their last version that parsed applies instead, with its locks (dco)", []string{"dco"})
					if !ld.Rules.DCO.Remediation.Individual {
						t.Errorf("the last good version's dco settings are lost: %+v", ld.Rules.DCO)
					}
				})
			})
		}
	}
}

// An org that deletes its file and later pushes a broken one gets the
// broken file's own locks, not those of a file it removed.
func TestLoad_DeletedOrgFileForgetsItsLastGoodVersion(t *testing.T) {
	g := newFake(map[string]string{orgRules: "locked: [labels]\n"})
	l, _ := newLoader()
	mustLoad(t, l, g, "docs")
	g.mu.Lock()
	delete(g.files, orgRules)
	g.mu.Unlock()
	l.Invalidate(org, ".github")
	mustLoad(t, l, g, "docs")
	g.set(orgRules, "locked: [dco]\ndco: {enabled: ture}\n")
	l.Invalidate(org, ".github")
	ld := mustLoad(t, l, g, "docs")
	if !reflect.DeepEqual(ld.Rules.Locked, []string{"dco"}) {
		t.Errorf("Locked = %q, want [dco] from the broken file alone", ld.Rules.Locked)
	}
}

// A repository maintainer spells extends every way that might reach
// another org's repository, a private one, or a file of the org's .github
// that is no rules file (issue 11 review): nothing but the org default
// and the repository's own files is read, and no text of those others
// shows.
func TestLoad_RepositoryMaintainersExtendsSpellingsReadNothingElse(t *testing.T) {
	const secret = "TOPSECRET-hunter2"
	allowed := map[string]bool{
		strings.ToLower(orgRules): true, strings.ToLower("SovereignCloudStack/.github:" + rules.ProbotDCOPath): true,
		strings.ToLower("SovereignCloudStack/docs:" + rules.DefaultPath): true, strings.ToLower("SovereignCloudStack/docs:" + rules.ProbotDCOPath): true,
	}
	for _, ext := range []string{
		"Other/.github", "OTHER/.GITHUB", "other/.github:.github/contribot.yml",
		"SovereignCloudStack/.github/", "SovereignCloudStack/.github:../private/.env", "SovereignCloudStack/.github:./x",
		"SovereignCloudStack/.github:/x", "SovereignCloudStack/.github:x/", "SovereignCloudStack/.github:x/..//x",
		"SovereignCloudStack/private:.env", "SovereignCloudStack/.github.git", "https://github.com/Other/.github",
		"github.com/Other/.github", "SovereignCloudStack/%2egithub", "SovereignCloudStack/.githuƅ",
		"SovereignCloudStack/.GITHUB:x", "SovereignCloudStack/.github:%2e%2e/private", "SovereignCloudStack/.github:secret.json",
		"SovereignCloudStack/.github:.github/workflows/deploy.yml", "SovereignCloudStack/.github:.github/x.yml?ref=evil",
		"\u212aovereignCloudStack/.github", "SovereignCloudStack /.github", " SovereignCloudStack/.github",
		"SovereignCloudStack/.github:..", "SovereignCloudStack\\.github", "SovereignCloudStack/.github\x00:x", "None", "none ",
	} {
		t.Run(ext, func(t *testing.T) {
			g := newFake(map[string]string{
				"Other/.github:.github/contribot.yml":                      "x: " + secret + "\n",
				"SovereignCloudStack/private:.env":                         "x: " + secret + "\n",
				"SovereignCloudStack/.github:secret.json":                  `{"x": "` + secret + `"}` + "\n",
				"SovereignCloudStack/.github:.github/workflows/deploy.yml": "x: " + secret + "\n",
				"SovereignCloudStack/docs:" + rules.DefaultPath:            "extends: " + strconv.Quote(ext) + "\n",
			})
			l, _ := newLoader()
			ld := mustLoad(t, l, g, "docs")
			for key := range g.reads() {
				if !allowed[strings.ToLower(key)] {
					t.Errorf("read %s", key)
				}
			}
			if all := strings.Join(append(messages(ld.Problems), messages(ld.Warnings)...), "\n"); strings.Contains(all, secret) {
				t.Errorf("the secret shows: %s", all)
			}
		})
	}
}
