package githubapp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestETagRevalidation(t *testing.T) {
	env := newTestEnv(t)
	commits := readFixture(t, "pulls-list-commits.json")

	var mu sync.Mutex
	etag, body := `W/"v1"`, commits
	full, notModified := 0, 0
	env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, _ string) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("X-RateLimit-Resource", "core")
		if r.Header.Get("If-None-Match") == etag {
			notModified++
			w.Header().Set("X-RateLimit-Remaining", "4990") // a 304 still reports the quota
			w.Header().Set("X-GitHub-Request-Id", "ETAG:304")
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full++
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("ETag", etag)
		writeJSON(w, http.StatusOK, string(body))
	})
	change := func() {
		mu.Lock()
		defer mu.Unlock()
		etag, body = `W/"v2"`, []byte(`[]`)
	}

	steps := []struct {
		name         string
		before       func()
		installation int64
		wantCommits  int
		wantFull     int
		wantNotMod   int
		wantCacheHdr string
	}{
		{name: "first read is a full 200", installation: 1, wantCommits: 1, wantFull: 1},
		{name: "second read is a 304 served as 200", installation: 1, wantCommits: 1, wantFull: 1, wantNotMod: 1, wantCacheHdr: "revalidated"},
		{name: "another installation does not share the entry", installation: 2, wantCommits: 1, wantFull: 2, wantNotMod: 1},
		{name: "changed resource is read in full", before: change, installation: 1, wantCommits: 0, wantFull: 3, wantNotMod: 1},
		{name: "and then revalidated against its new ETag", installation: 1, wantCommits: 0, wantFull: 3, wantNotMod: 2, wantCacheHdr: "revalidated"},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got, resp, err := env.app.Installation(s.installation).PullRequests.ListCommits(context.Background(), "octocat", "Hello-World", 1347, nil)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		mu.Lock()
		f, n := full, notModified
		mu.Unlock()
		if len(got) != s.wantCommits || f != s.wantFull || n != s.wantNotMod {
			t.Errorf("%s: commits=%d full=%d 304s=%d; want %d, %d, %d", s.name, len(got), f, n, s.wantCommits, s.wantFull, s.wantNotMod)
		}
		if h := resp.Header.Get(CacheHeader); h != s.wantCacheHdr {
			t.Errorf("%s: %s = %q, want %q", s.name, CacheHeader, h, s.wantCacheHdr)
		}
		if s.wantCacheHdr != "" {
			if resp.StatusCode != http.StatusOK || resp.Rate.Remaining != 4990 {
				t.Errorf("%s: status %d, rate remaining %d; want 200 and the 304's 4990", s.name, resp.StatusCode, resp.Rate.Remaining)
			}
			if s.wantCommits > 0 && got[0].GetSHA() != "6dcb09b5b57875f334f61aebed695e2e4193db5e" {
				t.Errorf("%s: cached body decoded to sha %q", s.name, got[0].GetSHA())
			}
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestETagTransportPassThrough(t *testing.T) {
	tests := []struct {
		name   string
		method string
		header map[string]string
	}{
		{name: "POST is never conditional", method: http.MethodPost},
		{name: "caller's own If-None-Match is left alone", method: http.MethodGet, header: map[string]string{"If-None-Match": `"mine"`}},
		{name: "range requests are left alone", method: http.MethodGet, header: map[string]string{"Range": "bytes=0-10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent []string
			next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = append(sent, r.Header.Get("If-None-Match"))
				rec := httptest.NewRecorder()
				rec.Header().Set("ETag", `"server"`)
				rec.WriteHeader(http.StatusOK)
				rec.WriteString("{}")
				resp := rec.Result()
				resp.Request = r
				return resp, nil
			})
			tr := &etagTransport{next: next, cache: newETagCache(1 << 20)}
			for range 2 {
				req := httptest.NewRequest(tt.method, "https://api.github.com/repos/o/r", nil)
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			want := tt.header["If-None-Match"]
			for i, v := range sent {
				if v != want {
					t.Errorf("request %d sent If-None-Match %q, want %q", i+1, v, want)
				}
			}
		})
	}
}

func TestETagCacheBounds(t *testing.T) {
	// Entry size is body + key + etag + 512 bytes of overhead.
	c := newETagCache(3 * 600)
	put := func(key string) {
		c.put(&etagEntry{key: key, etag: `"e"`, body: bytes.Repeat([]byte("x"), 80)})
	}
	put("a")
	put("b")
	put("c")
	if c.len() != 3 {
		t.Fatalf("len = %d, want 3", c.len())
	}
	c.get("a") // a is now the most recently used
	put("d")   // evicts b, the least recently used
	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if got := c.get(key) != nil; got != want {
			t.Errorf("entry %q present = %v, want %v", key, got, want)
		}
	}
	put("d") // replacing must not double-count bytes
	if c.len() != 3 {
		t.Errorf("len after replace = %d, want 3", c.len())
	}
}

func TestETagOversizedBodyIsNotCachedButDelivered(t *testing.T) {
	big := strings.Repeat("y", 5000)
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK, Header: http.Header{"Etag": {`"big"`}},
			Body: io.NopCloser(strings.NewReader(big)), ContentLength: -1, Request: r,
		}, nil
	})
	tr := &etagTransport{next: next, cache: newETagCache(4000)} // max entry 1000 bytes
	resp, err := tr.RoundTrip(httptest.NewRequest(http.MethodGet, "https://api.github.com/repos/o/r/contents/big", nil))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	if string(got) != big {
		t.Errorf("body has %d bytes, want %d", len(got), len(big))
	}
	if tr.cache.len() != 0 {
		t.Errorf("oversized body was cached")
	}
}
