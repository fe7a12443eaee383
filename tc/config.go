package tc

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/observe"
)

// Config configures a Server. The zero value is a usable configuration: a
// memory store and Java Seata's defaults. Durations left at zero take the
// default their comment names.
type Config struct {
	// DB selects the MySQL store: transactions are kept in the tables of
	// DDL in DB's database, survive a restart, and can be shared by
	// several coordinators, which then serve the same clients and decide
	// lock conflicts in the database. nil selects the memory store: fast,
	// but a restart loses every transaction in flight.
	//
	// The server never closes DB. Give the pool enough idle connections for
	// the load (sql.DB.SetMaxIdleConns; database/sql keeps only 2 by
	// default); a request uses one connection at a time.
	DB *sql.DB

	// AdvertiseAddr is the host:port XIDs start with ("host:port:id"); some
	// clients route by it. Default: the address the server listens on, with
	// an unspecified host (0.0.0.0, ::, "") replaced by the machine's first
	// non-loopback IPv4 address, or 127.0.0.1 when it has none.
	AdvertiseAddr string

	// RetryPeriod is how often the server looks for work that is due:
	// transactions past their timeout, phase-two retries, and transactions
	// left by a coordinator that stopped. It is also the first retry delay.
	// Default 1s (Java's).
	RetryPeriod time.Duration

	// MaxRetryBackoff caps the delay between two phase-two attempts of one
	// transaction, which doubles after each failure from RetryPeriod.
	// Default 1 minute. A branch whose RM had no session is retried as soon
	// as a session for its resource registers, whatever the backoff.
	MaxRetryBackoff time.Duration

	// BranchTimeout bounds each BranchCommit / BranchRollback call to an RM.
	// No answer in time counts as a retryable failure. Default 15s (Java's).
	BranchTimeout time.Duration

	// LeaseTimeout is how long a coordinator owns a transaction whose phase
	// two it runs. With the MySQL store, a coordinator that dies while
	// running phase two leaves its transactions to the others (or to its
	// own restart) once its lease ends; a coordinator that stops
	// gracefully hands them over at once. Default 1 minute; it is raised
	// to twice BranchTimeout if shorter.
	LeaseTimeout time.Duration

	// MaxCommitRetryTimeout and MaxRollbackRetryTimeout end the retries of a
	// transaction that keeps failing phase two this long after it began:
	// it becomes CommitRetryTimeout or RollbackRetryTimeout, keeps its row
	// locks (rollback), and is logged as needing manual action. Default 0:
	// retry forever, as Java does.
	MaxCommitRetryTimeout, MaxRollbackRetryTimeout time.Duration

	// EndedRetention is how long the outcome of a successfully ended
	// transaction is remembered, so that a TM that retries a commit whose
	// answer it lost, or asks GlobalStatus, learns it. After that (and for a
	// transaction that never existed) the answer is Finished, as Java's.
	// The memory store remembers at most 100,000 ends. Default 10 minutes;
	// negative: forget at once.
	EndedRetention time.Duration

	// UndoLogDeletePeriod is how often RMs are asked to delete their old AT
	// undo logs (UndoLogDeleteRequest, once per AT resource). Default 24h;
	// negative disables.
	UndoLogDeletePeriod time.Duration

	// UndoLogSaveDays is the age in days of the undo logs RMs delete.
	// Default 7.
	UndoLogSaveDays int

	// Logger receives the server's logs: Warn for retried failures, Error
	// for transactions that need manual action. Default: discard.
	Logger *slog.Logger

	// Observer, when set, is told of every client request handled, every
	// phase-two call to an RM and every transaction end, for metrics and
	// tracing (see package observe; otelatcc.New returns one built on
	// OpenTelemetry, and otelatcc.ObserveCoordinator reports Stats as
	// gauges). Default nil: nothing is observed.
	Observer observe.Observer

	// Limits bound what clients can make the coordinator hold: the
	// longest transaction timeout, lock keys, open transactions. The zero
	// value takes safe defaults (see Limits).
	Limits Limits

	// SharedOwnership lets any application commit, roll back, report or
	// ask the status of any transaction, register a branch on a resource
	// its connection did not register, and lets any session serving an AT
	// resource run phase two of its branches, as Apache Seata does.
	// Default false: a transaction belongs to the application that began
	// it, and a branch's phase two goes to sessions of the application
	// that registered it (see the README's Security section).
	SharedOwnership bool

	// ResourceApplications, when not nil, names for a resource id the
	// applications allowed to register branches on it (and so to lock its
	// rows and receive their phase two). A resource it does not list is
	// open to every application. It closes lock squatting on a shared
	// database: see the README's Security section.
	ResourceApplications map[string][]string

	// RPC configures the transport: idle timeout, worker pool, TLS, batch
	// answers, the version announced to clients, connection and buffer
	// limits (RPC.Limits), authentication (RPC.Auth). Its Logger defaults to
	// Logger, and its Workers to 128 rather than rpc's 32: a GlobalCommit
	// with a TCC branch, or a GlobalRollback, holds a worker while phase two
	// calls the RMs. Its RequestTimeout is replaced by BranchTimeout.
	RPC TransportConfig
}

// Defaults of Config.
const (
	defaultRetryPeriod         = time.Second
	defaultMaxRetryBackoff     = time.Minute
	defaultBranchTimeout       = 15 * time.Second
	defaultLeaseTimeout        = time.Minute
	defaultEndedRetention      = 10 * time.Minute
	defaultUndoLogDeletePeriod = 24 * time.Hour
	defaultUndoLogSaveDays     = 7
	// defaultRPCWorkers replaces rpc's default of RPC.Workers: a
	// GlobalCommit with a TCC branch, or a GlobalRollback, holds a worker
	// while phase two runs.
	defaultRPCWorkers = 128
)

// check reports the first setting of cfg that New cannot use. Zero values
// are valid: they take the defaults.
func (cfg Config) check() error {
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"RetryPeriod", cfg.RetryPeriod},
		{"MaxRetryBackoff", cfg.MaxRetryBackoff},
		{"BranchTimeout", cfg.BranchTimeout},
		{"LeaseTimeout", cfg.LeaseTimeout},
	} {
		if d.d < 0 {
			return fmt.Errorf("atcc/tc: Config.%s is negative (%v)", d.name, d.d)
		}
	}
	if cfg.UndoLogSaveDays < 0 || cfg.UndoLogSaveDays > 32767 {
		return fmt.Errorf("atcc/tc: Config.UndoLogSaveDays is out of range (%d)", cfg.UndoLogSaveDays)
	}
	if cfg.AdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.AdvertiseAddr); err != nil {
			return fmt.Errorf("atcc/tc: Config.AdvertiseAddr: %w", err)
		}
	}
	return nil
}

// withDefaults returns a copy of cfg with every zero field set to its
// default, Limits and the RPC fields the coordinator decides (Logger,
// Workers, RequestTimeout) included; MaxRetryBackoff is raised to
// RetryPeriod and LeaseTimeout to twice BranchTimeout.
func (cfg Config) withDefaults() Config {
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = defaultRetryPeriod
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = defaultMaxRetryBackoff
	}
	if cfg.BranchTimeout == 0 {
		cfg.BranchTimeout = defaultBranchTimeout
	}
	if cfg.LeaseTimeout == 0 {
		cfg.LeaseTimeout = defaultLeaseTimeout
	}
	if cfg.EndedRetention == 0 {
		cfg.EndedRetention = defaultEndedRetention
	}
	if cfg.UndoLogDeletePeriod == 0 {
		cfg.UndoLogDeletePeriod = defaultUndoLogDeletePeriod
	}
	if cfg.UndoLogSaveDays == 0 {
		cfg.UndoLogSaveDays = defaultUndoLogSaveDays
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RPC.Logger == nil {
		cfg.RPC.Logger = cfg.Logger
	}
	if cfg.RPC.Workers == 0 {
		cfg.RPC.Workers = defaultRPCWorkers
	}
	// The coordinator's only calls to clients are BranchCommit and
	// BranchRollback: BranchTimeout bounds them (see sessionIndex.phaseTwo).
	cfg.RPC.RequestTimeout = cfg.BranchTimeout
	cfg.MaxRetryBackoff = max(cfg.MaxRetryBackoff, cfg.RetryPeriod)
	cfg.LeaseTimeout = max(cfg.LeaseTimeout, 2*cfg.BranchTimeout)
	cfg.Limits = cfg.Limits.withDefaults()
	return cfg
}

// coreConfig derives the coordinator's configuration.
func (cfg Config) coreConfig() coreConfig {
	return coreConfig{
		owner:            instanceID(),
		retryPeriod:      cfg.RetryPeriod,
		backoffMax:       cfg.MaxRetryBackoff,
		branchTimeout:    cfg.BranchTimeout,
		lease:            cfg.LeaseTimeout,
		maxCommitRetry:   cfg.MaxCommitRetryTimeout,
		maxRollbackRetry: cfg.MaxRollbackRetryTimeout,
		retention:        cfg.EndedRetention,
		log:              cfg.Logger,
		now:              time.Now,
		limits:           cfg.Limits,
		shared:           cfg.SharedOwnership,
		resourceApps:     cfg.ResourceApplications,
	}
}

// instanceID names one life of one coordinator, for leases.
func instanceID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "tc-" + hex.EncodeToString(b[:])
}

// advertiseAddr is the host:port for XIDs when the server listens on addr.
func advertiseAddr(listen net.Addr) (string, error) {
	host, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = outwardIP()
	}
	return net.JoinHostPort(host, port), nil
}

// outwardIP returns the first non-loopback IPv4 address of the machine, or
// 127.0.0.1.
func outwardIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// The coordinator's transport settings. The transport itself is internal;
// these are its configuration types, documented where they are declared
// (go doc github.com/atcc-go/atcc/internal/rpc ServerConfig).
type (
	// TransportConfig configures the listening side: address, worker
	// pool, idle timeout, TLS, limits and authentication.
	TransportConfig = rpc.ServerConfig
	// TransportLimits bounds what one client may hold or send: connections,
	// frame sizes, pending requests, registration time.
	TransportLimits = rpc.ServerLimits
	// TransportAuth authenticates clients: Seata's access-key digest and
	// certificate-bound applications.
	TransportAuth = rpc.ServerAuth
	// AccessKey is one access key and its secret (TransportAuth.AccessKeys).
	AccessKey = rpc.AccessKey
)
