package queue

import (
	"testing"
	"time"
)

func TestJitterScheduleSpreadsWithinBounds(t *testing.T) {
	tests := []struct {
		every  time.Duration
		jitter float64
	}{
		{time.Hour, 0},
		{time.Hour, 0.1},
		{time.Hour, 0.5},
		{time.Minute, 0.5},
	}
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		s := jitterSchedule{every: tt.every, jitter: tt.jitter}
		lo := time.Duration(float64(tt.every) * (1 - tt.jitter))
		hi := time.Duration(float64(tt.every) * (1 + tt.jitter))
		seen := map[time.Duration]bool{}
		for range 200 {
			d := s.Next(t0).Sub(t0)
			if d < lo || d > hi {
				t.Fatalf("every %s jitter %g: next in %s, outside [%s, %s]", tt.every, tt.jitter, d, lo, hi)
			}
			seen[d] = true
		}
		if tt.jitter == 0 && len(seen) != 1 {
			t.Errorf("no jitter, yet %d different intervals", len(seen))
		}
		if tt.jitter > 0 && len(seen) < 100 {
			t.Errorf("every %s jitter %g: only %d different intervals in 200; the spread does not spread", tt.every, tt.jitter, len(seen))
		}
	}
}
