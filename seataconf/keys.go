package seataconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// dialect is the family a file belongs to: it decides how bare numbers
// read as durations.
type dialect int

const (
	// dialectGo: seatago.yml. Durations are Go duration strings ("30s");
	// seata-go reads a bare number as nanoseconds, so the loader refuses
	// one rather than guess.
	dialectGo dialect = iota
	// dialectJava: file.conf, registry.conf and Spring's application.yml.
	// A bare number is in the key's Java unit (milliseconds for timeouts
	// and the lock retry interval); a string with a unit ("1h", as
	// Spring's Duration takes) is accepted too.
	dialectJava
)

// rule maps the keys matching pattern onto Settings. A pattern is a dotted
// path of canonical segments (see canon); "*" matches one segment, which
// is handed to apply as written; a trailing "**" matches any rest.
type rule struct {
	pattern string
	apply   func(l *loader, e entry, wild []string)
}

// ignore marks keys that configure machinery atcc does not have and that
// change nothing in its behaviour.
func ignore(l *loader, e entry, _ []string) {
	l.s.Ignored = append(l.s.Ignored, e.where())
}

// unhonoured is a rule for a known key whose Seata default atcc matches
// and whose other values it cannot honour: the default is accepted (and
// listed as ignored), anything else is a warning carrying why.
func unhonoured(def, why string) func(l *loader, e entry, _ []string) {
	return func(l *loader, e entry, _ []string) {
		if e.kind == null || (e.kind == scalar && strings.EqualFold(e.text, def)) {
			ignore(l, e, nil)
			return
		}
		l.warnf(e, "%s", why)
	}
}

// rules is the key table, shared by all formats. Keys are given without
// the "seata." prefix of seatago.yml and application.yml.
var rules = []rule{
	// Identity and credentials.
	{"applicationid", func(l *loader, e entry, _ []string) { l.str(e, &l.s.Client.ApplicationID) }},
	{"txservicegroup", func(l *loader, e entry, _ []string) {
		if l.str(e, &l.s.Client.TxServiceGroup) {
			l.groupSet = true
		}
	}},
	{"accesskey", func(l *loader, e entry, _ []string) { l.str(e, &l.s.Client.AccessKey) }},
	{"secretkey", func(l *loader, e entry, _ []string) { l.str(e, &l.s.Client.SecretKey) }},
	{"enabled", unhonoured("true", "atcc has no switch that turns it off: do not create the client")},
	{"datasourceproxymode", func(l *loader, e entry, _ []string) {
		var m string
		if l.str(e, &m) && !strings.EqualFold(m, "AT") {
			l.unsupported(e, "atcc proxies data sources in AT mode only, not %s", m)
		}
	}},
	{"enableautodatasourceproxy", ignore}, // Spring bean post-processing; in Go, datasource.Register
	{"usejdkproxy", ignore},
	{"exposeproxy", ignore},
	{"scanpackages", ignore},
	{"excludesforscanning", ignore},
	{"excludesforautoproxying", ignore},

	// client.rm
	{"client.rm.asynccommitbufferlimit", func(l *loader, e entry, _ []string) { l.positive(e, &l.s.DataSource.Undo.DeleteQueueSize) }},
	{"client.rm.reportretrycount", unhonoured("5", "atcc reports a failed phase one once, best effort; the coordinator's timeout covers a lost report")},
	{"client.rm.reportsuccessenable", unhonoured("false", "atcc does not report successful phase ones")},
	{"client.rm.tablemetacheckenable", ignore}, // atcc's metadata follows the live schema
	{"client.rm.tablemetacheckerinterval", ignore},
	{"client.rm.sagabranchregisterenable", ignore},
	{"client.rm.sagajsonparser", ignore},
	{"client.rm.sagaretrypersistmodeupdate", ignore},
	{"client.rm.sagacompensatepersistmodeupdate", ignore},
	{"client.rm.tccactioninterceptororder", ignore},
	{"client.rm.sqlparsertype", ignore}, // atcc parses with the TiDB parser
	{"client.rm.branchexecutiontimeoutxa", ignore},
	{"client.rm.connectiontwophaseholdtimeoutxa", ignore},
	{"client.rm.applicationdatalimit", ignore},
	{"client.rm.applicationdatalimitcheck", ignore},
	{"client.rm.lock.retryinterval", func(l *loader, e entry, _ []string) {
		l.duration(e, time.Millisecond, &l.s.DataSource.LockRetryInterval)
	}},
	{"client.rm.lock.retrytimes", func(l *loader, e entry, _ []string) {
		if l.dialect == dialectGo {
			// seata-go hands it to its backoff as the number of attempts.
			l.attempts(e, &l.s.DataSource.LockRetries)
		} else {
			l.retries(e, &l.s.DataSource.LockRetries)
		}
	}},
	{"client.rm.lock.retrypolicybranchrollbackonconflict", ignore},

	// client.tm
	{"client.tm.commitretrycount", func(l *loader, e entry, _ []string) { l.attempts(e, &l.s.Client.CommitRetries) }},
	{"client.tm.rollbackretrycount", func(l *loader, e entry, _ []string) { l.attempts(e, &l.s.Client.RollbackRetries) }},
	{"client.tm.defaultglobaltransactiontimeout", func(l *loader, e entry, _ []string) {
		l.duration(e, time.Millisecond, &l.s.Client.DefaultTimeout)
	}},
	{"client.tm.degradecheck", unhonoured("false", "atcc has no degrade check: a coordinator outage fails Begin")},
	{"client.tm.degradecheckperiod", ignore},
	{"client.tm.degradecheckallowtimes", ignore},
	{"client.tm.interceptororder", ignore},

	// client.undo
	{"client.undo.datavalidation", func(l *loader, e entry, _ []string) {
		var v bool
		if l.boolean(e, &v) {
			l.s.DataSource.Undo.SkipDataValidation = !v
		}
	}},
	{"client.undo.logserialization", func(l *loader, e entry, _ []string) {
		if l.str(e, &l.s.UndoLogSerialization) && l.s.UndoLogSerialization != "" {
			l.warnf(e, "atcc writes undo logs in its own format, not %s, unless datasource.Config.Undo.Serializer asks for jackson: a %s client cannot roll back a branch atcc wrote in its own format (atcc reads theirs; see the README, Undo logs of other clients)",
				l.s.UndoLogSerialization, clientOf(l.s.UndoLogSerialization))
		}
	}},
	{"client.undo.logtable", func(l *loader, e entry, _ []string) { l.str(e, &l.s.DataSource.UndoTable) }},
	{"client.undo.onlycareupdatecolumns", ignore},
	{"client.undo.compress.enable", func(l *loader, e entry, _ []string) {
		var v bool
		if l.boolean(e, &v) && !v {
			l.compressOff = true
		}
	}},
	{"client.undo.compress.type", func(l *loader, e entry, _ []string) {
		var t string
		if l.str(e, &t) && !strings.EqualFold(t, "gzip") {
			l.warnf(e, "atcc compresses undo logs with gzip, not %s (it records the compressor with each log, so readers are not misled)", t)
		}
	}},
	{"client.undo.compress.threshold", func(l *loader, e entry, _ []string) {
		if n, ok := l.size(e); ok {
			l.s.DataSource.Undo.CompressThreshold = n
		}
	}},
	{"client.loadbalance.**", ignore}, // atcc sends a transaction's calls to the coordinator its XID names
	{"client.xa.**", ignore},

	// service
	{"service.vgroupmapping.*", func(l *loader, e entry, w []string) {
		var c string
		if l.str(e, &c) {
			l.s.VGroupMapping[w[0]] = c
		}
	}},
	{"service.vgroupmapping", func(l *loader, e entry, _ []string) {
		l.invalid(e, "want a block of tx-service-group: cluster, found a %s", e.kind)
	}},
	{"service.grouplist", func(l *loader, e entry, _ []string) {
		l.invalid(e, "want a block of cluster: addresses, found a %s", e.kind)
	}},
	{"service.grouplist.*", func(l *loader, e entry, w []string) { l.addresses(e, w[0]) }},
	{"service.*.grouplist", func(l *loader, e entry, w []string) { l.addresses(e, w[0]) }},
	{"service.enabledegrade", unhonoured("false", "atcc has no degrade mode")},
	{"service.disableglobaltransaction", unhonoured("false", "atcc has no switch that turns global transactions off: do not create the client")},

	// transport
	{"transport.type", func(l *loader, e entry, _ []string) { l.only(e, "TCP", "atcc connects over TCP only") }},
	{"transport.protocol", func(l *loader, e entry, _ []string) { l.only(e, "seata", "atcc speaks the Seata RPC protocol only") }},
	{"transport.serialization", func(l *loader, e entry, _ []string) {
		l.only(e, "seata", "atcc encodes messages with the SEATA codec only")
	}},
	{"transport.compressor", func(l *loader, e entry, _ []string) {
		var c string
		if l.str(e, &c) && !strings.EqualFold(c, "none") {
			l.warnf(e, "atcc sends messages uncompressed (it reads gzip-compressed ones), not %s", c)
		}
	}},
	{"transport.heartbeat", func(l *loader, e entry, _ []string) {
		var v bool
		if l.boolean(e, &v) {
			l.heartbeatOff = !v
		}
	}},
	{"transport.rpctmrequesttimeout", func(l *loader, e entry, _ []string) { l.requestTimeout(e, &l.tmTimeout) }},
	{"transport.rpcrmrequesttimeout", func(l *loader, e entry, _ []string) { l.requestTimeout(e, &l.rmTimeout) }},
	{"transport.enableclientbatchsendrequest", func(l *loader, e entry, _ []string) { l.batchKey(e, &l.batch.all) }},
	{"transport.enabletmclientbatchsendrequest", func(l *loader, e entry, _ []string) { l.batchKey(e, &l.batch.tm) }},
	{"transport.enablermclientbatchsendrequest", func(l *loader, e entry, _ []string) { l.batchKey(e, &l.batch.rm) }},
	{"transport.server", ignore},
	{"transport.shutdown.**", ignore},
	{"transport.threadfactory.**", ignore},
	// TLS: neither Seata client documents TLS keys; these are atcc's.
	{"transport.tls.enabled", func(l *loader, e entry, _ []string) { l.boolean(e, &l.tls.enabled) }},
	{"transport.tls.cafile", func(l *loader, e entry, _ []string) { l.tlsFile(e, &l.tls.ca) }},
	{"transport.tls.certfile", func(l *loader, e entry, _ []string) { l.tlsFile(e, &l.tls.cert) }},
	{"transport.tls.keyfile", func(l *loader, e entry, _ []string) { l.tlsFile(e, &l.tls.key) }},
	{"transport.tls.servername", func(l *loader, e entry, _ []string) { l.str(e, &l.tls.serverName) }},

	// getty (seata-go)
	{"getty.connectionnum", func(l *loader, e entry, _ []string) { l.positive(e, &l.s.Client.PoolSize) }},
	{"getty.session.cronperiod", func(l *loader, e entry, _ []string) {
		l.duration(e, time.Millisecond, &l.s.Client.HeartbeatInterval)
	}},
	{"getty.reconnectinterval", ignore}, // atcc backs off from 100 ms to 10 s
	{"getty.loadbalancetype", ignore},
	{"getty.session.**", ignore}, // socket options and buffer sizes: atcc sets its own

	// registry and config centre
	{"registry.type", func(l *loader, e entry, _ []string) {
		var t string
		if !l.str(e, &t) {
			return
		}
		switch t = strings.ToLower(t); t {
		case RegistryFile, RegistryEtcd3:
			l.s.Registry.Type = t
		default:
			l.unsupported(e, "atcc finds coordinators through the file and etcd3 registries only, not %s", t)
		}
	}},
	{"registry.etcd3.serveraddr", func(l *loader, e entry, _ []string) {
		var a string
		if l.str(e, &a) {
			l.etcdAddrs = splitList(a, ",")
		}
	}},
	{"registry.etcd3.cluster", func(l *loader, e entry, _ []string) { l.str(e, &l.s.Registry.Cluster) }},
	{"registry.**", ignore}, // the blocks of registries not selected by registry.type
	{"config.type", func(l *loader, e entry, _ []string) {
		var t string
		if l.str(e, &t) && !strings.EqualFold(t, "file") {
			l.unsupported(e, "atcc reads configuration from files only, not from %s: export the keys to a file", t)
		}
	}},
	{"config.file.name", func(l *loader, e entry, _ []string) { l.str(e, &l.configFile) }},
	{"config.**", ignore},

	// tcc
	{"tcc.fence.enable", func(l *loader, e entry, _ []string) { l.boolean(e, &l.fenceOn) }},
	{"tcc.fence.url", func(l *loader, e entry, _ []string) { l.str(e, &l.fenceURL) }},
	{"tcc.fence.logtablename", func(l *loader, e entry, _ []string) { l.str(e, &l.s.TCC.FenceTable) }},
	{"tcc.fence.cleanperiod", func(l *loader, e entry, _ []string) {
		// Java and seata-go delete the rows older than clean-period
		// every clean-period; zero or negative turns the task off.
		d, ok := l.anyDuration(e, time.Millisecond)
		if !ok {
			return
		}
		if d <= 0 {
			l.s.TCC.FenceCleanupAfter = -1
			return
		}
		l.s.TCC.FenceCleanupAfter, l.s.TCC.FenceCleanupPeriod = d, d
	}},
	{"tcc.contextjsonparsertype", ignore},
	{"tcc.fence.cleanmode", ignore},

	{"log.exceptionrate", ignore},
	{"saga.**", ignore},
	{"async.**", ignore}, // seata-go's phase-two worker; atcc's is Undo.Delete*
}

// clientOf names the client that writes an undo serialization.
func clientOf(serialization string) string {
	if strings.EqualFold(serialization, "json") {
		return "seata-go"
	}
	return "Java"
}

// match reports whether the canonical path c matches pattern, and the
// segments of path the wildcards matched.
func match(pattern string, path []string, c []string) ([]string, bool) {
	ps := strings.Split(pattern, ".")
	var wild []string
	for i, p := range ps {
		if p == "**" {
			return wild, i < len(c)
		}
		if i >= len(c) {
			return nil, false
		}
		switch p {
		case "*":
			wild = append(wild, path[i])
		case c[i]:
		default:
			return nil, false
		}
	}
	return wild, len(ps) == len(c)
}

// The typed readers below record a *KeyError for a value of the wrong type
// and return false; a null value leaves the target alone and returns false.

func (l *loader) str(e entry, dst *string) bool {
	switch e.kind {
	case null:
		return false
	case scalar:
		*dst = strings.TrimSpace(e.text)
		return true
	}
	l.invalid(e, "want a string, found a %s", e.kind)
	return false
}

func (l *loader) boolean(e entry, dst *bool) bool {
	var s string
	if !l.str(e, &s) {
		return false
	}
	switch strings.ToLower(s) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		l.invalid(e, "want true or false, found %q", s)
		return false
	}
	return true
}

func (l *loader) integer(e entry) (int, bool) {
	var s string
	if !l.str(e, &s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		l.invalid(e, "want an integer, found %q", s)
		return 0, false
	}
	return int(n), true
}

// positive reads an integer that must be > 0.
func (l *loader) positive(e entry, dst *int) {
	if n, ok := l.integer(e); ok {
		if n <= 0 {
			l.invalid(e, "want a positive integer, found %d", n)
			return
		}
		*dst = n
	}
}

// retries reads Java's lock retry count, the retries after the first
// attempt (LockRetryController): 0 or less means no retry, which atcc
// spells as a negative count (its zero means the default).
func (l *loader) retries(e entry, dst *int) {
	if n, ok := l.integer(e); ok {
		if n <= 0 {
			n = -1
		}
		*dst = n
	}
}

// attempts reads a count of attempts, the first one included, and stores
// it as atcc's count of resends (N-1; -1 for none). Java's TM counts so
// and takes 0 or less as its default, 5 attempts; seata-go's backoff
// counts so too, and takes 0 as no limit, which atcc does not offer: its
// own default then applies, with a warning.
func (l *loader) attempts(e entry, dst *int) {
	n, ok := l.integer(e)
	switch {
	case !ok:
	case n >= 2:
		*dst = n - 1
	case n == 1:
		*dst = -1
	case l.dialect == dialectJava:
		*dst = javaDefaultAttempts - 1
	case n == 0:
		l.warnf(e, "seata-go retries without limit when this is 0; atcc's retries are bounded: it uses its default")
	default:
		l.invalid(e, "want a count of attempts, found %d", n)
	}
}

// javaDefaultAttempts is Java's DEFAULT_TM_COMMIT_RETRY_COUNT and
// DEFAULT_TM_ROLLBACK_RETRY_COUNT.
const javaDefaultAttempts = 5

// duration reads a positive duration (see anyDuration).
func (l *loader) duration(e entry, unit time.Duration, dst *time.Duration) bool {
	d, ok := l.anyDuration(e, unit)
	if !ok {
		return false
	}
	if d <= 0 {
		l.invalid(e, "want a positive duration, found %q", e.text)
		return false
	}
	*dst = d
	return true
}

// anyDuration reads a duration: in seatago.yml a Go duration string; in
// Java files a number in unit, or a string with a unit.
func (l *loader) anyDuration(e entry, unit time.Duration) (time.Duration, bool) {
	var s string
	if !l.str(e, &s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			l.invalid(e, "want a duration, found %q", s)
			return 0, false
		}
		return d, true
	}
	if l.dialect == dialectGo && n != 0 {
		l.invalid(e, "want a duration such as 30s, found the bare number %s (seata-go would read nanoseconds)", s)
		return 0, false
	}
	if n > int64(math.MaxInt64/unit) || n < int64(math.MinInt64/unit) {
		l.invalid(e, "duration %s out of range", s)
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// size reads a byte count with an optional k, m or g suffix (Seata's
// "64k"), as a positive int.
func (l *loader) size(e entry) (int, bool) {
	var s string
	if !l.str(e, &s) {
		return 0, false
	}
	mult := int64(1)
	num := strings.ToLower(s)
	switch {
	case strings.HasSuffix(num, "k"):
		mult, num = 1<<10, num[:len(num)-1]
	case strings.HasSuffix(num, "m"):
		mult, num = 1<<20, num[:len(num)-1]
	case strings.HasSuffix(num, "g"):
		mult, num = 1<<30, num[:len(num)-1]
	}
	n, err := strconv.ParseInt(num, 10, 32)
	if err != nil || n <= 0 || n*mult > math.MaxInt32 {
		l.invalid(e, "want a positive size such as 64k, found %q", s)
		return 0, false
	}
	return int(n * mult), true
}

// only accepts one value (case-insensitively) and refuses the others.
func (l *loader) only(e entry, want, why string) {
	var s string
	if l.str(e, &s) && !strings.EqualFold(s, want) {
		l.unsupported(e, "%s, not %s", why, s)
	}
}

// addresses reads a grouplist: "h1:p1;h2:p2" (Java), "h1:p1,h2:p2", or a
// YAML list.
func (l *loader) addresses(e entry, cluster string) {
	var as []string
	switch e.kind {
	case null:
		return
	case list:
		for _, it := range e.items {
			as = append(as, splitList(it, ",;")...)
		}
	case scalar:
		as = splitList(e.text, ",;")
	default:
		l.invalid(e, "want addresses host:port, found a %s", e.kind)
		return
	}
	for _, a := range as {
		if i := strings.LastIndexByte(a, ':'); i <= 0 || i == len(a)-1 {
			l.invalid(e, "want host:port, found %q", a)
			return
		}
	}
	l.s.GroupList[cluster] = as
}

// tlsFile reads a file name of the TLS block, keeping where it was set.
func (l *loader) tlsFile(e entry, dst *tlsFileKey) {
	if l.str(e, &dst.name) {
		dst.e = e
	}
}

// tlsFileKey is a file name and where it was set.
type tlsFileKey struct {
	name string
	e    entry
}

// requestTimeout reads the TM's or the RM's request timeout; finish
// merges them into Client.RequestTimeout.
func (l *loader) requestTimeout(e entry, dst *timeoutKey) {
	var d time.Duration
	if l.duration(e, time.Millisecond, &d) {
		*dst = timeoutKey{d: d, e: e}
	}
}

// batchKey records a client batching key's value.
func (l *loader) batchKey(e entry, dst **bool) {
	var v bool
	if l.boolean(e, &v) {
		*dst = &v
	}
}

// batchKeys are the client batching keys the files set (nil: not set):
// Seata 1.4's enableClientBatchSendRequest and the per-role keys that
// replaced it in 1.5.
type batchKeys struct{ all, tm, rm *bool }

// enabled reports whether atcc, which batches the TM's and the RM's
// requests alike, should batch: when the per-role keys are set, only if
// both roles batch (Java's defaults, TM off and RM on, leave it off);
// else as the 1.4 key says. Batching changes throughput, not outcomes.
func (b batchKeys) enabled() bool {
	if b.tm != nil || b.rm != nil {
		tm, rm := false, true // Java's defaults
		if b.tm != nil {
			tm = *b.tm
		}
		if b.rm != nil {
			rm = *b.rm
		}
		return tm && rm
	}
	return b.all != nil && *b.all
}

// timeoutKey is a duration and where it was set.
type timeoutKey struct {
	d time.Duration
	e entry
}

func splitList(s, seps string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (k kind) String() string {
	switch k {
	case scalar:
		return "value"
	case null:
		return "null"
	case list:
		return "list"
	default:
		return "block"
	}
}

func (l *loader) invalid(e entry, format string, args ...any) {
	l.errs = append(l.errs, &KeyError{File: e.file, Line: e.line, Key: e.key(), Msg: fmt.Sprintf(format, args...), Err: ErrInvalid})
}

func (l *loader) unsupported(e entry, format string, args ...any) {
	l.errs = append(l.errs, &KeyError{File: e.file, Line: e.line, Key: e.key(), Msg: fmt.Sprintf(format, args...), Err: ErrUnsupported})
}

func (l *loader) warnf(e entry, format string, args ...any) {
	l.s.Warnings = append(l.s.Warnings, e.where()+": "+fmt.Sprintf(format, args...))
}
