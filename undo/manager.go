package undo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc/internal/mysqlerr"
	"github.com/atcc-go/atcc/internal/schema"
)

// Config configures a Manager. The zero value is usable: every field states
// its default.
type Config struct {
	// Table is the undo log table's name. Default DefaultTable ("undo_log").
	Table string
	// Tables is the data source's table metadata cache, shared with the
	// driver wrapper. Default: a private cache over the Manager's *sql.DB.
	Tables *schema.Cache
	// CompressThreshold is the encoded size in bytes above which an undo
	// log is gzip-compressed. Default 32 KiB; negative never compresses.
	CompressThreshold int
	// MaxPayload caps an undo log's encoded, uncompressed size in bytes:
	// Insert refuses a larger log and Rollback stops inflating there, both
	// with ErrPayloadTooLarge. Default 64 MiB.
	MaxPayload int
	// SkipDataValidation turns off the dirty-write check: by default
	// (false, like Seata's client.undo.dataValidation=true) Rollback
	// restores rows only while they still equal the branch's after image.
	SkipDataValidation bool
	// JavaTimeZone is the default time zone of the JVMs running the Java
	// Seata clients whose undo logs Rollback may meet (see the package doc):
	// Java writes DATETIME, TIMESTAMP, DATE and YEAR values as epoch
	// milliseconds computed in that zone, so their wall clock cannot be
	// read back without it. Default nil: a Java log holding such a value is
	// refused with ErrUnsupportedFormat rather than guessed at. seata-go
	// logs carry their offsets and need no zone.
	JavaTimeZone *time.Location
	// Serializer is the format Insert writes undo logs in: SerializerATCC
	// (default; lossless for every MySQL type), or SerializerJackson /
	// SerializerJacksonApache, Java Seata's jackson JSON for Seata up to 2.0
	// / from 2.1, so that Java RMs on the same database can undo atcc's
	// branches (they need JavaTimeZone). Java's format cannot hold every
	// value: Insert then fails with ErrUnsupportedType (see
	// SerializerJackson). Rollback reads every format whatever this says.
	Serializer string
	// DeleteBatchSize is the most undo rows Commit's background deleter
	// removes with one statement. Default 100.
	DeleteBatchSize int
	// DeleteMaxDelay is how long a queued delete waits for its batch to
	// fill. Default 100 ms.
	DeleteMaxDelay time.Duration
	// DeleteQueueSize is how many deletes may wait; when it is full, Commit
	// deletes synchronously instead. Default 10000.
	DeleteQueueSize int
	// DeleteRetryBackoff is the wait before retrying a failed delete batch,
	// doubled on each failure up to DeleteMaxBackoff. Default 100 ms.
	DeleteRetryBackoff time.Duration
	// DeleteMaxBackoff bounds DeleteRetryBackoff's growth. Default 10 s.
	DeleteMaxBackoff time.Duration
	// Logger receives dirty-write reports (Error), failed background
	// deletes (Warn) and per-branch detail (Debug). Default: discard.
	Logger *slog.Logger
}

// Manager reads and writes one data source's undo logs: it inserts them in
// phase one (Insert), undoes branches on global rollback (Rollback) and
// deletes them on global commit (Commit, in the background).
//
// A Manager is safe for concurrent use. NewManager does no I/O; the
// background deleter starts with the first Commit. Call Close when done: it
// flushes queued deletes. Insert, Rollback and DeleteOlderThan keep working
// after Close.
type Manager struct {
	db          *sql.DB
	cfg         Config
	tables      *schema.Cache
	sql         statements
	log         *slog.Logger
	gzipWriters sync.Pool
	del         deleter
	noReturning atomic.Bool // the server refused INSERT ... RETURNING (InsertCommit)
}

// NewManager returns a Manager that runs its rollbacks and deletes through
// db, a pool of the raw target driver (go-sql-driver/mysql, not the AT
// wrapper) connected to the data source's database. db's session settings
// that change how values read and write (time_zone, sql_mode) should match
// the application's.
func NewManager(db *sql.DB, cfg Config) (*Manager, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrInvalid)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	q, err := checkTableName(cfg.Table)
	if err != nil {
		return nil, err
	}
	// One batch statement carries 2 placeholders per row; keep it modest.
	cfg.DeleteBatchSize = min(cfg.DeleteBatchSize, schema.MaxKeysPerStatement)
	m := &Manager{db: db, cfg: cfg, tables: cfg.Tables, sql: newStatements(q), log: cfg.Logger}
	if m.tables == nil {
		m.tables = schema.NewCache(db)
	}
	m.del.init(m)
	return m, nil
}

// Defaults of Config.
const (
	defaultCompressThreshold  = 32 << 10
	defaultMaxPayload         = 64 << 20
	defaultDeleteBatchSize    = 100
	defaultDeleteMaxDelay     = 100 * time.Millisecond
	defaultDeleteQueueSize    = 10000
	defaultDeleteRetryBackoff = 100 * time.Millisecond
	defaultDeleteMaxBackoff   = 10 * time.Second
)

// withDefaults returns a copy of c with every zero field set to its
// default (Tables excepted: NewManager makes a cache over its *sql.DB).
func (c Config) withDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.CompressThreshold == 0 {
		c.CompressThreshold = defaultCompressThreshold
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = defaultMaxPayload
	}
	if c.Serializer == "" {
		c.Serializer = SerializerATCC
	}
	if c.DeleteBatchSize == 0 {
		c.DeleteBatchSize = defaultDeleteBatchSize
	}
	if c.DeleteMaxDelay == 0 {
		c.DeleteMaxDelay = defaultDeleteMaxDelay
	}
	if c.DeleteQueueSize == 0 {
		c.DeleteQueueSize = defaultDeleteQueueSize
	}
	if c.DeleteRetryBackoff == 0 {
		c.DeleteRetryBackoff = defaultDeleteRetryBackoff
	}
	if c.DeleteMaxBackoff == 0 {
		c.DeleteMaxBackoff = defaultDeleteMaxBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// check reports the first setting of c that NewManager cannot use. Zero
// values are valid: they take the defaults.
func (c Config) check() error {
	if err := checkSerializer(&c); err != nil {
		return err
	}
	if c.MaxPayload < 0 || c.DeleteBatchSize < 0 || c.DeleteQueueSize < 0 ||
		c.DeleteMaxDelay < 0 || c.DeleteRetryBackoff < 0 || c.DeleteMaxBackoff < 0 {
		return fmt.Errorf("%w: negative size or duration in Config", ErrInvalid)
	}
	return nil
}

// Insert writes l as the branch's undo log through conn, the driver-level
// connection that holds the branch's open local transaction, so the log
// commits or rolls back with the business data. It must run after the
// branch's last statement and before its COMMIT.
//
// If a rollback of this branch has already run (it found no log and left a
// marker), Insert fails with ErrGlobalFinished: the caller must roll the
// local transaction back. Logs encoding to more than Config.MaxPayload bytes
// fail with ErrPayloadTooLarge.
//
// Insert runs one statement through conn.ExecContext. When that answers
// driver.ErrSkip (go-sql-driver/mysql's connection does unless
// interpolateParams=true), it prepares the statement instead, as
// database/sql would, which needs conn to implement
// driver.ConnPrepareContext as well.
func (m *Manager) Insert(ctx context.Context, conn driver.ExecerContext, l *BranchLog) error {
	if l == nil {
		return fmt.Errorf("%w: nil BranchLog", ErrInvalid)
	}
	if err := checkXID(l.XID); err != nil {
		return err
	}
	payload, uctx, err := m.encodeUndoLog(ctx, l)
	if err != nil {
		return err
	}
	l.Bytes = len(payload)
	args := []driver.NamedValue{
		{Ordinal: 1, Value: l.BranchID},
		{Ordinal: 2, Value: l.XID},
		{Ordinal: 3, Value: contextArg(uctx)},
		{Ordinal: 4, Value: payload},
	}
	if err := execDriver(ctx, conn, m.sql.insert, args); err != nil {
		return insertError(l, err)
	}
	return nil
}

// insertError classifies the failure of l's undo log INSERT.
func insertError(l *BranchLog, err error) error {
	if mysqlerr.Is(err, mysqlerr.DupEntry) {
		return fmt.Errorf("%w: xid %s branch %d: %w", ErrGlobalFinished, l.XID, l.BranchID, err)
	}
	if mysqlerr.Is(err, mysqlerr.NoSuchTable) {
		return fmt.Errorf("atcc/undo: insert undo log (xid %s branch %d): the undo log table is missing in this database: "+
			"create it with undo.CreateTable(ctx, db, \"\") or apply undo.DDL (go doc github.com/atcc-go/atcc/undo.DDL prints it): %w",
			l.XID, l.BranchID, err)
	}
	return fmt.Errorf("atcc/undo: insert undo log (xid %s branch %d): %w", l.XID, l.BranchID, err)
}

// contextArg boxes a rollback context for a driver argument; the usual
// ones are constants, which box without an allocation (1 per branch,
// atcc-bench).
func contextArg(uctx string) driver.Value {
	switch uctx {
	case contextNone:
		return contextNone
	case contextGzip:
		return contextGzip
	}
	return uctx
}

// execDriver runs query on a driver connection the way database/sql does:
// ExecContext, or a prepared statement when the driver answers ErrSkip.
func execDriver(ctx context.Context, conn driver.ExecerContext, query string, args []driver.NamedValue) error {
	_, err := conn.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		return err
	}
	pc, ok := conn.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("atcc/undo: the connection skipped ExecContext and cannot prepare (driver.ConnPrepareContext): %w", err)
	}
	stmt, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	if sc, ok := stmt.(driver.StmtExecContext); ok {
		_, err = sc.ExecContext(ctx, args)
		return err
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	_, err = stmt.Exec(vals) //nolint:staticcheck // drivers without StmtExecContext
	return err
}
