package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/server"
)

// nopQueue accepts every delivery without persisting it, so that the
// benchmark measures the handler alone: read, verify, check, route, answer.
type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, string, string, []byte, []queue.Route) (int, error) {
	return 1, nil
}
func (nopQueue) Ping(context.Context) error { return nil }

// BenchmarkWebhookHandler is the intake's own cost for a typical 30 KiB
// pull_request delivery, without the network and the database (app's
// BenchmarkIntake has both). It is the figure the pre-authentication
// bounds (body budget, nesting check) must not move.
func BenchmarkWebhookHandler(b *testing.B) {
	body := fixture(b, "pull_request/synchronize.json")
	sig := sign(secret, body)
	h := server.New(server.Config{
		Secrets: [][]byte{[]byte(secret)},
		Queue:   nopQueue{},
		Route: func(string, []byte) ([]queue.Route, error) {
			return []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}, nil
		},
		Registry: prometheus.NewRegistry(),
	})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "bench")
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
