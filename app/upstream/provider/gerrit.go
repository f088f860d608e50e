package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

// DefaultGerritBatch is how many changes one Gerrit query asks for.
const DefaultGerritBatch = 50

// gerritPerChange is how much of an answer one change asked for may take.
// A ChangeInfo with the default options is under 1 KiB; the rest is room
// for long subjects and project names.
const gerritPerChange = 16 << 10

// gerritTime is how Gerrit writes timestamps; they are always UTC.
const gerritTime = "2006-01-02 15:04:05.000000000"

// gerritPrefix guards Gerrit's JSON against XSSI; it precedes every answer.
var gerritPrefix = []byte(")]}'")

// Gerrit checks changes on one Gerrit server through its anonymous REST API.
type Gerrit struct {
	getter
	base  string
	batch int
}

// NewGerrit returns a fetcher for the Gerrit at baseURL (e.g.
// "https://review.opendev.org/"), asking for batch changes per query
// (DefaultGerritBatch when batch < 1).
func NewGerrit(c *http.Client, baseURL string, batch int) *Gerrit {
	if batch < 1 {
		batch = DefaultGerritBatch
	}
	return &Gerrit{getter: newGetter(c, baseURL), base: withSlash(baseURL), batch: batch}
}

// gerritChange is the part of Gerrit's ChangeInfo that matters here.
type gerritChange struct {
	Number         int64  `json:"_number"`
	Project        string `json:"project"`
	Status         string `json:"status"`
	WorkInProgress bool   `json:"work_in_progress"`
	Subject        string `json:"subject"`
	Updated        string `json:"updated"`
	MoreChanges    bool   `json:"_more_changes"`
}

// Fetch asks for the changes in batches; refs are keyed by change number
// alone, since a number is unique per Gerrit server.
func (g *Gerrit) Fetch(ctx context.Context, refs []link.Ref) map[string]Result {
	refs = dedupe(refs)
	out := make(map[string]Result, len(refs))
	for start := 0; start < len(refs); start += g.batch {
		batch := refs[start:min(start+g.batch, len(refs))]
		if err := ctx.Err(); err != nil {
			failAll(out, refs[start:], unreachable(g.name, err))
			break
		}
		found, err := g.query(ctx, batch)
		if rl, ok := err.(*RateLimitError); ok {
			failAll(out, batch, rl)
			failAll(out, refs[start:], rl.skipped())
			break
		}
		if err != nil {
			failAll(out, batch, err)
			continue
		}
		for _, r := range batch {
			c, ok := found.changes[r.Number]
			switch {
			case ok:
				out[r.Key()] = Result{Status: gerritStatus(c)}
			case found.cut:
				// Gerrit stopped early, so absence proves nothing.
				out[r.Key()] = Result{Err: &Failure{Public: g.name + " cut its answer short", Cause: fmt.Errorf("change %d not in an answer Gerrit marked as cut short", r.Number)}}
			default:
				out[r.Key()] = unavailable("not found")
			}
		}
	}
	return out
}

type gerritAnswer struct {
	changes map[int64]gerritChange
	cut     bool
}

// query runs one "change:A OR change:B" query.
func (g *Gerrit) query(ctx context.Context, batch []link.Ref) (gerritAnswer, error) {
	terms := make([]string, len(batch))
	for i, r := range batch {
		terms[i] = "change:" + strconv.FormatInt(r.Number, 10)
	}
	// Written by hand rather than with url.Values so that the request reads
	// like Gerrit's own documentation (":" unescaped, "+" for spaces).
	u := g.base + "changes/?q=" + strings.Join(terms, "+OR+") + "&n=" + strconv.Itoa(len(batch))
	resp, err := g.get(ctx, u, int64(len(batch))*gerritPerChange)
	if err != nil {
		return gerritAnswer{}, fmt.Errorf("gerrit %s: query %d changes: %w", g.name, len(batch), err)
	}
	// A 503 fails only this batch: Gerrit's batches are few, and one busy
	// moment should not cost the whole poll.
	if rl, ok := throttled("gerrit", g.name, resp, false); ok {
		return gerritAnswer{}, rl
	}
	if resp.code != http.StatusOK {
		return gerritAnswer{}, fmt.Errorf("gerrit %s: query %d changes: %w", g.name, len(batch), g.statusError(resp))
	}
	list, err := decodeChanges(resp.body, len(batch))
	if err != nil {
		return gerritAnswer{}, unreadable(g.name, fmt.Errorf("decode changes: %w", err))
	}
	a := gerritAnswer{changes: make(map[int64]gerritChange, len(list))}
	for _, c := range list {
		a.changes[c.Number] = c
		a.cut = a.cut || c.MoreChanges
	}
	return a, nil
}

// decodeChanges reads Gerrit's list of changes one at a time and refuses
// a list longer than the max asked for: decoded whole, an answer of
// 3 million empty objects in 10 MiB would take a gigabyte, and no Gerrit
// sends more than a query's n.
func decodeChanges(body []byte, max int) ([]gerritChange, error) {
	dec := json.NewDecoder(bytes.NewReader(stripXSSI(body)))
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var list []gerritChange
	for dec.More() {
		if len(list) == max {
			return nil, fmt.Errorf("more than the %d changes asked for", max)
		}
		var c gerritChange
		if err := dec.Decode(&c); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	return list, nil
}

// expectDelim reads the next token and fails unless it is want.
func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

// stripXSSI removes Gerrit's ")]}'" line. It tolerates its absence, since
// proxies and old servers differ.
func stripXSSI(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	if rest, ok := bytes.CutPrefix(b, gerritPrefix); ok {
		return rest
	}
	return b
}

func gerritStatus(c gerritChange) Status {
	s := Status{Raw: c.Status, Title: c.Subject}
	if t, err := time.ParseInLocation(gerritTime, c.Updated, time.UTC); err == nil {
		s.LastActivity = t
	}
	switch c.Status {
	case "NEW":
		if c.WorkInProgress {
			s.State, s.Raw = Draft, "NEW (WIP)"
		} else {
			s.State = InReview
		}
	case "DRAFT": // Gerrit before 2.15
		s.State = Draft
	case "MERGED":
		s.State = Merged
	case "ABANDONED":
		s.State = Abandoned
	}
	return s
}

// hostOf is the host of a base URL, for messages; the URL itself if it
// does not parse.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	return u.Host
}
