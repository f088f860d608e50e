package githubapp

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// identity says on whose behalf a request is made. The shared transport
// layers below auth (ETag cache, write pacing) key their state on it rather
// than on the Authorization header, whose value rotates every hour.
type identity int64

// appIdentity is the App itself (JWT). GitHub installation ids are positive.
const appIdentity identity = 0

type identityKey struct{}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func identityFrom(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

// credentials is what authTransport needs from the JWT source and the
// installation token cache.
type credentials interface {
	token(ctx context.Context) (string, error)
	invalidate(token string)
	scheme() string
}

type installationCredentials struct {
	cache *tokenCache
	id    int64
}

func (c installationCredentials) token(ctx context.Context) (string, error) {
	return c.cache.Token(ctx, c.id)
}
func (c installationCredentials) invalidate(token string) { c.cache.Invalidate(c.id, token) }
func (c installationCredentials) scheme() string          { return "token" }

type appCredentials struct{ jwt *jwtSource }

func (c appCredentials) token(context.Context) (string, error) { return c.jwt.Token() }
func (c appCredentials) invalidate(token string)               { c.jwt.Invalidate(token) }
func (c appCredentials) scheme() string                        { return "Bearer" }

// authTransport is the outermost layer of a client: it adds credentials,
// tags the request with its identity for the shared layers below, and on a
// 401 renews the credentials once and replays the request once.
type authTransport struct {
	next  http.RoundTripper
	creds credentials
	id    identity
	// hosts are the only hosts that get credentials. GitHub redirects some
	// downloads to other hosts; the token must not follow.
	hosts map[string]bool
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.hosts[strings.ToLower(req.URL.Host)] {
		return t.next.RoundTrip(req)
	}
	tok, err := t.creds.token(req.Context())
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	resp, err := t.send(req, req.Body, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	body, ok := replayBody(req)
	if !ok {
		return resp, nil
	}
	drain(resp)
	t.creds.invalidate(tok)
	tok, err = t.creds.token(req.Context())
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	// A second 401 goes back to go-github, which turns it into an
	// *github.ErrorResponse: the installation is really gone or lacks access.
	return t.send(req, body, tok)
}

func (t *authTransport) send(req *http.Request, body io.ReadCloser, tok string) (*http.Response, error) {
	out := req.Clone(withIdentity(req.Context(), t.id))
	out.Body = body
	out.Header.Set("Authorization", t.creds.scheme()+" "+tok)
	resp, err := t.next.RoundTrip(out)
	if resp != nil {
		// Responses (and the errors go-github builds from them) point at
		// the caller's request, not our clone carrying the credential.
		resp.Request = req
	}
	return resp, err
}

// replayBody returns a fresh copy of the request body for a second attempt,
// or false when the body was a one-shot stream.
func replayBody(req *http.Request) (io.ReadCloser, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Body, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	return b, true
}

func closeRequestBody(req *http.Request) {
	// A RoundTripper must close the body even when it never sends it.
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain reads a little of a discarded response so the connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}
