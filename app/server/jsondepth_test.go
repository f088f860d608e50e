package server

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTooDeep(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	tests := []struct {
		name string
		json string
		want bool
	}{
		{"flat object", `{"a":1,"b":"x"}`, false},
		{"exactly the limit", nest("[", "]", MaxDepth), false},
		{"anyone with the secret: one level past the limit", nest("[", "]", MaxDepth+1), true},
		{"anyone with the secret: objects past the limit", nest(`{"a":`, "}", MaxDepth+1), true},
		{"anyone with the secret: unclosed brackets", strings.Repeat("[", MaxDepth+1), true},
		{"anyone with the secret: 8 million levels", nest("[", "]", 8_000_000), true},
		{"brackets inside a string do not count", `{"title":"` + strings.Repeat("[{", 10_000) + `"}`, false},
		{"escaped quote does not end the string", `{"t":"\"` + strings.Repeat("[", 100) + `"}`, false},
		{"escaped backslash ends the string", `{"t":"\\"` + `,"x":` + nest("[", "]", MaxDepth) + `}`, true},
		{"three backslashes and a quote stay inside", `{"t":"\\\"[[[[","x":1}`, false},
		{"unterminated string", `{"t":"[[[[`, false},
		{"closing brackets only", strings.Repeat("]", 1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tooDeep([]byte(tt.json), MaxDepth); got != tt.want {
				t.Errorf("tooDeep = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRealPayloadsAreShallow checks the scanner against the depth a real
// decoder sees, for every real payload (the octokit/webhooks examples in
// fixtures/github): the limit must never refuse one of GitHub's own shapes.
func TestRealPayloadsAreShallow(t *testing.T) {
	var files []string
	m, _ := filepath.Glob(filepath.Join("..", "..", "fixtures", "github", "*", "*.json"))
	for _, f := range m {
		if !strings.Contains(f, string(filepath.Separator)+"rest"+string(filepath.Separator)) {
			files = append(files, f)
		}
	}
	if len(files) < 134 {
		t.Fatalf("found %d payload fixtures in fixtures/github, want the 134 octokit/webhooks examples", len(files))
	}
	deepest := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			continue // schemas and manifests are JSON too; non-JSON is not ours
		}
		d := depthOf(v)
		deepest = max(deepest, d)
		if tooDeep(b, d) || !tooDeep(b, d-1) {
			t.Errorf("%s: decoder depth %d, scanner disagrees", f, d)
		}
	}
	t.Logf("%d payloads, deepest nests %d levels (limit %d)", len(files), deepest, MaxDepth)
	if deepest >= MaxDepth/4 {
		t.Errorf("a real payload nests %d levels: MaxDepth %d leaves too little room", deepest, MaxDepth)
	}
}

func depthOf(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			d = max(d, depthOf(x))
		}
		return d + 1
	case []any:
		for _, x := range v {
			d = max(d, depthOf(x))
		}
		return d + 1
	}
	return 0
}

// BenchmarkTooDeep is the check's cost on a real pull_request payload, as
// the fixture has it (indented) and as GitHub sends it (compact).
func BenchmarkTooDeep(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "github", "pull_request", "synchronize.json"))
	if err != nil {
		b.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name string
		body []byte
	}{{"indented", body}, {"compact", compact.Bytes()}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				if tooDeep(bb.body, MaxDepth) {
					b.Fatal("real payload refused")
				}
			}
		})
	}
}
