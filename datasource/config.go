package datasource

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/atcc-go/atcc/undo"
)

// Defaults of Config.
const (
	// A waiter asks about a global lock again every millisecond, for 20
	// ms at most. The holder is usually between its local COMMIT and its
	// GlobalCommit, which takes a round trip or two: with 5 ms × 4 (the
	// same 20 ms) atcc-bench -hot's AT/local goodput was 0.26-0.32, with
	// 1 ms × 20 0.44-0.46; with 5% of the transfers aborted, 0.19-0.23 and
	// 0.28-0.29 (interleaved 12 s runs, README's Benchmarks).
	DefaultLockRetryInterval     = time.Millisecond
	DefaultLockRetries           = 20
	DefaultSchemaRefreshInterval = time.Minute
)

// Config configures a Connector. The zero value, with a ResourceID, is
// usable: every other field states its default.
type Config struct {
	// ResourceID names the data source at the coordinator: the same id on
	// every instance of a service that uses this database, so that any of
	// them can run phase two. Required by NewConnector; Register derives
	// "mysql://host:port/dbname" from the DSN when it is empty. It must not
	// contain a comma.
	ResourceID string
	// UndoTable is the undo log table's name. Default undo.DefaultTable
	// ("undo_log"); when empty, Undo.Table is used if set.
	UndoTable string
	// LockRetryInterval is the pause between two attempts to take global
	// locks: BranchRegister at commit, the lock query of SELECT ... FOR
	// UPDATE and of GlobalLock mode. Default 1 ms.
	LockRetryInterval time.Duration
	// LockRetries is how many times a global lock request is repeated after
	// a conflict before the local transaction gives up with a
	// *LockConflictError. Default 20; negative means no retry. No repeat
	// starts once LockRetries × LockRetryInterval have passed since the
	// wait began, however slowly the coordinator answers. The local
	// transaction holds its row locks meanwhile, which can keep the holder
	// of the global lock from rolling back: keep LockRetries ×
	// LockRetryInterval short and let tm.Manager.WithGlobalTx retry the
	// whole global transaction instead (see the package documentation,
	// "Lock conflicts").
	LockRetries int
	// SchemaRefreshInterval is how long table metadata (and the statement
	// plans built from it) is used before it is read again from
	// information_schema, as Java Seata refreshes every 60 s. Independently
	// of it, a changed table is noticed when an image is taken (a DELETE's
	// image holds columns the metadata lacks, an image query fails with
	// error 1054, a statement names a column the metadata lacks): the
	// metadata is then reloaded and the statement planned again, once.
	// What only the interval catches is a column an image query cannot
	// show missing: one added with ON UPDATE CURRENT_TIMESTAMP (an UPDATE's
	// image lacks it) or added INVISIBLE (SELECT * leaves it out of a
	// DELETE's image). Default 1 minute; negative never refreshes.
	SchemaRefreshInterval time.Duration
	// MultiStatements sends a branch's undo log INSERT and its local COMMIT
	// to the server as one query ("INSERT ... RETURNING 1; COMMIT",
	// see undo.Manager.InsertCommit): one round trip less per branch. It needs
	// target connections that accept several statements in one query: set
	// multiStatements=true in the target's DSN (mysql.Config.MultiStatements).
	// That also lets every query of the application hold several
	// statements, which makes an SQL injection worse. When it is set,
	// Connect checks each new connection with one query and fails with
	// ErrNoMultiStatements if it does not accept several statements.
	// Default false: the INSERT is a prepared statement, and the COMMIT is
	// sent when its answer has arrived. What it buys is latency, one
	// network round trip per branch, worth having when the database is
	// on another host: on the same host it measured no gain (slightly
	// fewer transactions per second; see finish in tx.go), as the server
	// still answers each statement on its own. Through a hop of 0.5 ms
	// round trip (atcc-bench -db-delay 250us), the p50 of an AT transfer
	// at concurrency 1 went from 1.41 to 1.30 times a local one's, about
	// 0.65 ms less (README, Benchmarks).
	MultiStatements bool
	// Undo configures the undo log manager (compression, size limit,
	// deleter batches, dirty-write check, the format undo logs are written
	// in: atcc's by default, Java Seata's jackson on request, and the JVM
	// time zone for reading Java Seata's logs). Its Tables is replaced by the
	// connector's own table metadata cache; its Table by UndoTable when that
	// is set; its Logger defaults to Logger.
	Undo undo.Config
	// Logger receives phase-two failures (Warn, Error) and per-branch
	// detail (Debug). Nothing is logged per statement at Info or above.
	// Default: discard.
	Logger *slog.Logger
}

// withDefaults returns a copy of cfg with every zero field set to its
// default, and negative LockRetries and SchemaRefreshInterval set to 0
// (no retry, no refresh).
func (cfg Config) withDefaults() Config {
	if cfg.LockRetryInterval == 0 {
		cfg.LockRetryInterval = DefaultLockRetryInterval
	}
	switch {
	case cfg.LockRetries == 0:
		cfg.LockRetries = DefaultLockRetries
	case cfg.LockRetries < 0:
		cfg.LockRetries = 0
	}
	switch {
	case cfg.SchemaRefreshInterval == 0:
		cfg.SchemaRefreshInterval = DefaultSchemaRefreshInterval
	case cfg.SchemaRefreshInterval < 0:
		cfg.SchemaRefreshInterval = 0
	}
	if cfg.UndoTable == "" {
		cfg.UndoTable = cfg.Undo.Table
	}
	if cfg.UndoTable == "" {
		cfg.UndoTable = undo.DefaultTable
	}
	cfg.Undo.Table = cfg.UndoTable
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Undo.Logger == nil {
		cfg.Undo.Logger = cfg.Logger
	}
	return cfg
}

// check reports the first setting of cfg that a Connector cannot use. Zero
// values are valid (ResourceID excepted): they take the defaults.
func (cfg Config) check() error {
	switch {
	case cfg.ResourceID == "":
		return fmt.Errorf("%w: ResourceID is empty", ErrInvalidConfig)
	case strings.Contains(cfg.ResourceID, ","):
		return fmt.Errorf("%w: ResourceID %q contains a comma", ErrInvalidConfig, cfg.ResourceID)
	case cfg.LockRetryInterval < 0:
		return fmt.Errorf("%w: LockRetryInterval is negative", ErrInvalidConfig)
	}
	return nil
}
