package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// maxBatch bounds the deliveries stored in one transaction.
const maxBatch = 128

// flushTimeout bounds one transaction: past it, the waiting requests get
// an error (and GitHub a 503) rather than hang with the database.
const flushTimeout = 30 * time.Second

// delivery is one accepted webhook and the jobs it asks for.
type delivery struct {
	id      string
	event   string
	routes  []Route
	payload []byte
	jobs    []river.InsertManyParams
}

// insertFunc stores deliveries and their jobs in one transaction. It
// returns, per delivery, how many jobs it queued: zero for a delivery that
// was stored before (a redelivery).
type insertFunc func(ctx context.Context, ds []delivery) ([]int, error)

// batcher groups concurrent deliveries into one transaction, like a
// database's group commit: while one transaction runs, the requests that
// arrive queue up and go in together next. A lone request never waits for
// company, so latency at low load is one transaction; at high load the
// per-transaction cost is shared by the batch.
type batcher struct {
	insert insertFunc
	reqs   chan *batchReq
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type batchReq struct {
	ctx    context.Context
	d      delivery
	queued int
	err    error
	ready  chan struct{}
}

var errStopped = errors.New("queue is stopped")

func newBatcher(insert insertFunc) *batcher {
	b := &batcher{insert: insert, reqs: make(chan *batchReq, maxBatch), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *batcher) do(ctx context.Context, d delivery) (int, error) {
	r := &batchReq{ctx: ctx, d: d, ready: make(chan struct{})}
	select {
	case b.reqs <- r:
	case <-b.stop:
		return 0, errStopped
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Once handed over, wait for the outcome even if the client gives up:
	// the delivery may be persisted, and the answer must say so truthfully.
	// The batcher may have drained and exited just before the hand-over.
	select {
	case <-r.ready:
		return r.queued, r.err
	case <-b.done:
		select {
		case <-r.ready:
			return r.queued, r.err
		default:
			return 0, errStopped
		}
	}
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		var first *batchReq
		select {
		case first = <-b.reqs:
		case <-b.stop:
			b.drain()
			return
		}
		batch := []*batchReq{first}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		b.flush(batch)
	}
}

// drain answers requests that were handed over before stop.
func (b *batcher) drain() {
	for {
		select {
		case r := <-b.reqs:
			b.flush([]*batchReq{r})
		default:
			return
		}
	}
}

func (b *batcher) flush(batch []*batchReq) {
	ds := make([]delivery, len(batch))
	for i, r := range batch {
		ds[i] = r.d
	}
	// The batch outlives any one request's context; use the first only for
	// values, never for cancellation.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), flushTimeout)
	defer cancel()
	queued, err := b.insert(ctx, ds)
	for i, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.queued = queued[i]
		}
		close(r.ready)
	}
}

// close stops taking deliveries and waits, until ctx ends, for the ones
// already handed over.
func (b *batcher) close(ctx context.Context) {
	b.once.Do(func() { close(b.stop) })
	select {
	case <-b.done:
	case <-ctx.Done():
	}
}
