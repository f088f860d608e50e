package githubapp

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// CacheHeader is set on responses rebuilt from the ETag cache after GitHub
// answered 304, for logs and tests. (Not X-From-Cache: go-github skips rate
// limit bookkeeping for that header, and the 304's rate headers are fresh.)
const CacheHeader = "X-Contribot-Cache"

// etagTransport makes GETs conditional. GitHub does not charge quota for a
// 304, so re-reading unchanged rules files and pull request data is free.
// Entries are keyed by identity (installation), Accept and URL: the same URL
// can differ between installations (private repos) and media types.
type etagTransport struct {
	next  http.RoundTripper
	cache *etagCache
}

type etagEntry struct {
	key    string
	etag   string
	header http.Header
	body   []byte
}

func (e *etagEntry) size() int64 { return int64(len(e.body) + len(e.key) + len(e.etag) + 512) }

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A caller that sets its own validator wants to see the 304 itself.
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return t.next.RoundTrip(req)
	}
	key := strconv.FormatInt(int64(identityFrom(req.Context())), 10) + "\x00" +
		req.Header.Get("Accept") + "\x00" + req.URL.String()

	entry := t.cache.get(key)
	out := req
	if entry != nil {
		out = req.Clone(req.Context())
		out.Header.Set("If-None-Match", entry.etag)
	}
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && entry != nil:
		drain(resp)
		return revalidated(req, resp, entry), nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		return t.store(key, resp), nil
	}
	return resp, nil
}

// revalidated turns a 304 into the 200 go-github expects. Headers start from
// the stored response and take the 304's values where it has them: its
// rate limit and request id headers are the current ones.
func revalidated(req *http.Request, notModified *http.Response, entry *etagEntry) *http.Response {
	h := entry.header.Clone()
	for k, v := range notModified.Header {
		h[k] = v
	}
	h.Set(CacheHeader, "revalidated")
	h.Set("Content-Length", strconv.Itoa(len(entry.body)))
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         notModified.Proto,
		ProtoMajor:    notModified.ProtoMajor,
		ProtoMinor:    notModified.ProtoMinor,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(entry.body)),
		ContentLength: int64(len(entry.body)),
		Request:       req,
	}
}

// store buffers the body to keep a copy, unless it is too large to be worth
// caching, in which case the caller still gets the whole stream.
func (t *etagTransport) store(key string, resp *http.Response) *http.Response {
	limit := t.cache.maxEntry
	if resp.ContentLength > limit {
		return resp
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil || int64(len(buf)) > limit {
		// Hand back what was read followed by the rest (or the read error).
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
		return resp
	}
	resp.Body.Close()
	t.cache.put(&etagEntry{key: key, etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: buf})
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	return resp
}

// etagCache is an LRU bounded by approximate bytes.
type etagCache struct {
	maxBytes int64
	maxEntry int64

	mu    sync.Mutex
	bytes int64
	order *list.List // front = most recently used; values are *etagEntry
	items map[string]*list.Element
}

func newETagCache(maxBytes int64) *etagCache {
	return &etagCache{
		maxBytes: maxBytes,
		// One huge file must not flush everything else.
		maxEntry: maxBytes / 4,
		order:    list.New(),
		items:    make(map[string]*list.Element),
	}
}

func (c *etagCache) get(key string) *etagEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*etagEntry)
}

func (c *etagCache) put(e *etagEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		c.bytes -= el.Value.(*etagEntry).size()
		c.order.Remove(el)
		delete(c.items, e.key)
	}
	c.items[e.key] = c.order.PushFront(e)
	c.bytes += e.size()
	for c.bytes > c.maxBytes && c.order.Len() > 1 {
		oldest := c.order.Back()
		old := oldest.Value.(*etagEntry)
		c.order.Remove(oldest)
		delete(c.items, old.key)
		c.bytes -= old.size()
	}
}

func (c *etagCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
