package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/tidwall/gjson"
)

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	opts  *Options
	store *payloadStore
}

func (w *webhookWorker) Work(ctx context.Context, j *river.Job[WebhookArgs]) error {
	start := time.Now()
	payload, done, err := w.store.load(ctx, j.Args.Delivery, j.Args.Feature)
	if errors.Is(err, errPayloadGone) {
		_, err := w.outcome(ctx, j, river.JobCancel(fmt.Errorf("delivery %s: %w", j.Args.Delivery, err)))
		return err
	}
	if err != nil {
		return fmt.Errorf("load payload of delivery %s: %w", j.Args.Delivery, err)
	}
	if done {
		w.opts.Logger.Info("job already done before a restart; not repeating it",
			slog.String("delivery", j.Args.Delivery), slog.String("feature", j.Args.Feature))
		return nil
	}
	panicked, err := w.handle(ctx, j, payload)
	result := "panic"
	if !panicked {
		result, err = w.outcome(ctx, j, err)
	}
	w.opts.Metrics.observe(j.Args.Feature, result, time.Since(start), time.Since(j.CreatedAt))
	return err
}

// handle runs the handler. A panic ends the job for good: it is a bug or
// a payload shape no code expected, and River would otherwise retry it
// like an error, 12 times over two days, with the same result.
func (w *webhookWorker) handle(ctx context.Context, j *river.Job[WebhookArgs], payload []byte) (panicked bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			// Where the panic happened is for the log; the repository and
			// item are read here, once, so that the log names them.
			at := gjson.GetManyBytes(payload, "repository.full_name", "pull_request.number", "issue.number", "number")
			number := at[1].Int()
			if number == 0 {
				number = at[2].Int()
			}
			if number == 0 {
				number = at[3].Int()
			}
			panicked, err = true, w.opts.panicked(ctx, "job", j.Kind, j.Args.Feature, v, debug.Stack(),
				slog.String("delivery", j.Args.Delivery), slog.String("feature", j.Args.Feature), slog.String("event", j.Args.Event),
				slog.String("repo", at[0].String()), slog.Int64("number", number), slog.Int64("job", j.ID), slog.Int("attempt", j.Attempt))
		}
	}()
	return false, w.opts.Handler.Handle(ctx, Job{WebhookArgs: j.Args, Payload: payload, ID: j.ID, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts})
}

// panicked logs a recovered panic with its stack, counts it, and returns
// the cancellation that ends the job or task: River would retry a
// panic like an error.
func (o *Options) panicked(ctx context.Context, what, kind, feature string, v any, stack []byte, attrs ...slog.Attr) error {
	// A panic value may carry what the payload held.
	value := capText(fmt.Sprint(v))
	o.Logger.LogAttrs(ctx, slog.LevelError, what+" panicked and gave up; it will not run again",
		append(attrs, slog.String("panic", value), slog.String("stack", string(stack)))...)
	o.Metrics.panic(feature)
	o.Metrics.gaveUp(kind)
	return river.JobCancel(fmt.Errorf("%s panicked: %s (the stack is in the log)", what, value))
}

// outcome turns a handler's error into what River should do with the job,
// and names the result for the metrics.
func (w *webhookWorker) outcome(ctx context.Context, j *river.Job[WebhookArgs], err error) (string, error) {
	if err == nil {
		// Not the job's context: a shutdown cancelling it right after the
		// work succeeded must still record that it did.
		if err := w.store.markDone(context.WithoutCancel(ctx), j.Args.Delivery, j.Args.Feature); err != nil {
			w.opts.Logger.Warn("could not record a finished job; a crash now would repeat it",
				slog.String("delivery", j.Args.Delivery), slog.String("error", err.Error()))
		}
		return "ok", nil
	}
	// River does not pass cancellations to the error handler; outcome says
	// that this delivery will not be processed.
	return outcome(ctx, w.opts, j.Kind, "job", err, slog.String("delivery", j.Args.Delivery),
		slog.String("feature", j.Args.Feature), slog.String("event", j.Args.Event))
}

// outcome is what River should do with a failed job or task ("job" or
// "task" in the logs, which carry attrs to name it): a hard shutdown hands
// it straight back to the queue instead of spending an attempt, so the
// next process runs it; a cancellation is logged as final; an error
// carrying a retry-after snoozes it; a snooze passes through.
func outcome(ctx context.Context, o *Options, kind, what string, err error, attrs ...slog.Attr) (string, error) {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return "interrupted", river.JobSnooze(0)
	}
	var snooze *river.JobSnoozeError
	if errors.As(err, &snooze) {
		return "snoozed", err
	}
	// What River records (the log, the job's errors) is this text.
	err = capError(err)
	attrs = append(attrs, slog.String("error", err.Error()))
	var cancel *river.JobCancelError
	if errors.As(err, &cancel) {
		o.Logger.LogAttrs(ctx, slog.LevelError, what+" gave up; it will not run again", attrs...)
		o.Metrics.gaveUp(kind)
		return "cancelled", err
	}
	if o.RetryAfter != nil {
		if d, ok := o.RetryAfter(err); ok {
			o.Logger.LogAttrs(ctx, slog.LevelWarn, "rate limited; "+what+" snoozed", append(attrs, slog.Duration("wait", d))...)
			return "snoozed", river.JobSnooze(d)
		}
	}
	return "error", err
}

// MaxErrorLen is the most of an error's text a job's outcome keeps, in the
// log and in the job's error record. A job's errors are written by
// contribot, but may carry what a payload or a remote answer held: a
// hostile delivery's 1 MB number once made a 1 MB log line and database
// row. Real errors, with their context, stay far below it.
const MaxErrorLen = 2048

// capError is err with its text cut to MaxErrorLen; errors.Is and As still
// see through it (River finds a cancellation with errors.As).
func capError(err error) error {
	msg := err.Error()
	if len(msg) <= MaxErrorLen {
		return err
	}
	return &cappedError{err: err, msg: capText(msg)}
}

type cappedError struct {
	err error
	msg string
}

func (e *cappedError) Error() string { return e.msg }
func (e *cappedError) Unwrap() error { return e.err }

// capText cuts s to MaxErrorLen bytes, on a character boundary, and says
// how long it was.
func capText(s string) string {
	if len(s) <= MaxErrorLen {
		return s
	}
	cut := MaxErrorLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes, cut)", s[:cut], len(s))
}

// Permanent marks an error that no retry can fix; the job is cancelled and
// the error logged at once instead of after every attempt.
func Permanent(err error) error { return river.JobCancel(err) }

// errorHandler makes a job that gives up visible: River would otherwise
// discard it with only a debug line.
type errorHandler struct {
	log     *slog.Logger
	metrics *Metrics
}

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	var cancel *river.JobCancelError
	h.report(ctx, job, capText(err.Error()), job.Attempt >= job.MaxAttempts || errors.As(err, &cancel))
	return nil
}

// HandlePanic sees panics outside the handlers' own recovery (see
// webhookWorker.handle), which should not happen; it ends the job all the
// same, rather than have River retry it.
func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	var args struct{ Feature, Task string }
	_ = json.Unmarshal(job.EncodedArgs, &args)
	feature := args.Feature
	if args.Task != "" {
		feature = "task:" + args.Task
	}
	h.metrics.panic(feature)
	h.report(ctx, job, fmt.Sprintf("panic: %s\n%s", capText(fmt.Sprint(panicVal)), trace), true)
	return &river.ErrorHandlerResult{SetCancelled: true}
}

func (h *errorHandler) report(ctx context.Context, job *rivertype.JobRow, msg string, final bool) {
	attrs := []slog.Attr{
		slog.Int64("job", job.ID), slog.String("kind", job.Kind),
		slog.Int("attempt", job.Attempt), slog.Int("max_attempts", job.MaxAttempts),
		slog.String("args", string(job.EncodedArgs)),
		slog.String("error", msg),
	}
	if final {
		h.log.LogAttrs(ctx, slog.LevelError, "job gave up; it will not run again", attrs...)
		h.metrics.gaveUp(job.Kind)
		return
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "job failed; River retries it with backoff", attrs...)
}

// Metrics are the queue's Prometheus series.
type Metrics struct {
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	latency  *prometheus.HistogramVec
	discard  *prometheus.CounterVec
	panics   *prometheus.CounterVec
}

// NewMetrics registers the queue's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_jobs_total", Help: "Job runs by feature and result (ok, error, snoozed, interrupted, cancelled, panic).",
		}, []string{"feature", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contribot_job_run_seconds", Help: "Time one job run took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"feature"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "contribot_job_latency_seconds", Help: "Time from acceptance of a delivery to the end of its job run.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 20),
		}, []string{"feature"}),
		discard: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_jobs_discarded_total", Help: "Jobs that gave up after their last attempt.",
		}, []string{"kind"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_job_panics_total", Help: "Jobs and tasks (feature task:<name>) that panicked; each was cancelled, not retried.",
		}, []string{"feature"}),
	}
	reg.MustRegister(m.jobs, m.duration, m.latency, m.discard, m.panics)
	return m
}

func (m *Metrics) observe(feature, result string, run, sinceCreated time.Duration) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(feature, result).Inc()
	m.duration.WithLabelValues(feature).Observe(run.Seconds())
	m.latency.WithLabelValues(feature).Observe(sinceCreated.Seconds())
}

func (m *Metrics) panic(feature string) {
	if m == nil {
		return
	}
	m.panics.WithLabelValues(feature).Inc()
}

func (m *Metrics) gaveUp(kind string) {
	if m == nil {
		return
	}
	m.discard.WithLabelValues(kind).Inc()
}
