package githubapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// Installation tokens live one hour. Renewing five minutes early means
	// a token handed to a request (and possibly to its retries and backoff
	// sleeps) is still valid when GitHub reads it.
	tokenRenewBefore = 5 * time.Minute
	// The token fetch is shared by every goroutine waiting on it, so it
	// cannot run on any one caller's context; it gets its own bound.
	tokenFetchTimeout = 30 * time.Second
	// Enough of an error body to read GitHub's "message" field.
	maxErrorBody = 64 << 10
)

type installationToken struct {
	token   string
	expires time.Time
}

// tokenCache holds one installation token per installation for the whole
// process. Concurrent misses for one installation share a single request
// (singleflight), so a burst of webhooks after a restart costs one token.
type tokenCache struct {
	jwt       *jwtSource
	client    *http.Client // retry+metrics stack, no auth: we set the JWT ourselves
	baseURL   *url.URL
	userAgent string
	now       func() time.Time

	group singleflight.Group

	mu     sync.Mutex
	tokens map[int64]installationToken
	// gen is bumped by every invalidation, so that a fetch which started
	// before an installation was deleted does not resurrect its token.
	gen map[int64]uint64
}

func newTokenCache(jwt *jwtSource, client *http.Client, baseURL *url.URL, userAgent string, now func() time.Time) *tokenCache {
	return &tokenCache{
		jwt:       jwt,
		client:    client,
		baseURL:   baseURL,
		userAgent: userAgent,
		now:       now,
		tokens:    make(map[int64]installationToken),
		gen:       make(map[int64]uint64),
	}
}

// Token returns a token for the installation, fetching one if none is cached
// or the cached one is within tokenRenewBefore of expiring.
func (c *tokenCache) Token(ctx context.Context, id int64) (string, error) {
	if id <= 0 {
		// Zero usually means a webhook payload without "installation"
		// reached an installation client; say so instead of asking GitHub.
		return "", fmt.Errorf("installation id must be positive, got %d", id)
	}
	c.mu.Lock()
	t, ok := c.tokens[id]
	gen := c.gen[id]
	c.mu.Unlock()
	if ok && c.now().Before(t.expires.Add(-tokenRenewBefore)) {
		return t.token, nil
	}

	key := strconv.FormatInt(id, 10)
	ch := c.group.DoChan(key, func() (any, error) {
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		defer cancel()
		t, err := c.fetch(fetchCtx, id)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.gen[id] == gen {
			c.tokens[id] = t
		}
		c.mu.Unlock()
		return t.token, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for installation token for installation %d: %w", id, ctx.Err())
	}
}

// Invalidate drops the token if it is still the one a request found
// rejected. Comparing first means that fifty requests failing with the same
// stale token cause one refresh, not fifty.
func (c *tokenCache) Invalidate(id int64, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[id]; ok && t.token == token {
		delete(c.tokens, id)
		c.gen[id]++
	}
}

// Forget drops whatever is cached for the installation, including the
// result of a fetch that is still running (installation deleted/suspended).
func (c *tokenCache) Forget(id int64) {
	c.mu.Lock()
	delete(c.tokens, id)
	c.gen[id]++
	c.mu.Unlock()
	c.group.Forget(strconv.FormatInt(id, 10))
}

type accessTokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (c *tokenCache) fetch(ctx context.Context, id int64) (installationToken, error) {
	jwt, err := c.jwt.Token()
	if err != nil {
		return installationToken{}, err
	}
	u := c.baseURL.JoinPath("app", "installations", strconv.FormatInt(id, 10), "access_tokens")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
	if err != nil {
		return installationToken{}, fmt.Errorf("building token request for installation %d: %w", id, err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.client.Do(req)
	if err != nil {
		return installationToken{}, fmt.Errorf("creating installation token for installation %d: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// A rejected JWT is usually a wrong key or app id, but a clock jump
		// can cause it too; the next attempt should sign a new one.
		c.jwt.Invalidate(jwt)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return installationToken{}, fmt.Errorf("creating installation token for installation %d: %s%s",
			id, describeResponse(resp), githubMessage(body))
	}
	var out accessTokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return installationToken{}, fmt.Errorf("decoding installation token response for installation %d: %w", id, err)
	}
	if out.Token == "" || out.ExpiresAt.IsZero() {
		return installationToken{}, fmt.Errorf("installation token response for installation %d lacks token or expires_at (request %s)",
			id, requestIDOf(resp))
	}
	return installationToken{token: out.Token, expires: out.ExpiresAt}, nil
}

// githubMessage extracts the "message" of a GitHub error body for error
// text. GitHub's messages describe the failure ("Integration not found");
// they never echo credentials.
func githubMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	msg := e.Message
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return ": " + msg
}
