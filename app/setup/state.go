package setup

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The registration form's state is signed and self-contained, so that no
// request can evict another's (a store in memory had room for a thousand,
// and /setup is public) and any replica can check a state another issued.
//
// A state is base64url(version | expiry | SHA-256(nonce) | HMAC). The
// nonce is random and lives only in the browser's HttpOnly cookie; the
// state travels through GitHub's URL, so it carries the nonce's hash, not
// the nonce: seeing a state does not let anyone forge the cookie.
const (
	stateVersion = 1
	statePayload = 1 + 8 + sha256.Size
	stateLen     = statePayload + sha256.Size
)

// stateKeyLabel separates the state key from the webhook secret it is
// derived from: a signed state is not a webhook signature, and signing
// states never exposes the secret itself.
const stateKeyLabel = "contribot/setup/state/v1"

// deriveStateKey is HMAC-SHA256(secret, label): the same on every replica
// that shares the secret, and unknown to anyone who does not know it.
func deriveStateKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(stateKeyLabel))
	return m.Sum(nil)
}

// Why a state is refused; the log says which, the page does not.
var (
	errStateForged   = errors.New("the state is garbled or not signed by this deployment")
	errStateExpired  = errors.New("the state has expired")
	errStateNoCookie = errors.New("the browser has no state cookie")
	errStateCookie   = errors.New("the state was issued to another browser")
)

// states signs and checks the registration form's states. It keeps
// nothing: a state is valid until it expires, in the browser holding its
// cookie, which the callback deletes.
type states struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func newStates(secret []byte, ttl time.Duration, now func() time.Time) *states {
	return &states{key: deriveStateKey(secret), ttl: ttl, now: now}
}

func (s *states) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)
}

func nonceHash(nonce string) [sha256.Size]byte { return sha256.Sum256([]byte(nonce)) }

// issue mints a state and the nonce for the browser's cookie.
func (s *states) issue() (state, nonce string, err error) {
	var n [32]byte
	if _, err := rand.Read(n[:]); err != nil {
		return "", "", fmt.Errorf("mint a setup state: %w", err)
	}
	nonce = base64.RawURLEncoding.EncodeToString(n[:])
	b := make([]byte, 0, stateLen)
	b = append(b, stateVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(s.now().Add(s.ttl).Unix()))
	h := nonceHash(nonce)
	b = append(b, h[:]...)
	b = append(b, s.sign(b)...)
	return base64.RawURLEncoding.EncodeToString(b), nonce, nil
}

// check reports why state may not complete a flow in the browser whose
// cookie holds nonce, or nil when it may.
func (s *states) check(state, nonce string) error {
	b, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || len(b) != stateLen {
		return errStateForged
	}
	payload, sig := b[:statePayload], b[statePayload:]
	if !hmac.Equal(sig, s.sign(payload)) || payload[0] != stateVersion {
		return errStateForged
	}
	if expires := int64(binary.BigEndian.Uint64(payload[1:9])); s.now().Unix() >= expires {
		return errStateExpired
	}
	if nonce == "" {
		return errStateNoCookie
	}
	if h := nonceHash(nonce); !hmac.Equal(h[:], payload[9:]) {
		return errStateCookie
	}
	return nil
}
