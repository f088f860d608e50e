package queue

import (
	"context"
	"errors"
	"sync"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// maxBatch bounds one insert statement; GitHub deliveries are up to 25 MiB,
// but typical ones are 10–30 KiB.
const maxBatch = 128

// batcher groups concurrent inserts into one statement, like a database's
// group commit: while one insert runs, the requests that arrive queue up and
// go in together next. A lone request never waits for company, so latency
// at low load is one insert; at high load the per-statement cost (SQLite
// parses River's insert anew each time) is shared by the batch.
type batcher struct {
	insert func(ctx context.Context, rows []payloadRow, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	reqs   chan *batchReq
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type batchReq struct {
	ctx    context.Context
	rows   []payloadRow
	params []river.InsertManyParams
	res    []*rivertype.JobInsertResult
	err    error
	ready  chan struct{}
}

var errStopped = errors.New("queue is stopped")

func newBatcher(insert func(context.Context, []payloadRow, []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)) *batcher {
	b := &batcher{insert: insert, reqs: make(chan *batchReq, maxBatch), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *batcher) do(ctx context.Context, rows []payloadRow, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	r := &batchReq{ctx: ctx, rows: rows, params: params, ready: make(chan struct{})}
	select {
	case b.reqs <- r:
	case <-b.stop:
		return nil, errStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once handed over, wait for the outcome even if the client gives up:
	// the job may be persisted, and the answer must say so truthfully. The
	// batcher may have drained and exited just before the hand-over.
	select {
	case <-r.ready:
		return r.res, r.err
	case <-b.done:
		select {
		case <-r.ready:
			return r.res, r.err
		default:
			return nil, errStopped
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
		n := len(first.params)
	more:
		for n < maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
				n += len(r.params)
			default:
				break more
			}
		}
		b.flush(batch, n)
	}
}

// drain answers requests that were handed over before stop.
func (b *batcher) drain() {
	for {
		select {
		case r := <-b.reqs:
			b.flush([]*batchReq{r}, len(r.params))
		default:
			return
		}
	}
}

func (b *batcher) flush(batch []*batchReq, n int) {
	params := make([]river.InsertManyParams, 0, n)
	var rows []payloadRow
	for _, r := range batch {
		params = append(params, r.params...)
		rows = append(rows, r.rows...)
	}
	// The batch outlives any one request's context; use the first live one
	// only for values, never for cancellation.
	res, err := b.insert(context.WithoutCancel(batch[0].ctx), rows, params)
	off := 0
	for _, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.res = res[off : off+len(r.params)]
		}
		off += len(r.params)
		close(r.ready)
	}
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}
