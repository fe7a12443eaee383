package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Merged phase two: an atcc coordinator may send the BranchCommit requests
// it has for one atcc RM session as one MergedWarpMessage, which the RM
// answers with one MergeResultMessage: a batch of N branch commits costs
// the two sessions 2 frames instead of 2N.
//
// Protocol v1 has no such thing: Java's TC never merges its requests to an
// RM, and Java and seata-go RMs would not understand it. So an atcc RM
// announces that it does, with one more line in the extraData of its
// RegisterRM ("atcc.mergedBranchCommit=1"), and the coordinator sends
// merged requests only to a session that announced it (CallMerged refuses
// the others). A Java TC ignores the line: RegRmProcessor hands extraData
// only to the check-auth handler, whose default accepts everything and
// whose JWT variant reads only its username, password and token keys
// (apache/incubator-seata, DefaultCheckAuthHandler, JwtCheckAuthHandler),
// and ChannelManager.registerRMChannel does not read it.
//
// The answer is a MergeResultMessage, not a BatchResultMessage: the RM
// answers once every inner request has its answer (each is bounded by the
// HandlerTimeout of its arrival), so results never need to be split over
// frames and matched by inner id; the coordinator then keeps one pending
// entry per merged request, and the frames carry no msgIds.

// mergedCommitKey is the extraData key an RM announces merged BranchCommit
// with, as "atcc.mergedBranchCommit=1".
const mergedCommitKey = "atcc.mergedBranchCommit"

// mergedCommitLine is the announcement, one extraData line.
const mergedCommitLine = mergedCommitKey + "=1\n"

// MaxMergedCommits is the most BranchCommit requests CallMerged sends in
// one MergedWarpMessage.
const MaxMergedCommits = maxBatch

// announcesMergedCommit reports whether a RegisterRM's extraData announces
// merged BranchCommit.
func announcesMergedCommit(extraData string) bool {
	return extraData != "" && parseExtraData(extraData)[mergedCommitKey] == "1"
}

// MergesBranchCommits reports whether the session's client announced, in a
// RegisterRM, that it answers BranchCommit requests merged into one
// MergedWarpMessage (see CallMerged). atcc RMs do; Java and seata-go RMs
// do not.
func (ss *ServerSession) MergesBranchCommits() bool { return ss.mergedCommit.Load() }

// CallMerged sends reqs, 1 to MaxMergedCommits *protocol.BranchCommitRequest
// values, to the client as one MergedWarpMessage (REQUEST_SYNC) and returns
// the client's answers, in the order of reqs: *protocol.BranchCommitResponse
// values, as Call returns them (Result.ExceptionCode in the Seata 2.x
// numbering). The client answers once it has every inner answer.
//
// Only a session whose MergesBranchCommits is true takes merged requests:
// for another, CallMerged sends nothing and returns an error wrapping
// ErrInvalidRequest. It waits as Call does, and its errors are Call's; an
// error concerns every request of reqs (the session was lost, the time ran
// out, the answer was not a MergeResultMessage with one BranchCommit answer
// per request).
func (ss *ServerSession) CallMerged(ctx context.Context, reqs []protocol.Message) ([]protocol.Message, error) {
	var bad error
	switch {
	case !ss.MergesBranchCommits():
		bad = fmt.Errorf("%w: merged BranchCommit to a session that did not announce it", ErrInvalidRequest)
	case len(reqs) == 0 || len(reqs) > MaxMergedCommits:
		bad = fmt.Errorf("%w: %d requests in a merged BranchCommit, want 1 to %d", ErrInvalidRequest, len(reqs), MaxMergedCommits)
	}
	for _, r := range reqs {
		if _, ok := r.(*protocol.BranchCommitRequest); !ok && bad == nil {
			bad = fmt.Errorf("%w: CallMerged with %T", ErrInvalidRequest, r)
		}
	}
	if bad != nil {
		return nil, &CallError{Addr: ss.cn.addr, Type: protocol.TypeMergedWarp, Err: bad}
	}
	timer := ss.srv.defaultTimer(ctx)
	defer putTimer(timer)
	resp, err := ss.cn.roundTrip(ctx, timerC(timer), &protocol.MergedWarpMessage{Messages: reqs}, false)
	if err != nil {
		return nil, err
	}
	m, ok := resp.(*protocol.MergeResultMessage)
	if ok && len(m.Results) != len(reqs) {
		ok = false
	}
	for i := 0; ok && i < len(m.Results); i++ {
		_, ok = m.Results[i].(*protocol.BranchCommitResponse)
	}
	if !ok {
		return nil, &CallError{Addr: ss.cn.addr, Type: protocol.TypeMergedWarp, Sent: true,
			Err: fmt.Errorf("%w: a merged BranchCommit of %d answered with %s", ErrUnexpectedResponse, len(reqs), describeMerged(resp))}
	}
	version := ss.Version()
	for _, r := range m.Results {
		res, _ := protocol.ResultOf(r)
		res.ExceptionCode = protocol.ExceptionCodeFromPeer(uint8(res.ExceptionCode), version)
	}
	return m.Results, nil
}

// describeMerged names an answer to a merged request for an error.
func describeMerged(resp protocol.Message) string {
	if m, ok := resp.(*protocol.MergeResultMessage); ok {
		return fmt.Sprintf("a MergeResultMessage of %d results", len(m.Results))
	}
	return typeOf(resp)
}

// mergedAnswer collects, on a client, the answers to the inner requests of
// one MergedWarpMessage from the coordinator. Each inner request is a task
// of its own (its own worker, alarm and exactly-once answer); its answer
// goes into results, and whoever puts the last one sends the
// MergeResultMessage.
type mergedAnswer struct {
	reqs    []protocol.Message // the inner requests; immutable
	results []protocol.Message // results[i] is written once, by the answerer of reqs[i], before it decrements left
	left    atomic.Int32       // answers still missing
}

// put records the answer to request i and reports whether it was the last
// one missing: the caller then sends the merged answer. The atomic
// decrement orders every put before the last one's read of results.
func (ma *mergedAnswer) put(i int, r protocol.Message) bool {
	ma.results[i] = r
	return ma.left.Add(-1) == 0
}

// onMerged takes a MergedWarpMessage from the coordinator on the read
// goroutine: every inner request, which must be a BranchCommit, is queued
// for a worker as a request of its own, all due HandlerTimeout from now. An
// inner request that finds the queue full is answered with a retryable
// failure at once, the others as onRequest's requests are.
func (c *Client) onMerged(cn *conn, f *protocol.Frame, m *protocol.MergedWarpMessage) {
	for _, in := range m.Messages {
		if _, ok := in.(*protocol.BranchCommitRequest); !ok {
			c.log.Warn("atcc/rpc: unexpected request merged by coordinator; batch dropped", "addr", cn.addr, "type", in.TypeCode())
			return
		}
	}
	if len(m.Messages) == 0 {
		cn.sendAsync(responseFrame(f, &protocol.MergeResultMessage{}))
		return
	}
	ma := &mergedAnswer{reqs: m.Messages, results: make([]protocol.Message, len(m.Messages))}
	ma.left.Store(int32(len(m.Messages)))
	deadline := time.Now().Add(c.cfg.HandlerTimeout)
	for i, in := range m.Messages {
		t := task{cn: cn, f: f, deadline: deadline, merged: ma, idx: i}
		cn.hold() // released by handleInbound
		if c.work.submit(t) {
			continue
		}
		cn.release()
		c.reject.Add(1)
		c.log.Debug("atcc/rpc: worker queue full", "addr", cn.addr, "type", in.TypeCode(), "merged", len(m.Messages))
		c.send(t, failureResponse(in, "atcc/rpc: resource manager busy: request queue full"), true)
	}
}

// send writes out, the answer to the request t carries: as the response to
// t's frame, or, for an inner request of a merged one, into the merged
// answer, which goes out with the last inner answer. fromReader says the
// caller is a read goroutine, which must not block on a write.
func (c *Client) send(t task, out protocol.Message, fromReader bool) {
	f := protocol.Frame{Type: protocol.Response, Codec: t.f.Codec, Compressor: t.f.Compressor, RequestID: t.f.RequestID, Body: out}
	if t.merged != nil {
		if !t.merged.put(t.idx, out) {
			return
		}
		f.Body = &protocol.MergeResultMessage{Results: t.merged.results}
	}
	if fromReader {
		t.cn.sendAsync(&f)
		return
	}
	if _, err := t.cn.writeFrame(&f); err != nil {
		level := slog.LevelWarn // the coordinator will retry after its timeout
		if c.isClosed() {
			level = slog.LevelDebug
		}
		c.log.Log(context.Background(), level, "atcc/rpc: answer to coordinator not sent", append(requestAttrs(t), "err", err)...)
	}
}
