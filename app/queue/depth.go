package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// waitingStates are the states of jobs that still have to run: due now,
// snoozed or scheduled for later, or waiting for a retry after an error.
var waitingStates = []string{"available", "scheduled", "retryable"}

// depthByState counts waiting jobs by queue and state.
func (q *Queue) depthByState(ctx context.Context) (map[[2]string]int, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT queue, state, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable') GROUP BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("count waiting jobs: %w", err)
	}
	defer rows.Close()
	n := map[[2]string]int{}
	for rows.Next() {
		var queue, state string
		var c int
		if err := rows.Scan(&queue, &state, &c); err != nil {
			return nil, fmt.Errorf("count waiting jobs: %w", err)
		}
		n[[2]string{queue, state}] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count waiting jobs: %w", err)
	}
	return n, nil
}

// Depth counts the jobs waiting to run (available, scheduled or
// retryable) per queue name. On SQLite, deliveries still in the inbox are
// not counted; the dispatcher moves them into River within moments.
func (q *Queue) Depth(ctx context.Context) (map[string]int, error) {
	byState, err := q.depthByState(ctx)
	if err != nil {
		return nil, err
	}
	depth := map[string]int{}
	for k, c := range byState {
		depth[k[0]] += c
	}
	return depth, nil
}

// DepthCollector reports contribot_queue_depth{queue, state} when
// scraped. Counting on scrape, rather than keeping a gauge up to date,
// needs no hook into River and is always right after a restart.
type DepthCollector struct {
	q       *Queue
	desc    *prometheus.Desc
	timeout time.Duration
}

// NewDepthCollector returns a collector over q; register it with the
// registry /metrics serves.
func NewDepthCollector(q *Queue) *DepthCollector {
	return &DepthCollector{
		q: q,
		desc: prometheus.NewDesc("contribot_queue_depth",
			"Jobs waiting to run, by queue and state (available: due now; scheduled: snoozed or delayed; retryable: waiting for a retry after an error).",
			[]string{"queue", "state"}, nil),
		// A scrape must not hang on a busy SQLite connection; a missing
		// sample is better than a failed scrape of every other series.
		timeout: 2 * time.Second,
	}
}

// Describe implements prometheus.Collector.
func (c *DepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. On error it reports nothing,
// so the other series of the scrape still arrive.
func (c *DepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	byState, err := c.q.depthByState(ctx)
	if err != nil {
		c.q.log.Warn("could not count waiting jobs for /metrics", slog.String("error", err.Error()))
		return
	}
	// Both queues always have every state, with zeros, so a drained queue
	// reads 0 instead of vanishing from graphs and alerts.
	for _, queue := range []string{QueuePriority, QueueDefault} {
		for _, state := range waitingStates {
			if _, ok := byState[[2]string{queue, state}]; !ok {
				byState[[2]string{queue, state}] = 0
			}
		}
	}
	for k, n := range byState {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
