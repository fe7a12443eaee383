package datasource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
	"github.com/atcc-go/atcc/internal/clockcache"
	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/undo"
)

// closeTimeout bounds the flush of queued undo log deletes when a
// Connector closes.
const closeTimeout = 10 * time.Second

// resource is one AT data source: the rm.Resource registered with the
// client, and what every connection of the data source shares (table
// metadata, parser, statement plans, the undo log manager). It is safe for
// concurrent use.
type resource struct {
	id     string
	cfg    Config
	client *atcc.Client
	raw    *sql.DB // pool of the unwrapped driver: metadata, session facts, phase two
	tables *schema.Cache
	undo   *undo.Manager

	env   atomic.Pointer[sessionEnv] // nil until first needed
	envMu sync.Mutex                 // serialises the loading of env

	plans *clockcache.Cache[*plan]
	// seen records every table name plans looked up, for RefreshSchema.
	seen sync.Map // tableRef -> struct{}

	closeOnce sync.Once
	closeErr  error

	// afterRegister, when set (tests), runs between BranchRegister and the
	// undo log insert of a branch.
	afterRegister func(xid string, branchID int64)
	// afterBeforeImage, when set (tests), runs between the before images of
	// an UPDATE or DELETE and the statement.
	afterBeforeImage func()
}

// sessionEnv holds facts about the data source's sessions read once: the
// parser for their sql_mode and their default database.
type sessionEnv struct {
	parser    *sqlparse.Parser
	defaultDB string
	// zeroKey: sql_mode has NO_AUTO_VALUE_ON_ZERO, under which 0 given
	// for an auto-increment column is stored, not a request for a key.
	zeroKey bool
	// padChar: sql_mode has PAD_CHAR_TO_FULL_LENGTH, under which CHAR
	// values are read, and compared, padded to the column's length.
	padChar bool
}

type tableRef struct{ schema, name string }

func newResource(raw *sql.DB, client *atcc.Client, cfg Config) (*resource, error) {
	tables := schema.NewCache(raw)
	tables.SetMaxAge(cfg.SchemaRefreshInterval)
	ucfg := cfg.Undo
	ucfg.Tables = tables
	mgr, err := undo.NewManager(raw, ucfg)
	if err != nil {
		return nil, fmt.Errorf("atcc/datasource: %w", err)
	}
	r := &resource{id: cfg.ResourceID, cfg: cfg, client: client, raw: raw, tables: tables, undo: mgr,
		plans: clockcache.New[*plan](planCacheSize)}
	if err := client.RM().Register(context.Background(), r); err != nil {
		mgr.Close(context.Background())
		return nil, fmt.Errorf("atcc/datasource: register resource %s: %w", r.id, err)
	}
	return r, nil
}

// close unregisters the resource, flushes queued undo deletes and closes the
// raw pool. It is idempotent.
func (r *resource) close() error {
	r.closeOnce.Do(func() {
		var errs []error
		if err := r.client.RM().Unregister(protocol.BranchAT, r.id); err != nil && !errors.Is(err, rm.ErrUnknownResource) {
			errs = append(errs, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		errs = append(errs, r.undo.Close(ctx))
		cancel()
		errs = append(errs, r.raw.Close())
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// ResourceID implements rm.Resource.
func (r *resource) ResourceID() string { return r.id }

// BranchType implements rm.Resource: AT.
func (r *resource) BranchType() protocol.BranchType { return protocol.BranchAT }

// BranchCommit implements rm.Resource: the undo log is no longer needed and
// is queued for deletion.
func (r *resource) BranchCommit(ctx context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	if err := r.undo.Commit(ctx, b.XID, b.BranchID); err != nil {
		return protocol.PhaseTwoCommitFailedRetryable, err
	}
	return protocol.PhaseTwoCommitted, nil
}

// BranchRollback implements rm.Resource: the branch's changes are undone.
// A retryable failure (connection, deadlock, lock wait) asks the coordinator
// to try again; anything else, a dirty write above all, is final: the data is
// left as it is and the coordinator keeps the branch's row locks.
func (r *resource) BranchRollback(ctx context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	err := r.undo.Rollback(ctx, b.XID, b.BranchID)
	switch {
	case err == nil:
		return protocol.PhaseTwoRollbacked, nil
	case undo.IsRetryable(err):
		return protocol.PhaseTwoRollbackFailedRetryable, err
	default:
		return protocol.PhaseTwoRollbackFailedUnretryable, err
	}
}

// undoDeleteLimit is how many undo rows one DeleteOlderThan call removes.
const undoDeleteLimit = 1000

// DeleteUndoLogs implements rm.UndoLogDeleter: it removes undo logs older
// than saveDays days, in batches, until a batch comes back short.
func (r *resource) DeleteUndoLogs(ctx context.Context, saveDays int) error {
	for {
		n, err := r.undo.DeleteOlderThan(ctx, saveDays, undoDeleteLimit)
		if err != nil {
			return err
		}
		if n < undoDeleteLimit {
			return nil
		}
	}
}

// sessionEnv returns the session facts, reading them on first use.
// A failed read is not cached.
func (r *resource) sessionEnv(ctx context.Context) (*sessionEnv, error) {
	if e := r.env.Load(); e != nil {
		return e, nil
	}
	r.envMu.Lock()
	defer r.envMu.Unlock()
	if e := r.env.Load(); e != nil {
		return e, nil
	}
	var mode string
	var db sql.NullString
	if err := r.raw.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode, DATABASE()").Scan(&mode, &db); err != nil {
		return nil, fmt.Errorf("atcc/datasource: read session settings: %w", err)
	}
	e := &sessionEnv{parser: sqlparse.New(sqlparse.Config{SQLMode: mode}), defaultDB: db.String, zeroKey: hasMode(mode, "NO_AUTO_VALUE_ON_ZERO"),
		padChar: hasMode(mode, "PAD_CHAR_TO_FULL_LENGTH")}
	r.env.Store(e)
	return e, nil
}

// table returns the metadata of a table named in a statement, remembering
// the name for RefreshSchema.
func (r *resource) table(ctx context.Context, schemaName, name string) (*schema.Table, error) {
	t, err := r.tables.Table(ctx, schemaName, name)
	if err != nil {
		return nil, err
	}
	k := tableRef{schemaName, name}
	if _, ok := r.seen.Load(k); !ok {
		r.seen.Store(k, struct{}{})
		r.seen.Store(tableRef{t.Schema, t.Name}, struct{}{})
	}
	return t, nil
}

// lockName is the table part of a lock key: the table name in lower case,
// qualified with its (lower-case) schema when that is not the default
// database, so that `Account`, account and db.account lock the same rows.
func (e *sessionEnv) lockName(t *schema.Table) string {
	if strings.EqualFold(t.Schema, e.defaultDB) {
		return strings.ToLower(t.Name)
	}
	return strings.ToLower(t.Schema) + "." + strings.ToLower(t.Name)
}

// refreshSchema reloads the metadata of every table the data source has
// used (or of the named ones) and forgets every statement plan.
func (r *resource) refreshSchema(ctx context.Context, names []string) error {
	var refs []tableRef
	if len(names) == 0 {
		r.seen.Range(func(k, _ any) bool {
			refs = append(refs, k.(tableRef))
			return true
		})
	} else {
		for _, n := range names {
			s, t, ok := strings.Cut(n, ".")
			if !ok {
				s, t = "", n
			}
			refs = append(refs, tableRef{s, t})
		}
	}
	defer r.plans.Clear()
	var errs []error
	for _, ref := range refs {
		if _, err := r.tables.Refresh(ctx, ref.schema, ref.name); err != nil {
			if errors.Is(err, schema.ErrTableNotFound) {
				r.tables.Invalidate(ref.schema, ref.name)
				r.seen.Delete(ref)
				continue
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// hasMode reports whether the sql_mode value mode includes name.
func hasMode(mode, name string) bool {
	for _, m := range strings.Split(mode, ",") {
		if strings.EqualFold(strings.TrimSpace(m), name) {
			return true
		}
	}
	return false
}
