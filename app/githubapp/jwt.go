package githubapp

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sentinel errors let the caller tell "no credentials" (run in dry-run) from
// "credentials present but broken" (refuse to start) with errors.Is.
var (
	ErrMissingAppID      = errors.New("GITHUB_APP_ID is not set")
	ErrMissingPrivateKey = errors.New("GITHUB_PRIVATE_KEY is not set")
	ErrInvalidPrivateKey = errors.New("GITHUB_PRIVATE_KEY is not a PEM-encoded RSA key")
)

const (
	// GitHub rejects App JWTs that live longer than 10 minutes; 9 leaves room
	// for our clock running ahead of GitHub's.
	jwtLifetime = 9 * time.Minute
	// Backdating iat covers our clock running behind GitHub's, as GitHub's
	// own documentation recommends.
	jwtBackdate = 60 * time.Second
	// A JWT is replaced this long before it expires so that a request signed
	// with it never arrives after exp.
	jwtRenewBefore = time.Minute
)

// parsePrivateKey reads an RSA key in PKCS#1 ("RSA PRIVATE KEY", what GitHub
// hands out) or PKCS#8 ("PRIVATE KEY", what openssl converts to) form.
// Errors name the PEM block type at most, never any key material.
func parsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, ErrMissingPrivateKey
	}
	block, _ := pem.Decode(data)
	if block == nil && bytes.Contains(data, []byte(`\n`)) {
		// Secrets stores and .env files often flatten the PEM onto one line
		// with literal "\n"; accepting that saves a confusing deploy failure.
		block, _ = pem.Decode(bytes.ReplaceAll(data, []byte(`\n`), []byte("\n")))
	}
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrInvalidPrivateKey)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS#1 block does not parse: %s", ErrInvalidPrivateKey, safeParseError(err))
		}
		return key, nil
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PKCS#8 block does not parse: %s", ErrInvalidPrivateKey, safeParseError(err))
		}
		key, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: PKCS#8 block holds a %T, GitHub Apps use RSA", ErrInvalidPrivateKey, parsed)
		}
		return key, nil
	default:
		return nil, fmt.Errorf("%w: found a PEM block of type %q", ErrInvalidPrivateKey, block.Type)
	}
}

// safeParseError keeps x509's diagnosis (it names ASN.1 structure problems,
// not key bytes) but caps its length, because nothing downstream of a key
// error should be able to grow into a dump.
func safeParseError(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// jwtSource signs App JWTs and reuses one until shortly before it expires:
// signing is cheap, but reusing keeps GitHub's view of us stable and makes
// the token endpoint's behaviour easy to reason about in tests.
type jwtSource struct {
	appID string
	key   *rsa.PrivateKey
	now   func() time.Time

	mu      sync.Mutex
	current string
	expires time.Time
}

func newJWTSource(appID int64, key *rsa.PrivateKey, now func() time.Time) *jwtSource {
	return &jwtSource{appID: strconv.FormatInt(appID, 10), key: key, now: now}
}

// Token returns a valid App JWT.
func (s *jwtSource) Token() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.current != "" && now.Before(s.expires.Add(-jwtRenewBefore)) {
		return s.current, nil
	}
	exp := now.Add(jwtLifetime)
	claims := jwt.RegisteredClaims{
		Issuer:    s.appID,
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(exp),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("signing GitHub App JWT for app %s: %w", s.appID, err)
	}
	s.current, s.expires = signed, exp
	return signed, nil
}

// Invalidate drops the cached JWT if it is still the one that GitHub
// rejected, so that the next request signs a fresh one.
func (s *jwtSource) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == token {
		s.current = ""
	}
}
