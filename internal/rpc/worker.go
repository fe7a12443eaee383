package rpc

import (
	"context"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// task is a request from the peer, waiting for a worker.
type task struct {
	cn       *conn
	f        *protocol.Frame
	deadline time.Time     // when the answer is due (the client's HandlerTimeout); zero on the server
	merged   *mergedAnswer // client: f is a MergedWarpMessage and the task is its request idx; else nil
	idx      int
}

// body returns the request the task handles: f's, or the inner request of a
// merged one.
func (t *task) body() protocol.Message {
	if t.merged != nil {
		return t.merged.reqs[t.idx]
	}
	return t.f.Body
}

// workerPool runs requests from peers off the read goroutines: a fixed set
// of workers and a bounded queue. submit never blocks; when the queue is
// full the caller answers the request itself (see failureResponse), so a
// busy process still answers at once instead of timing out.
type workerPool struct {
	tasks  chan task
	handle func(ctx context.Context, t task)
	ctx    context.Context // cancelled by stop; handed to every handler call
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newWorkerPool starts workers goroutines that call handle for each task.
func newWorkerPool(workers, queue int, handle func(context.Context, task)) *workerPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &workerPool{tasks: make(chan task, queue), handle: handle, ctx: ctx, cancel: cancel}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

func (p *workerPool) work() {
	stopped := false
	defer func() {
		if !stopped { // handle called runtime.Goexit: keep the pool's size
			p.wg.Add(1)
			go p.work()
		}
		p.wg.Done()
	}()
	for {
		select {
		case t := <-p.tasks:
			p.handle(p.ctx, t)
		case <-p.ctx.Done():
			stopped = true
			return
		}
	}
}

// submit queues t and reports whether there was room.
func (p *workerPool) submit(t task) bool {
	select {
	case p.tasks <- t:
		return true
	default:
		return false
	}
}

// queued returns the number of tasks waiting for a worker.
func (p *workerPool) queued() int { return len(p.tasks) }

// cancelContext cancels the context of running and future handler calls.
func (p *workerPool) cancelContext() { p.cancel() }

// stop cancels the handlers' context and waits for the workers to return.
// Queued tasks are dropped: their sessions are closing and the peer retries.
func (p *workerPool) stop() {
	p.cancel()
	p.wg.Wait()
}
