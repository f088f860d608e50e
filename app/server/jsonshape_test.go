package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unbounded lifts the bounds a test case does not look at.
const unbounded = 1 << 30

func TestCheckShape(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	list := func(elem string, n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	small := shapeLimits{depth: MaxDepth, elements: 3, values: 10}
	tests := []struct {
		name   string
		json   string
		limits shapeLimits
		want   shapeProblem
	}{
		{"flat object", `{"a":1,"b":"x"}`, defaultShape, shapeOK},
		{"exactly the depth limit", nest("[", "]", MaxDepth), defaultShape, shapeOK},
		{"anyone with the secret: one level past the limit", nest("[", "]", MaxDepth+1), defaultShape, shapeTooDeep},
		{"anyone with the secret: objects past the limit", nest(`{"a":`, "}", MaxDepth+1), defaultShape, shapeTooDeep},
		{"anyone with the secret: unclosed brackets", strings.Repeat("[", MaxDepth+1), defaultShape, shapeTooDeep},
		{"anyone with the secret: 8 million levels", nest("[", "]", 8_000_000), defaultShape, shapeTooDeep},
		{"brackets inside a string do not count", `{"title":"` + strings.Repeat("[{", 10_000) + `"}`, defaultShape, shapeOK},
		{"escaped quote does not end the string", `{"t":"\"` + strings.Repeat("[", 100) + `"}`, defaultShape, shapeOK},
		{"escaped backslash ends the string", `{"t":"\\"` + `,"x":` + nest("[", "]", MaxDepth) + `}`, defaultShape, shapeTooDeep},
		{"three backslashes and a quote stay inside", `{"t":"\\\"[[[[","x":1}`, defaultShape, shapeOK},
		{"unicode-escaped quote stays inside", `["\u0022` + strings.Repeat("[", 100) + `"]`, defaultShape, shapeOK},
		{"invalid UTF-8 in a string is skipped like any byte", "[\"\xff\xfe\"," + nest("[", "]", MaxDepth) + "]", defaultShape, shapeTooDeep},
		{"unterminated string", `{"t":"[[[[`, defaultShape, shapeOK},
		{"closing brackets only", strings.Repeat("]", 1000), defaultShape, shapeOK},
		{"closers first do not hide the nesting after them", strings.Repeat("]", 1000) + nest("[", "]", MaxDepth+1), defaultShape, shapeTooDeep},
		{"three elements", `[1,2,3]`, small, shapeOK},
		{"four elements", `[1,2,3,4]`, small, shapeTooManyElements},
		{"four members", `{"a":1,"b":2,"c":3,"d":4}`, small, shapeTooManyElements},
		{"commas inside strings do not count", `["a,b,c,d,e,f"]`, small, shapeOK},
		{"empty containers hold nothing", `[[],{},[ ],{ }]`, shapeLimits{depth: MaxDepth, elements: 4, values: 5}, shapeOK},
		{"ten values", `[[1,2],[3,4],[5,6]]`, small, shapeOK},
		{"eleven values", `[[1,2],[3,4],[5,6,7]]`, small, shapeTooManyValues},
		{"anyone with the secret: 8 million empty objects in one array", list("{}", 8_000_000), defaultShape, shapeTooManyElements},
		{"anyone with the secret: elements at the limit", list("{}", MaxElements), defaultShape, shapeOK},
		{"anyone with the secret: one element past the limit", list("{}", MaxElements+1), defaultShape, shapeTooManyElements},
		{"anyone with the secret: many arrays within the element limit, past the value limit",
			"[" + strings.TrimSuffix(strings.Repeat(list("0", MaxElements/2)+",", 2*MaxValues/MaxElements+1), ",") + "]", defaultShape, shapeTooManyValues},
		{"anyone with the secret: a map of a million keys", "{" + strings.TrimSuffix(strings.Repeat(`"k":true,`, 1_000_000), ",") + "}", defaultShape, shapeTooManyElements},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkShape([]byte(tt.json), tt.limits); got != tt.want {
				t.Errorf("checkShape = %v, want %v", got, tt.want)
			}
		})
	}
}

// shape is what a strict streaming parser meets in b before its first
// error (or the end): what a decoder would build from it.
type shape struct {
	depth, elements, values int
	valid                   bool
}

func shapeOf(b []byte) shape {
	d := json.NewDecoder(bytes.NewReader(b))
	var s shape
	// counts[i] is the elements seen in the open container at depth i+1;
	// objects alternate between expecting a key and a value.
	var counts []int
	var inObject []bool
	var wantKey []bool
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			s.valid = true
			return s
		}
		if err != nil {
			return s
		}
		n := len(counts)
		isKey := n > 0 && inObject[n-1] && wantKey[n-1]
		if dl, ok := tok.(json.Delim); ok && (dl == ']' || dl == '}') {
			counts, inObject, wantKey = counts[:n-1], inObject[:n-1], wantKey[:n-1]
			continue
		}
		if isKey {
			wantKey[n-1] = false
			continue
		}
		s.values++
		if n > 0 {
			counts[n-1]++
			s.elements = max(s.elements, counts[n-1])
			if inObject[n-1] {
				wantKey[n-1] = true
			}
		}
		if dl, ok := tok.(json.Delim); ok {
			counts, inObject, wantKey = append(counts, 0), append(inObject, dl == '{'), append(wantKey, dl == '{')
			s.depth = max(s.depth, len(counts))
		}
	}
}

// TestShape_RealPayloadsFit checks the scanner's counts against what a
// decoder meets, for every real payload (the octokit/webhooks examples in
// fixtures/github): the bounds must never refuse one of GitHub's own
// shapes, and must sit well above them.
func TestShape_RealPayloadsFit(t *testing.T) {
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
	var most shape
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := shapeOf(b)
		if !s.valid {
			continue // schemas and manifests are JSON too; non-JSON is not ours
		}
		most = shape{depth: max(most.depth, s.depth), elements: max(most.elements, s.elements), values: max(most.values, s.values)}
		exact := shapeLimits{depth: s.depth, elements: s.elements, values: s.values}
		if got := checkShape(b, exact); got != shapeOK {
			t.Errorf("%s: refused at its own shape %+v: %v", f, s, got)
		}
		for _, c := range []struct {
			limits shapeLimits
			want   shapeProblem
		}{
			{shapeLimits{s.depth - 1, unbounded, unbounded}, shapeTooDeep},
			{shapeLimits{MaxDepth, s.elements - 1, unbounded}, shapeTooManyElements},
			{shapeLimits{MaxDepth, unbounded, s.values - 1}, shapeTooManyValues},
		} {
			if got := checkShape(b, c.limits); got != c.want {
				t.Errorf("%s (shape %+v): with limits %+v got %v, want %v", f, s, c.limits, got, c.want)
			}
		}
	}
	t.Logf("%d payloads: deepest %d levels (limit %d), largest container %d elements (limit %d), most values %d (limit %d)",
		len(files), most.depth, MaxDepth, most.elements, MaxElements, most.values, MaxValues)
	if most.depth*4 > MaxDepth || most.elements*20 > MaxElements || most.values*20 > MaxValues {
		t.Errorf("real payloads reach %+v: the bounds leave too little room", most)
	}
}

// TestShape_AnyoneWithTheSecret_NoParserSeesMore: whatever the scanner
// lets through, a strict parser never meets more than the bounds before
// it stops, valid JSON or not; and valid JSON within them passes.
func TestShape_AnyoneWithTheSecret_NoParserSeesMore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	limits := shapeLimits{depth: 6, elements: 4, values: 12}
	check := func(b []byte) {
		got, s := checkShape(b, limits), shapeOf(b)
		within := s.depth <= limits.depth && s.elements <= limits.elements && s.values <= limits.values
		if got == shapeOK && !within {
			t.Errorf("%q let through; a parser meets %+v", b, s)
		}
		if got != shapeOK && s.valid && within {
			t.Errorf("%q refused (%v); valid, shape %+v", b, got, s)
		}
	}
	alphabet := []string{"[", "]", "{", "}", `"`, `\`, `\"`, `\\`, ",", ":", "1", " ", "\n", "a", `"a":`, `\u0022`, "null", "\xff"}
	for range 100_000 {
		var sb strings.Builder
		for range 1 + rng.IntN(40) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		check([]byte(sb.String()))
	}
	// Valid documents with hostile strings and whitespace.
	strs := []string{`"\\"`, `"\""`, `"[{,"`, `"\\\"]},"`, `"\u005b"`, `""`, `"\\\\"`, `1`, `null`}
	var gen func(d int) string
	gen = func(d int) string {
		if d == 0 || rng.IntN(4) == 0 {
			return strs[rng.IntN(len(strs))]
		}
		var parts []string
		obj := rng.IntN(2) == 0
		for range rng.IntN(6) {
			v := gen(d - 1)
			if obj {
				v = strs[rng.IntN(3)] + " : " + v
			}
			parts = append(parts, v)
		}
		if obj {
			return "{ " + strings.Join(parts, " ,\n") + " }"
		}
		return "[\n" + strings.Join(parts, ",") + "]"
	}
	for range 20_000 {
		b := []byte(gen(8))
		if !shapeOf(b).valid {
			t.Fatalf("generator made invalid %q", b)
		}
		check(b)
	}
}

// BenchmarkCheckShape is the check's cost on a real pull_request payload,
// as the fixture has it (indented) and as GitHub sends it (compact).
func BenchmarkCheckShape(b *testing.B) {
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
			b.ReportAllocs()
			for b.Loop() {
				if checkShape(bb.body, defaultShape) != shapeOK {
					b.Fatal("real payload refused")
				}
			}
		})
	}
}
