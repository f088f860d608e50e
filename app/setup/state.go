package setup

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// maxStates bounds the store: /setup is public while mounted, and each
// view mints a state, so a loop of requests must not grow memory.
const maxStates = 1000

// states are the CSRF tokens handed out with the registration form. They
// live in memory only: the flow runs once, in one browser, against one
// replica, and a restart simply means starting again.
type states struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]time.Time // state → expiry
}

func newStates(ttl time.Duration, now func() time.Time) *states {
	return &states{ttl: ttl, now: now, m: make(map[string]time.Time)}
}

// issue mints a fresh state. When the store is full the state closest to
// expiry goes, which is the oldest.
func (s *states) issue() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("mint a setup state: %w", err)
	}
	st := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, exp := range s.m {
		if !now.Before(exp) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxStates {
		var oldest string
		for k, exp := range s.m {
			if oldest == "" || exp.Before(s.m[oldest]) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[st] = now.Add(s.ttl)
	return st, nil
}

// consume reports whether st was issued and has not expired, and forgets
// it either way: a state works once, like GitHub's code.
func (s *states) consume(st string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.m[st]
	delete(s.m, st)
	return ok && s.now().Before(exp)
}
