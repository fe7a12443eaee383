// Package rpc is the transport of the Seata RPC protocol (v1, package
// protocol) over TCP or TLS, built on dubbo-getty: a Client for
// applications (TM and RM roles) and a Server for a coordinator (TC).
//
// # Client
//
// NewClient validates a ClientConfig and does no I/O. The first Call (or
// Ping) starts, for every coordinator address and each role, PoolSize
// session slots. Each slot's supervisor goroutine connects, registers
// (RegisterTM; RegisterRM with every resource id given to AddResource),
// publishes the session, and after the session ends reconnects with capped
// exponential backoff and jitter, registering every resource again. Calls go
// to a ready session of their role: to the coordinator their XID names when
// it has one, else round robin.
//
// With a Resolver instead of fixed Addresses, the client resolves the
// coordinators of its TxServiceGroup when it starts and follows the
// resolver's updates: a new address gets its slots; the slots of a removed
// one are retired: their sessions stop taking new work, still carry the
// calls of the transactions begun at that coordinator, and close once no
// call is under way and none of those transactions is open.
//
// Sessions send a PING after HeartbeatInterval without writes and are closed
// after IdleTimeout without reads (§8.3). A PING takes its id from the same
// counter as requests and waits in the same pending table, so the two can
// never be confused.
//
// Requests from the coordinator (BranchCommit, BranchRollback,
// UndoLogDelete) run on a bounded worker pool with the RequestHandler,
// under a deadline of HandlerTimeout from their arrival; a branch request
// gets exactly one answer, a retryable failure when the queue is full, the
// handler fails or the deadline passes first (see RequestHandler). The RM
// announces in its RegisterRM that it takes BranchCommits merged into one
// MergedWarpMessage (an atcc coordinator's async commits): each inner
// request is handled as a request of its own, and the answers go back
// together in one MergeResultMessage (merged.go).
//
// # Server
//
// NewServer takes a ServerConfig and a ServerHandler; Start listens. The
// server answers heartbeats and registrations itself, closes a session that
// sends a transaction request before registering or stays silent for
// IdleTimeout, runs requests (and each request of a MergedWarpMessage) on a
// bounded worker pool, and answers every request, oneway ones included.
// ServerSession.Call sends a branch request to a client with an id from the
// negative range, which cannot collide with the client's own ids;
// ServerSession.CallMerged sends several BranchCommits as one request to a
// client that announced it takes them.
//
// # Calls and errors
//
// Every call takes a context first; without a deadline, a default timeout
// applies. Each pending call leaves the pending table exactly once: on its
// answer, on the end of its context, or when its session ends, in which case
// it fails with ErrConnectionLost. An answer that arrives after its call
// ended is dropped and counted (Stats.LateReplies). Transport failures are
// *CallError values that tell whether the request reached the socket
// (IsRetryable); failures reported by the coordinator are *protocol.CoordinatorError
// values that match the sentinels (protocol.ErrLockKeyConflict, ...) with errors.Is.
//
// # Concurrency
//
// Client, Server and ServerSession are safe for concurrent use. Each
// connection has one reader, getty's read goroutine, which decodes frames
// and completes pending calls but never runs handlers or blocks on a write;
// and one writer at a time, writes being serialised by a per-connection
// mutex. Handlers run on worker pools; the ServerHandler's session callbacks
// run in order on one goroutine. Close waits for every goroutine the Client
// or Server started, except getty's own process-wide timer wheel.
//
// Locks: Server.listening is taken before Server.mu; Client.mu and
// Server.mu may be held while a new getty session is configured (getty's own
// locks). Every other mutex of the package is a leaf, never held while
// another lock is taken. Handlers, channel sends to waiting callers and the
// closing of a connection run with no lock held.
//
// # getty
//
// getty logs through a process-wide logger. This package installs a router
// there when the program starts: a line naming a live Client's or Server's
// address goes to that one's Logger at debug level, without stack traces;
// the rest go to SetGettyLogger's logger, by default nowhere (getty_log.go).
// Nothing reaches stderr. getty dials, accepts
// and reads; this package encodes, writes, supervises and reconnects (see
// pool.go for why getty's own reconnection is not used).
package rpc
