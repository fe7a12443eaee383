package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/tcc"
)

// node is one simulated application process: an atcc client (TM and RM),
// an AT data source on each bank database, and the TCC debit and credit
// participants of each, fenced in that database. Every node registers the
// same resource ids, as instances of one service do, so the coordinator
// may send a branch's phase two to any node alive.
//
// A node is safe for concurrent use; kill stops it.
type node struct {
	id     int
	client *atcc.Client
	at     [2]*sql.DB // AT data sources
	fence  [2]*sql.DB // the TCC participants' fence (and business) pools
	debit  [2]*tcc.Participant
	credit [2]*tcc.Participant
}

// nodeEnv is what every node is built from.
type nodeEnv struct {
	server *mysql.Config
	names  bankDBs
	tcAddr string
	log    *slog.Logger
}

// resourceID names the AT resource of bank database i.
func (e *nodeEnv) resourceID(i int) string { return e.names.bank[i] }

// startNode builds node id and connects it to the coordinator.
func startNode(ctx context.Context, env *nodeEnv, id int) (n *node, err error) {
	client, err := atcc.New(atcc.Config{
		ApplicationID:   "bank",
		Coordinators:    []string{env.tcAddr},
		DefaultTimeout:  10 * time.Second,
		CommitRetries:   10,
		RollbackRetries: 10,
		RetryBackoff:    20 * time.Millisecond,
		RequestTimeout:  10 * time.Second,
		HandlerTimeout:  5 * time.Second,
		Logger:          env.log,
	})
	if err != nil {
		return nil, err
	}
	nd := &node{id: id, client: client}
	defer func() {
		if err != nil {
			nd.kill() // not n: a failed return has set it to nil
		}
	}()
	n = nd
	for i, name := range env.names.bank {
		target, err := mysql.NewConnector(dbConfig(env.server, name))
		if err != nil {
			return nil, err
		}
		ds, err := datasource.NewConnector(target, client, datasource.Config{
			ResourceID:        env.resourceID(i),
			LockRetryInterval: 5 * time.Millisecond,
			LockRetries:       20,
			Logger:            env.log,
		})
		if err != nil {
			return nil, fmt.Errorf("node %d: AT data source %s: %w", id, name, err)
		}
		n.at[i] = sql.OpenDB(ds)
		n.at[i].SetMaxOpenConns(4)
		n.at[i].SetMaxIdleConns(4)

		if n.fence[i], err = openDB(env.server, name, 4); err != nil {
			return nil, err
		}
		if n.debit[i], err = tcc.Register(client, &debitAction{db: i, names: env.names}, tcc.Config{Fence: n.fence[i]}); err != nil {
			return nil, fmt.Errorf("node %d: TCC debit on %s: %w", id, name, err)
		}
		if n.credit[i], err = tcc.Register(client, &creditAction{db: i, names: env.names}, tcc.Config{Fence: n.fence[i]}); err != nil {
			return nil, fmt.Errorf("node %d: TCC credit on %s: %w", id, name, err)
		}
	}
	// A node may start while the coordinator restarts: Ping fails at once
	// then (atcc.ErrNoSession), and the node tries again, as a process
	// starting up would, for beginPatience.
	deadline := time.Now().Add(beginPatience)
	for pause := 20 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		err = client.Ping(ctx)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, atcc.ErrNoSession) || time.Now().After(deadline) {
			return nil, fmt.Errorf("node %d: %w", id, err)
		}
		if serr := sleep(ctx, pause); serr != nil {
			return nil, fmt.Errorf("node %d: %w", id, err)
		}
	}
}

// kill stops the node the way a process death would, as far as one
// process can: the client's connections are cut and its running phase-two
// calls cancelled, then the pools are closed.
func (n *node) kill() error {
	err := n.client.Close()
	for _, p := range append(n.debit[:], n.credit[:]...) {
		if p != nil {
			err = errors.Join(err, p.Close())
		}
	}
	for i := range n.at {
		for _, db := range []*sql.DB{n.at[i], n.fence[i]} {
			if db != nil {
				err = errors.Join(err, db.Close())
			}
		}
	}
	return err
}

// slot holds the current node of a group of workers; killing it replaces
// it with a fresh node. It is safe for concurrent use.
type slot struct {
	env *nodeEnv

	mu     sync.Mutex
	cur    *node
	next   int // id of the next node started
	killed int
}

// get returns the current node.
func (s *slot) get() *node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// kill kills n, when it is still the slot's node, and starts its
// replacement. Workers still using n see their calls fail.
func (s *slot) kill(ctx context.Context, n *node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != n {
		return nil // someone killed it already
	}
	s.killed++
	n.kill()
	// The replacement is another process starting: not bound by the
	// killed transfer's short deadline (killTimeout), which a loaded
	// machine can spend before the new node has registered.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	fresh, err := startNode(sctx, s.env, s.next)
	if err != nil {
		return err
	}
	s.next++
	s.cur = fresh
	return nil
}

// close kills the current node for good.
func (s *slot) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	err := s.cur.kill()
	s.cur = nil
	return err
}
