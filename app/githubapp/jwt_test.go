package githubapp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewValidatesCredentials(t *testing.T) {
	ecDER, err := x509.MarshalECPrivateKey(mustECKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(mustECKey(t))
	if err != nil {
		t.Fatal(err)
	}
	// One line with literal "\n", as some secret stores flatten it.
	flattened := bytes.ReplaceAll(bytes.TrimSpace(pkcs1PEM()), []byte("\n"), []byte(`\n`))

	tests := []struct {
		name    string
		appID   int64
		key     []byte
		baseURL string
		wantIs  error
		wantMsg string
	}{
		{name: "PKCS#1 key", appID: 1, key: pkcs1PEM()},
		{name: "PKCS#8 key", appID: 1, key: pkcs8PEM(t)},
		{name: "flattened PEM with literal newlines", appID: 1, key: flattened},
		{name: "missing app id", appID: 0, key: pkcs1PEM(), wantIs: ErrMissingAppID, wantMsg: "GITHUB_APP_ID is not set"},
		{name: "negative app id", appID: -3, key: pkcs1PEM(), wantMsg: "GITHUB_APP_ID must be a positive integer"},
		{name: "missing key", appID: 1, key: nil, wantIs: ErrMissingPrivateKey, wantMsg: "GITHUB_PRIVATE_KEY is not set"},
		{name: "blank key", appID: 1, key: []byte(" \n"), wantIs: ErrMissingPrivateKey},
		{name: "not PEM", appID: 1, key: []byte("hunter2-not-a-key"), wantIs: ErrInvalidPrivateKey,
			wantMsg: "GITHUB_PRIVATE_KEY is not a PEM-encoded RSA key: no PEM block found"},
		{name: "EC key", appID: 1, key: ecPEM, wantIs: ErrInvalidPrivateKey, wantMsg: `PEM block of type "EC PRIVATE KEY"`},
		{name: "EC key in PKCS#8", appID: 1, key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8}),
			wantIs: ErrInvalidPrivateKey, wantMsg: "GitHub Apps use RSA"},
		{name: "corrupt PKCS#1 body", appID: 1,
			key:    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("garbage")}),
			wantIs: ErrInvalidPrivateKey, wantMsg: "PKCS#1 block does not parse"},
		{name: "bad API URL scheme", appID: 1, key: pkcs1PEM(), baseURL: "ftp://example.com/", wantMsg: "is not an http(s) URL"},
		{name: "API URL with credentials", appID: 1, key: pkcs1PEM(), baseURL: "https://user:pw@ghes.example.com/",
			wantMsg: "must not contain credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, err := New(Config{AppID: tt.appID, PrivateKey: tt.key, BaseURL: tt.baseURL},
				WithRegisterer(prometheus.NewRegistry()))
			if tt.wantIs == nil && tt.wantMsg == "" {
				if err != nil || app == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q repeats URL credentials", err)
			}
		})
	}
}

func mustECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestJWTClaimsAndReuse(t *testing.T) {
	clock := newFakeClock()
	t0 := clock.Now()
	src := newJWTSource(testAppID, testKey(), clock.Now)

	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyAppJWT(first, t0); err != nil {
		t.Fatalf("JWT does not verify: %v", err)
	}
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(first, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != "42" {
		t.Errorf("iss = %q, want \"42\"", claims.Issuer)
	}
	if got, want := claims.IssuedAt.Time, t0.Add(-60*time.Second); !got.Equal(want) {
		t.Errorf("iat = %s, want %s (60s backdated)", got, want)
	}
	if got, want := claims.ExpiresAt.Time, t0.Add(9*time.Minute); !got.Equal(want) {
		t.Errorf("exp = %s, want %s", got, want)
	}

	steps := []struct {
		advance time.Duration
		same    bool
	}{
		{advance: 7*time.Minute + 59*time.Second, same: true}, // 1m01s left: reuse
		{advance: 2 * time.Second, same: false},               // 59s left: renew
	}
	prev := first
	for _, s := range steps {
		clock.Advance(s.advance)
		tok, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		if (tok == prev) != s.same {
			t.Errorf("after %s: reused = %v, want %v", clock.Now().Sub(t0), tok == prev, s.same)
		}
		prev = tok
	}

	src.Invalidate(prev)
	// RS256 signatures are deterministic, so a renewed JWT only differs
	// from the old one if its claims do.
	clock.Advance(time.Second)
	again, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if again == prev {
		t.Error("Invalidate did not drop the JWT")
	}
}
