package fakegithub

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HookDelivery is one attempt to deliver an event to the App's webhook, as
// "List deliveries for an app webhook" shows it. A redelivery is an attempt
// of its own, with its own ID and the GUID (X-GitHub-Delivery) of the
// original.
type HookDelivery struct {
	ID   int64  // 0: the fake assigns one
	GUID string // "": the fake makes one up
	// Event and Action are X-GitHub-Event and the payload's action.
	Event, Action string
	// StatusCode is the answer the webhook gave; 0 when there was none (a
	// timeout, a refused connection). Status is GitHub's text for it; ""
	// derives it from StatusCode ("OK" for 2xx, as GitHub writes it).
	StatusCode     int
	Status         string
	DeliveredAt    time.Time // zero: the fake's clock at AddHookDelivery
	Redelivery     bool
	Duration       float64 // seconds
	InstallationID int64
	RepositoryID   int64
}

// hookState is the App webhook's delivery log.
type hookState struct {
	deliveries  []*HookDelivery
	redelivered []int64
	// redeliveryCode is the status code a redelivery's attempt records; 0
	// means 200.
	redeliveryCode int
}

func deliveryStatus(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "OK"
	case code == 0:
		return "timed out"
	}
	return "Invalid HTTP Response: " + strconv.Itoa(code)
}

// AddHookDelivery records an attempt in the App webhook's delivery log. It
// returns the delivery as stored, with the defaults filled in.
func (s *Server) AddHookDelivery(d HookDelivery) HookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addHookDelivery(d)
}

func (s *Server) addHookDelivery(d HookDelivery) *HookDelivery {
	if d.ID == 0 {
		s.nextID++
		d.ID = s.nextID
	}
	if d.GUID == "" {
		// GitHub's GUIDs are UUIDs; deriving one from the id keeps them
		// unique and tests reproducible.
		d.GUID = fmt.Sprintf("0b989ba4-242f-11e5-81e1-%012x", d.ID)
	}
	if d.Status == "" {
		d.Status = deliveryStatus(d.StatusCode)
	}
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = s.now()
	}
	d.DeliveredAt = d.DeliveredAt.UTC().Truncate(time.Second)
	s.hooks.deliveries = append(s.hooks.deliveries, &d)
	return &d
}

// HookDeliveries returns the delivery log, newest first as GitHub lists it.
func (s *Server) HookDeliveries() []HookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]HookDelivery, 0, len(s.hooks.deliveries))
	for _, d := range s.sortedDeliveries() {
		out = append(out, *d)
	}
	return out
}

// Redelivered lists the delivery ids that POST .../attempts accepted, in
// the order it was asked; unknown ids (answered 404) are left out.
func (s *Server) Redelivered() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hooks.redelivered)
}

// SetRedeliveryStatusCode sets what the webhook answers to redeliveries
// accepted from now on (default 200), e.g. 503 to model a receiver that is
// still down; 0 restores the default.
func (s *Server) SetRedeliveryStatusCode(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.redeliveryCode = code
}

// sortedDeliveries is the log newest first; ties (deliveries in the same
// second) go by id, which GitHub hands out in increasing order.
func (s *Server) sortedDeliveries() []*HookDelivery {
	ds := slices.Clone(s.hooks.deliveries)
	slices.SortStableFunc(ds, func(a, b *HookDelivery) int {
		if c := b.DeliveredAt.Compare(a.DeliveredAt); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	return ds
}

func hookDeliveryObject(d *HookDelivery) object {
	var repo any
	if d.RepositoryID != 0 {
		repo = d.RepositoryID
	}
	var action, inst any
	if d.Action != "" {
		action = d.Action
	}
	if d.InstallationID != 0 {
		inst = d.InstallationID
	}
	return object{
		"id":              d.ID,
		"guid":            d.GUID,
		"delivered_at":    d.DeliveredAt.UTC().Format(time.RFC3339),
		"redelivery":      d.Redelivery,
		"duration":        d.Duration,
		"status":          d.Status,
		"status_code":     d.StatusCode,
		"event":           d.Event,
		"action":          action,
		"installation_id": inst,
		"repository_id":   repo,
		"throttled_at":    nil,
	}
}

// cursorPrefix is the shape of GitHub's delivery cursors ("v1_" and the id
// of the first delivery of the page); clients are to treat them as opaque.
const cursorPrefix = "v1_"

// listHookDeliveries answers "List deliveries for an app webhook": newest
// first, per_page up to 100 (default 30), and cursor pagination: the Link
// header's rel="next" URL carries cursor=, there are no page numbers and no
// rel="last". The optional redelivery=true|false filter is applied too.
func (s *Server) listHookDeliveries(c *call) *response {
	per, err := strconv.Atoi(c.q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	ds := s.sortedDeliveries()
	if v := c.q.Get("redelivery"); v != "" {
		want, err := strconv.ParseBool(v)
		if err != nil {
			return errorResponse(http.StatusBadRequest, "Bad Request", c.route.doc)
		}
		ds = slices.DeleteFunc(ds, func(d *HookDelivery) bool { return d.Redelivery != want })
	}
	start := 0
	if cur := c.q.Get("cursor"); cur != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(cur, cursorPrefix), 10, 64)
		if !strings.HasPrefix(cur, cursorPrefix) || err != nil {
			return errorResponse(http.StatusBadRequest, "Bad Request", c.route.doc)
		}
		start = slices.IndexFunc(ds, func(d *HookDelivery) bool { return d.ID == id })
		if start < 0 {
			// The delivery the cursor points at has aged out of the log.
			return errorResponse(http.StatusBadRequest, "Bad Request", c.route.doc)
		}
	}
	end := min(start+per, len(ds))
	out := make([]object, 0, end-start)
	for _, d := range ds[start:end] {
		out = append(out, hookDeliveryObject(d))
	}
	if end < len(ds) {
		c.header.Set("Link", s.cursorLink(c, cursorPrefix+strconv.FormatInt(ds[end].ID, 10)))
	}
	return jsonResponse(http.StatusOK, out)
}

// cursorLink is the request's URL with cursor replaced, as rel="next".
func (s *Server) cursorLink(c *call, cursor string) string {
	var kept []string
	for _, kv := range strings.Split(c.r.URL.RawQuery, "&") {
		if kv != "" && !strings.HasPrefix(kv, "cursor=") {
			kept = append(kept, kv)
		}
	}
	q := strings.Join(append(kept, "cursor="+cursor), "&")
	return "<" + s.base + strings.TrimPrefix(c.r.URL.EscapedPath(), "/") + "?" + q + `>; rel="next"`
}

// redeliverHookDelivery answers "Redeliver a delivery for an app webhook":
// 202 with an empty object; the new attempt appears in the log at once with
// the original's GUID, event and action.
func (s *Server) redeliverHookDelivery(c *call) *response {
	id, ok := c.intParam("delivery_id")
	if !ok {
		return notFound(c.route.doc)
	}
	i := slices.IndexFunc(s.hooks.deliveries, func(d *HookDelivery) bool { return d.ID == id })
	if i < 0 {
		return notFound(c.route.doc)
	}
	orig := s.hooks.deliveries[i]
	code := s.hooks.redeliveryCode
	if code == 0 {
		code = http.StatusOK
	}
	s.hooks.redelivered = append(s.hooks.redelivered, id)
	s.addHookDelivery(HookDelivery{
		GUID: orig.GUID, Event: orig.Event, Action: orig.Action,
		StatusCode: code, DeliveredAt: c.now, Redelivery: true, Duration: 0.12,
		InstallationID: orig.InstallationID, RepositoryID: orig.RepositoryID,
	})
	return jsonResponse(http.StatusAccepted, object{})
}
