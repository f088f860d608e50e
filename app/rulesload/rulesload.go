// Package rulesload loads the effective rules of a repository through
// GitHub: built-in ⊕ org default (or the extends target) ⊕ the repository's
// .github/contribot.yml, with the Probot .github/dco.yml migration. Results
// are cached so that an event for a known repository costs no GitHub call.
package rulesload

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/SovereignCloudStack/contribot/rules"
)

// Fetcher reads a file from a repository's default branch. found=false on 404.
type Fetcher interface {
	GetFile(ctx context.Context, owner, repo, path string) (content []byte, found bool, err error)
}

// Options configures a Loader.
type Options struct {
	// TTL bounds how long a rules file or a merged result is reused; push
	// events invalidate sooner. Default 5 minutes.
	TTL time.Duration
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Loaded is the effective rules of one repository. It is shared by every
// caller until it expires: treat it as read-only.
type Loaded struct {
	rules.Result
	// Read lists every file consulted, found or not, in the order read, for
	// explanation and for invalidation.
	Read []Read
}

// Read is one file that a load consulted.
type Read struct {
	rules.Target
	Found bool
}

// Loader loads and caches rules. It is safe for concurrent use; one Loader
// serves all jobs of the process.
type Loader struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	// gen counts invalidations, so that a load or fetch that started before
	// one does not store what it read afterwards.
	gen       uint64
	repos     map[repoKey]*repoEntry
	files     map[fileKey]*fileEntry
	parsed    map[parseKey]*parseEntry
	nextSweep time.Time
	// lastGood is, per owner (in lower case), the last content of the org
	// default that parsed: what applies while a later push does not
	// parse. It outlives TTLs and invalidations, not the process.
	lastGood map[string][]byte

	loads   singleflight.Group
	fetches singleflight.Group
}

// repoKey names a repository case-insensitively, as GitHub does.
type repoKey struct{ owner, repo string }

func keyOf(owner, repo string) repoKey {
	return repoKey{strings.ToLower(owner), strings.ToLower(repo)}
}

type repoEntry struct {
	loaded  *Loaded
	expires time.Time
}

// fileKey is one file as read on behalf of one owner: an extends target in
// another owner's repository is read with the reading owner's installation,
// so what one installation may read must not be served to another.
type fileKey struct {
	via    string
	target repoKey
	path   string
}

type fileEntry struct {
	content []byte
	found   bool
	expires time.Time
}

// parseKey identifies a parse by content: the org default, and repository
// files that were copied around, are parsed once however many repositories
// read them. The name is part of it because errors carry it.
type parseKey struct {
	probot, redact bool
	name           string
	sum            [sha256.Size]byte
}

type parseEntry struct {
	file     *rules.File
	err      error
	lastUsed time.Time
}

// New returns a Loader with an empty cache.
func New(opts Options) *Loader {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Loader{
		ttl:      opts.TTL,
		now:      opts.Now,
		repos:    map[repoKey]*repoEntry{},
		files:    map[fileKey]*fileEntry{},
		parsed:   map[parseKey]*parseEntry{},
		lastGood: map[string][]byte{},
	}
}

// IsRulesPath tells whether a path changed in repo can change rules: a
// repository's own ".github/contribot.yml" or ".github/dco.yml", or, in the
// org's .github repository, any file extends may name.
func IsRulesPath(repo, p string) bool {
	return p == rules.DefaultPath || p == rules.ProbotDCOPath || strings.EqualFold(repo, rules.OrgRepo) && rules.Extendable(p)
}

// Invalidate drops cached rules after a push to the default branch that
// touched a rules file: the repository's files and every merged result
// that read one of its files. Every result reads the org default, so
// invalidating repo ".github" drops the results of the whole owner.
func (l *Loader) Invalidate(owner, repo string) {
	k := keyOf(owner, repo)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	for fk := range l.files {
		if fk.target == k {
			delete(l.files, fk)
		}
	}
	for rk, e := range l.repos {
		if readFrom(e.loaded, k) {
			delete(l.repos, rk)
		}
	}
}

// readFrom reports whether a result read any file of the repository, such
// as another repository's file that it extends.
func readFrom(ld *Loaded, k repoKey) bool {
	for _, t := range ld.Read {
		if keyOf(t.Owner, t.Repo) == k {
			return true
		}
	}
	return false
}

// Load returns the effective rules for owner/repo: built-in ⊕ org (.github repo or extends target) ⊕ repo .github/contribot.yml, with .github/dco.yml migration.
//
// A file that does not parse is left out as a whole and its problems are in
// Loaded.Problems; the other layers still apply, and the built-in layer
// always does, so a broken file never switches DCO off. err is non-nil only
// when GitHub could not be read. Concurrent loads of one repository share
// one set of reads; f is the fetcher of whichever caller started them.
func (l *Loader) Load(ctx context.Context, f Fetcher, owner, repo string) (*Loaded, error) {
	k := keyOf(owner, repo)
	l.mu.Lock()
	now := l.now()
	l.sweep(now)
	if e, ok := l.repos[k]; ok && now.Before(e.expires) {
		l.mu.Unlock()
		return e.loaded, nil
	}
	gen := l.gen
	l.mu.Unlock()

	flight := fmt.Sprintf("%d\x00%s\x00%s", gen, k.owner, k.repo)
	ld, err := shared(ctx, &l.loads, flight, func(ctx context.Context) (*Loaded, error) {
		ld, err := l.assemble(ctx, f, owner, repo)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.gen == gen {
			l.repos[k] = &repoEntry{loaded: ld, expires: l.now().Add(l.ttl)}
		}
		l.mu.Unlock()
		return ld, nil
	})
	if err != nil {
		return nil, fmt.Errorf("load rules of %s/%s: %w", owner, repo, err)
	}
	return ld, nil
}

// sharedTimeout bounds one shared read of the rules.
const sharedTimeout = 30 * time.Second

// shared runs fn once for all concurrent callers with the same key. fn runs
// without the caller's cancellation, since other callers may still wait for
// it; each caller stops waiting when its own context ends.
func shared[T any](ctx context.Context, g *singleflight.Group, key string, fn func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) {
		// Detached from any one caller, but bounded: a stalled GitHub
		// response must not block every later load of this key.
		detached, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
		defer cancel()
		return fn(detached)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var zero T
			return zero, r.Err
		}
		return r.Val.(T), nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// sweep drops expired entries once per TTL, so that repositories and file
// versions that are no longer asked for do not stay in memory.
func (l *Loader) sweep(now time.Time) {
	if now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(l.ttl)
	for k, e := range l.repos {
		if !now.Before(e.expires) {
			delete(l.repos, k)
		}
	}
	for k, e := range l.files {
		if !now.Before(e.expires) {
			delete(l.files, k)
		}
	}
	for k, e := range l.parsed {
		if now.Sub(e.lastUsed) >= l.ttl {
			delete(l.parsed, k)
		}
	}
}

// fetch reads a file through the cache; 404s are cached like content.
func (l *Loader) fetch(ctx context.Context, f Fetcher, via string, t rules.Target) ([]byte, bool, error) {
	k := fileKey{via: strings.ToLower(via), target: keyOf(t.Owner, t.Repo), path: t.Path}
	l.mu.Lock()
	if e, ok := l.files[k]; ok && l.now().Before(e.expires) {
		l.mu.Unlock()
		return e.content, e.found, nil
	}
	gen := l.gen
	l.mu.Unlock()

	flight := fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%s", gen, k.via, k.target.owner, k.target.repo, k.path)
	e, err := shared(ctx, &l.fetches, flight, func(ctx context.Context) (*fileEntry, error) {
		content, found, err := f.GetFile(ctx, t.Owner, t.Repo, t.Path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t, err)
		}
		e := &fileEntry{content: content, found: found}
		l.mu.Lock()
		e.expires = l.now().Add(l.ttl)
		if l.gen == gen {
			l.files[k] = e
		}
		l.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, false, err
	}
	return e.content, e.found, nil
}

// parse parses through the content-addressed cache; redact is for files
// of another repository (rules.ParseRedacted).
func (l *Loader) parse(probot, redact bool, name string, content []byte) (*rules.File, error) {
	k := parseKey{probot: probot, redact: redact, name: name, sum: sha256.Sum256(content)}
	l.mu.Lock()
	e, ok := l.parsed[k]
	if ok {
		e.lastUsed = l.now()
	}
	l.mu.Unlock()
	if ok {
		return e.file, e.err
	}
	var parse func(string, []byte) (*rules.File, error)
	switch {
	case probot && redact:
		parse = rules.ParseProbotDCORedacted
	case probot:
		parse = rules.ParseProbotDCO
	case redact:
		parse = rules.ParseRedacted
	default:
		parse = rules.Parse
	}
	file, err := parse(name, content)
	l.mu.Lock()
	l.parsed[k] = &parseEntry{file: file, err: err, lastUsed: l.now()}
	l.mu.Unlock()
	return file, err
}

// keepGood records the content of owner's org default after it parsed.
func (l *Loader) keepGood(owner string, content []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastGood[strings.ToLower(owner)] = content
}

// dropGood forgets owner's org default, which no longer exists.
func (l *Loader) dropGood(owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.lastGood, strings.ToLower(owner))
}

// good is the last content of owner's org default that parsed.
func (l *Loader) good(owner string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.lastGood[strings.ToLower(owner)]
	return c, ok
}
