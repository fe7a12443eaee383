package seataconf

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/undo"
)

// writeFile writes a test file in a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestLoadSeataGo(t *testing.T) {
	s, err := LoadSeataGo("testdata/seatago.yml", Options{})
	require.NoError(t, err)

	assert.Equal(t, atcc.Config{
		ApplicationID:     "order-service",
		TxServiceGroup:    "order_tx_group",
		Coordinators:      []string{"10.0.0.1:8091", "10.0.0.2:8091"}, // cluster east
		DefaultTimeout:    45 * time.Second,
		CommitRetries:     2,  // attempts 3: 2 resends
		RollbackRetries:   -1, // attempts 1: no resend
		RequestTimeout:    20 * time.Second,
		PoolSize:          2,
		HeartbeatInterval: 3 * time.Second,
		AccessKey:         "order-ak",
		SecretKey:         "order-sk",
	}, s.Client)
	assert.Equal(t, datasource.Config{
		UndoTable:         "order_undo_log",
		LockRetryInterval: 20 * time.Millisecond,
		LockRetries:       11, // seata-go's backoff counts attempts
		Undo: undo.Config{
			CompressThreshold:  16 << 10,
			SkipDataValidation: true,
			DeleteQueueSize:    5000,
		},
	}, s.DataSource)
	assert.Equal(t, tcc.Config{
		FenceTable:         "order_fence_log",
		FenceCleanupAfter:  2 * time.Hour,
		FenceCleanupPeriod: 2 * time.Hour,
	}, s.TCC)
	assert.Equal(t, "root:@tcp(127.0.0.1:3306)/orders?parseTime=true", s.FenceDSN)
	assert.Equal(t, map[string]string{"order_tx_group": "east", "other_tx_group": "west"}, s.VGroupMapping)
	assert.Equal(t, map[string][]string{
		"east": {"10.0.0.1:8091", "10.0.0.2:8091"},
		"west": {"10.1.0.1:8091"},
	}, s.GroupList)
	assert.Equal(t, Registry{Type: RegistryFile, Cluster: "default"}, s.Registry)
	assert.Equal(t, "order-ak", s.Client.AccessKey)
	assert.Equal(t, "order-sk", s.Client.SecretKey)
	assert.Equal(t, "json", s.UndoLogSerialization)
	assert.Empty(t, s.Unknown)
	require.Len(t, s.Warnings, 1)
	assert.Contains(t, s.Warnings[0], "testdata/seatago.yml:33: client.undo.log-serialization: atcc writes undo logs in its own format, not json")
	assert.Contains(t, s.Ignored, "testdata/seatago.yml:17: client.rm.sql-parser-type")
	assert.Contains(t, s.Ignored, "testdata/seatago.yml:74: registry.nacos.server-addr")
}

func TestLoadSpring(t *testing.T) {
	s, err := LoadSpring("testdata/application.yml", Options{})
	require.NoError(t, err)

	assert.Equal(t, atcc.Config{
		ApplicationID:     "stock-service", // spring.application.name
		TxServiceGroup:    "stock_tx_group",
		DefaultTimeout:    120 * time.Second, // milliseconds in Java
		CommitRetries:     4,                 // Java counts attempts
		RollbackRetries:   6,
		RequestTimeout:    30 * time.Second, // the larger of TM and RM
		HeartbeatInterval: -1,               // transport.heartbeat: false
	}, s.Client, "etcd3 registry: no static coordinators")
	assert.Equal(t, datasource.Config{
		UndoTable:         "undo_log",
		LockRetryInterval: 50 * time.Millisecond,
		LockRetries:       -1, // retry-times: 0
		Undo: undo.Config{
			CompressThreshold: -1, // compress.enable: false
			DeleteQueueSize:   10000,
		},
	}, s.DataSource)
	assert.Equal(t, tcc.Config{FenceTable: "tcc_fence_log", FenceCleanupAfter: time.Hour, FenceCleanupPeriod: time.Hour}, s.TCC)
	assert.Empty(t, s.FenceDSN)
	assert.Equal(t, Registry{Type: RegistryEtcd3, Addresses: []string{"http://etcd-1:2379", "http://etcd-2:2379"}}, s.Registry)
	assert.Equal(t, map[string]string{"stock_tx_group": "default"}, s.VGroupMapping, "camelCase vgroupMapping")
	c, ok := s.Cluster()
	assert.True(t, ok)
	assert.Equal(t, "default", c)
	assert.Equal(t, "jackson", s.UndoLogSerialization)
	assert.Empty(t, s.Unknown, "the application's own sections are not Seata's")
	assert.Len(t, s.Warnings, 3)
	assert.Contains(t, s.Warnings[0], "not jackson, unless datasource.Config.Undo.Serializer asks for jackson: a Java client cannot roll back a branch atcc wrote")
	assert.Contains(t, s.Warnings[1], "application.yml:35: client.undo.compress.type: atcc compresses undo logs with gzip, not zip")
	assert.Contains(t, s.Warnings[2], "one request timeout for the TM and the RM")
}

func TestLoadSpringApplicationIDWins(t *testing.T) {
	p := writeFile(t, "application.yml", `
spring.application.name: from-spring
seata:
  application-id: from-seata
  service.vgroup-mapping.default_tx_group: default
  service.grouplist.default: 127.0.0.1:8091
`)
	s, err := LoadSpring(p, Options{})
	require.NoError(t, err)
	assert.Equal(t, "from-seata", s.Client.ApplicationID)
	assert.Equal(t, []string{"127.0.0.1:8091"}, s.Client.Coordinators, "dotted keys, default tx group")
	assert.Empty(t, s.Warnings)
}

func TestLoadJava(t *testing.T) {
	s, err := LoadJava("testdata/registry.conf", Options{})
	require.NoError(t, err)

	assert.Equal(t, atcc.Config{
		DefaultTimeout:  90 * time.Second,
		CommitRetries:   5,
		RollbackRetries: 3,
		RequestTimeout:  30 * time.Second, // rpcRmRequestTimeout's second definition wins
	}, s.Client, "no application id, group or coordinators: Java keeps the group in code")
	assert.Equal(t, datasource.Config{
		UndoTable:         "pay_undo_log",
		LockRetryInterval: 15 * time.Millisecond,
		LockRetries:       40,
		Undo:              undo.Config{CompressThreshold: 1 << 20, DeleteQueueSize: 10000},
	}, s.DataSource)
	assert.Equal(t, map[string]string{"pay_tx_group": "pay", "other_tx_group": "other"}, s.VGroupMapping)
	assert.Equal(t, map[string][]string{
		"pay":   {"192.168.0.10:8091", "192.168.0.11:8091"},
		"other": {"192.168.9.9:8091"},
	}, s.GroupList)
	assert.Equal(t, Registry{Type: RegistryFile}, s.Registry)
	assert.Empty(t, s.Unknown)
	require.Len(t, s.Warnings, 1, "no warning about the tx service group Java sets in code")
	assert.Contains(t, s.Warnings[0], "testdata/file.conf:53: client.undo.logSerialization")
	assert.Contains(t, s.Ignored, "testdata/registry.conf:8: registry.nacos.application")
	assert.Contains(t, s.Ignored, "testdata/file.conf:15: transport.threadFactory.workerThreadSize")

	require.NoError(t, s.SetTxServiceGroup("pay_tx_group"))
	assert.Equal(t, "pay_tx_group", s.Client.TxServiceGroup)
	assert.Equal(t, []string{"192.168.0.10:8091", "192.168.0.11:8091"}, s.Client.Coordinators)

	err = s.SetTxServiceGroup("nobody_tx_group")
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), `no service.vgroup-mapping for the tx service group "nobody_tx_group"`)
	assert.Equal(t, []string{"192.168.0.10:8091", "192.168.0.11:8091"}, s.Client.Coordinators, "left alone")
}

func TestLoadJavaConfigFileName(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "registry.conf"),
		[]byte(`config { type = file, file { name = "file:conf/seata.conf" } }`), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "conf"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "conf", "seata.conf"),
		[]byte(`client.undo.logTable = my_undo`), 0o600))
	s, err := LoadJava(filepath.Join(dir, "registry.conf"), Options{})
	require.NoError(t, err)
	assert.Equal(t, "my_undo", s.DataSource.UndoTable)

	// A missing file.conf is an error, not an empty configuration.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "registry.conf"), []byte(`registry { type = file }`), 0o600))
	_, err = LoadJava(filepath.Join(dir, "registry.conf"), Options{})
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestFileRegistryWarnings(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"no mapping": {"seata:\n  tx-service-group: g\n",
			`no service.vgroup-mapping for the tx service group "g": set Client.Coordinators`},
		"no grouplist": {"seata:\n  service:\n    vgroup-mapping:\n      default_tx_group: c\n",
			`no grouplist for the cluster "c" of the tx service group "default_tx_group": set Client.Coordinators`},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := LoadSeataGo(writeFile(t, "seatago.yml", tc.src), Options{})
			require.NoError(t, err)
			require.Len(t, s.Warnings, 1)
			assert.Contains(t, s.Warnings[0], tc.want)
			assert.Empty(t, s.Client.Coordinators)
		})
	}
}

func TestUnknownKeysOneWarning(t *testing.T) {
	p := writeFile(t, "seatago.yml", `
seata:
  application-id: app
  aplication-id: typo
  client:
    tm:
      commit-retry-cont: 3
  service:
    vgroup-mapping:
      default_tx_group: default
    grouplist:
      default: 127.0.0.1:8091
metrics:
  enabled: true
`)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := LoadSeataGo(p, Options{Logger: logger})
	require.NoError(t, err)
	assert.Equal(t, []string{
		p + ":4: aplication-id",
		p + ":7: client.tm.commit-retry-cont",
		p + ":14: metrics.enabled",
	}, s.Unknown)
	require.Len(t, s.Warnings, 1)
	assert.Equal(t, "unknown keys, not read: "+strings.Join(s.Unknown, ", "), s.Warnings[0])
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "one log line for all unknown keys")
	assert.Contains(t, lines[0], "level=WARN")
	assert.Contains(t, lines[0], "commit-retry-cont")
}

func TestQuietWithoutLogger(t *testing.T) {
	// Nothing reaches stderr: warnings are returned, not printed.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	t.Cleanup(func() { os.Stderr = stderr })
	p := writeFile(t, "seatago.yml", "seata:\n  service: {vgroup-mapping: {default_tx_group: d}, grouplist: {d: \"h:1\"}}\n  nonsense: 1\n")
	s, err := LoadSeataGo(p, Options{})
	os.Stderr = stderr
	require.NoError(t, err)
	assert.Equal(t, []string{"unknown keys, not read: " + p + ":3: nonsense"}, s.Warnings, "returned, even for one key")
	require.NoError(t, w.Close())
	var out bytes.Buffer
	_, _ = out.ReadFrom(r)
	assert.Empty(t, out.String())
}

func TestWrongTypes(t *testing.T) {
	for name, tc := range map[string]struct {
		load func(string, Options) (*Settings, error)
		file string
		src  string
		key  string
		line int
		msg  string
	}{
		"int": {LoadSeataGo, "seatago.yml", "seata:\n  client:\n    rm:\n      lock:\n        retry-times: many\n",
			"client.rm.lock.retry-times", 5, `want an integer, found "many"`},
		"bool": {LoadSeataGo, "seatago.yml", "seata:\n  client:\n    undo:\n      data-validation: sometimes\n",
			"client.undo.data-validation", 4, `want true or false, found "sometimes"`},
		"bare number as a Go duration": {LoadSeataGo, "seatago.yml", "seata:\n  client:\n    tm:\n      default-global-transaction-timeout: 60000\n",
			"client.tm.default-global-transaction-timeout", 4, "want a duration such as 30s, found the bare number 60000"},
		"bad duration": {LoadSpring, "application.yml", "seata:\n  client:\n    rm:\n      lock:\n        retry-interval: soon\n",
			"client.rm.lock.retry-interval", 5, `want a duration, found "soon"`},
		"zero duration": {LoadSpring, "application.yml", "seata:\n  client:\n    tm:\n      default-global-transaction-timeout: 0\n",
			"client.tm.default-global-transaction-timeout", 4, "want a positive duration"},
		"block for a value": {LoadSeataGo, "seatago.yml", "seata:\n  tx-service-group:\n    a: b\n",
			"tx-service-group", 3, "want a value, found a block"},
		"block for a value in conf": {LoadJava, "registry.conf", "registry {\n  type {\n    file = 1\n  }\n}\n",
			"registry.type", 3, "want a value, found a block"},
		"list for a value": {LoadSeataGo, "seatago.yml", "seata:\n  application-id: [a, b]\n",
			"application-id", 2, "want a string, found a list"},
		"size": {LoadSeataGo, "seatago.yml", "seata:\n  client:\n    undo:\n      compress:\n        threshold: big\n",
			"client.undo.compress.threshold", 5, `want a positive size such as 64k, found "big"`},
		"pool size": {LoadSeataGo, "seatago.yml", "seata:\n  getty:\n    connection-num: 0\n",
			"getty.connection-num", 3, "want a positive integer, found 0"},
		"address": {LoadSeataGo, "seatago.yml", "seata:\n  service:\n    grouplist:\n      default: 127.0.0.1\n",
			"service.grouplist.default", 4, `want host:port, found "127.0.0.1"`},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, tc.file, tc.src)
			s, err := tc.load(p, Options{})
			require.Error(t, err)
			assert.Nil(t, s)
			require.ErrorIs(t, err, ErrInvalid)
			var ke *KeyError
			require.ErrorAs(t, err, &ke)
			assert.Equal(t, KeyError{File: p, Line: tc.line, Key: tc.key, Msg: ke.Msg, Err: ErrInvalid}, *ke)
			assert.Contains(t, ke.Msg, tc.msg)
			assert.Contains(t, err.Error(), p+":"+strconv.Itoa(tc.line)+": "+tc.key+": ")
		})
	}
}

func TestWrongTypesAllReported(t *testing.T) {
	p := writeFile(t, "file.conf", "")
	reg := writeFile(t, "registry.conf", `config { type = file, file.name = "`+p+`" }`)
	require.NoError(t, os.WriteFile(p, []byte("client {\n  tm.commitRetryCount = x\n  rm.lock.retryTimes = y\n}\n"), 0o600))
	_, err := LoadJava(reg, Options{})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), p+":2: client.tm.commitRetryCount: want an integer")
	assert.Contains(t, err.Error(), p+":3: client.rm.lock.retryTimes: want an integer")
}

func TestUnsupported(t *testing.T) {
	for name, tc := range map[string]struct {
		load      func(string, Options) (*Settings, error)
		file, src string
		key, msg  string
	}{
		"nacos registry": {LoadSeataGo, "seatago.yml", "seata:\n  registry:\n    type: nacos\n",
			"registry.type", "atcc finds coordinators through the file and etcd3 registries only, not nacos"},
		"kryo": {LoadSpring, "application.yml", "seata:\n  transport:\n    serialization: kryo\n",
			"transport.serialization", "SEATA codec only, not kryo"},
		"grpc": {LoadSpring, "application.yml", "seata:\n  transport:\n    protocol: grpc\n",
			"transport.protocol", "Seata RPC protocol only, not grpc"},
		"unix socket": {LoadSeataGo, "seatago.yml", "seata:\n  transport:\n    type: unix-domain-socket\n",
			"transport.type", "TCP only"},
		"XA": {LoadSeataGo, "seatago.yml", "seata:\n  data-source-proxy-mode: XA\n",
			"data-source-proxy-mode", "AT mode only, not XA"},
		"config centre": {LoadJava, "registry.conf", "config {\n  type = \"apollo\"\n}\n",
			"config.type", "files only, not from apollo"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.load(writeFile(t, tc.file, tc.src), Options{})
			require.ErrorIs(t, err, ErrUnsupported)
			var ke *KeyError
			require.ErrorAs(t, err, &ke)
			assert.Equal(t, tc.key, ke.Key)
			assert.Contains(t, ke.Msg, tc.msg)
		})
	}
}

func TestEtcd3NeedsAddress(t *testing.T) {
	_, err := LoadSeataGo(writeFile(t, "seatago.yml", "seata:\n  registry:\n    type: etcd3\n"), Options{})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), ":3: registry.type: the etcd3 registry needs registry.etcd3.server-addr")
}

func TestUnhonouredSettingsWarn(t *testing.T) {
	p := writeFile(t, "application.yml", `
seata:
  enabled: false
  service:
    enable-degrade: true
    disable-global-transaction: true
    vgroup-mapping.default_tx_group: default
    grouplist.default: 127.0.0.1:8091
  client:
    rm:
      report-retry-count: 9
      report-success-enable: true
    tm:
      degrade-check: true
  transport:
    compressor: gzip
`)
	s, err := LoadSpring(p, Options{})
	require.NoError(t, err)
	want := []string{
		":3: enabled: atcc has no switch that turns it off",
		":5: service.enable-degrade: atcc has no degrade mode",
		":6: service.disable-global-transaction: atcc has no switch that turns global transactions off",
		":11: client.rm.report-retry-count: atcc reports a failed phase one once",
		":12: client.rm.report-success-enable: atcc does not report successful phase ones",
		":14: client.tm.degrade-check: atcc has no degrade check",
		":16: transport.compressor: atcc sends messages uncompressed (it reads gzip-compressed ones), not gzip",
	}
	require.Len(t, s.Warnings, len(want))
	for i, w := range want {
		assert.Contains(t, s.Warnings[i], p+w)
	}

	// The Seata defaults of the same keys are quiet.
	p = writeFile(t, "application.yml", `
seata:
  enabled: true
  service: {enable-degrade: false, disable-global-transaction: false, vgroup-mapping: {default_tx_group: d}, grouplist: {d: "h:1"}}
  client: {rm: {report-retry-count: 5, report-success-enable: false}, tm: {degrade-check: false}}
  transport: {compressor: none}
`)
	s, err = LoadSpring(p, Options{})
	require.NoError(t, err)
	assert.Empty(t, s.Warnings)
	assert.Len(t, s.Ignored, 6)
}

func TestRetryCounts(t *testing.T) {
	type counts struct{ commit, rollback, lock int }
	get := func(s *Settings) counts {
		return counts{s.Client.CommitRetries, s.Client.RollbackRetries, s.DataSource.LockRetries}
	}
	yml := func(c, r, l string) string {
		return "seata:\n  client:\n    tm: {commit-retry-count: " + c + ", rollback-retry-count: " + r +
			"}\n    rm: {lock: {retry-times: " + l + "}}\n"
	}
	// Java: the TM counts attempts (0 or less: 5 attempts), the lock
	// retry count counts retries (0 or less: none).
	s, err := LoadSpring(writeFile(t, "application.yml", yml("0", "-3", "-1")), Options{})
	require.NoError(t, err)
	assert.Equal(t, counts{4, 4, -1}, get(s))
	assert.Empty(t, s.Unknown)
	s, err = LoadSpring(writeFile(t, "application.yml", yml("1", "2", "3")), Options{})
	require.NoError(t, err)
	assert.Equal(t, counts{-1, 1, 3}, get(s))

	// seata-go: its backoff counts attempts; 0 is no limit, which atcc
	// does not offer (warning, atcc's default); negative never sends.
	s, err = LoadSeataGo(writeFile(t, "seatago.yml", yml("0", "1", "2")), Options{})
	require.NoError(t, err)
	assert.Equal(t, counts{0, -1, 1}, get(s))
	require.NotEmpty(t, s.Warnings)
	assert.Contains(t, s.Warnings[0], ":3: client.tm.commit-retry-count: seata-go retries without limit when this is 0")
	_, err = LoadSeataGo(writeFile(t, "seatago.yml", yml("-1", "1", "1")), Options{})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "client.tm.commit-retry-count: want a count of attempts, found -1")
}

func TestFenceCleanPeriod(t *testing.T) {
	for src, want := range map[string]tcc.Config{
		"0s":  {FenceCleanupAfter: -1},
		"-1m": {FenceCleanupAfter: -1},
		"90m": {FenceCleanupAfter: 90 * time.Minute, FenceCleanupPeriod: 90 * time.Minute},
	} {
		s, err := LoadSeataGo(writeFile(t, "seatago.yml", "seata:\n  tcc:\n    fence:\n      clean-period: "+src+"\n"), Options{})
		require.NoError(t, err, src)
		assert.Equal(t, want, s.TCC, src)
	}
	// Java: a bare number is milliseconds.
	s, err := LoadSpring(writeFile(t, "application.yml", "seata:\n  tcc:\n    fence:\n      clean-period: 60000\n"), Options{})
	require.NoError(t, err)
	assert.Equal(t, time.Minute, s.TCC.FenceCleanupPeriod)
	// The fence DSN counts only when the fence is on.
	s, err = LoadSeataGo(writeFile(t, "seatago.yml", "seata:\n  tcc:\n    fence:\n      enable: false\n      url: x\n"), Options{})
	require.NoError(t, err)
	assert.Empty(t, s.FenceDSN)
}

func TestCompressThreshold(t *testing.T) {
	for src, want := range map[string]int{"512": 512, "64k": 64 << 10, "2M": 2 << 20, "1g": 1 << 30} {
		s, err := LoadSeataGo(writeFile(t, "seatago.yml", "seata:\n  client:\n    undo:\n      compress:\n        threshold: "+src+"\n"), Options{})
		require.NoError(t, err, src)
		assert.Equal(t, want, s.DataSource.Undo.CompressThreshold, src)
	}
	_, err := LoadSeataGo(writeFile(t, "seatago.yml", "seata:\n  client:\n    undo:\n      compress:\n        threshold: 4g\n"), Options{})
	require.ErrorIs(t, err, ErrInvalid, "overflows int32")
}

func TestRequestTimeoutsEqualNoWarning(t *testing.T) {
	s, err := LoadSeataGo(writeFile(t, "seatago.yml", `
seata:
  transport: {rpc-tm-request-timeout: 7s, rpc-rm-request-timeout: 7s}
  service: {vgroup-mapping: {default_tx_group: d}, grouplist: {d: "h:1"}}
`), Options{})
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, s.Client.RequestTimeout)
	assert.Empty(t, s.Warnings)
}

func TestGrouplistForms(t *testing.T) {
	s, err := LoadSeataGo(writeFile(t, "seatago.yml", `
seata:
  service:
    grouplist:
      a: "h1:1, h2:2"
      b: [ "h3:3", "h4:4;h5:5" ]
`), Options{})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"a": {"h1:1", "h2:2"}, "b": {"h3:3", "h4:4", "h5:5"}}, s.GroupList)
}

func TestYAMLErrors(t *testing.T) {
	for src, want := range map[string]string{
		"seata: [1, 2\n":                            "did not find expected",
		"- a\n- b\n":                                "the document is not a mapping",
		"base: &b {x: 1}\nseata:\n  <<: *b\n":       "merge keys (<<) are not supported",
		"seata:\n  application-id: !!binary aGk=\n": "unsupported tag",
	} {
		_, err := LoadSeataGo(writeFile(t, "seatago.yml", src), Options{})
		require.ErrorIs(t, err, ErrInvalid, src)
		assert.Contains(t, err.Error(), want, src)
	}
	s, err := LoadSeataGo(writeFile(t, "seatago.yml", ""), Options{})
	require.NoError(t, err, "an empty file is an empty configuration")
	assert.Len(t, s.Warnings, 1, "with no coordinators")
}

func TestSeataSection(t *testing.T) {
	for _, load := range []func(string, Options) (*Settings, error){LoadSeataGo, LoadSpring} {
		s, err := load(writeFile(t, "x.yml", "seata:\n"), Options{})
		require.NoError(t, err, "an empty section")
		assert.Empty(t, s.Unknown)
		_, err = load(writeFile(t, "x.yml", "seata: 5\n"), Options{})
		require.ErrorIs(t, err, ErrInvalid)
		assert.Contains(t, err.Error(), ":1: seata: want a block, found a value")
	}
}

func TestMissingFile(t *testing.T) {
	_, err := LoadSeataGo(filepath.Join(t.TempDir(), "nope.yml"), Options{})
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.False(t, errors.Is(err, ErrInvalid))
}

func TestHeartbeatOffWinsOverPeriod(t *testing.T) {
	// transport.heartbeat: false turns heartbeats off wherever
	// getty.session.cron-period is written.
	for _, src := range []string{
		"seata:\n  transport: {heartbeat: false}\n  getty: {session: {cron-period: 2s}}\n",
		"seata:\n  getty: {session: {cron-period: 2s}}\n  transport: {heartbeat: false}\n",
	} {
		s, err := LoadSeataGo(writeFile(t, "seatago.yml", src), Options{})
		require.NoError(t, err)
		assert.Equal(t, time.Duration(-1), s.Client.HeartbeatInterval, src)
	}
}

func TestGroupNameWithDot(t *testing.T) {
	_, err := LoadSeataGo(writeFile(t, "seatago.yml", "seata:\n  service:\n    vgroup-mapping:\n      my.group: c\n"), Options{})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), ":4: service.vgroup-mapping.my.group: my.group names a tx service group or cluster: it cannot contain a dot")
}

func TestServiceMapsMustBeBlocks(t *testing.T) {
	for src, key := range map[string]string{
		"seata:\n  service:\n    grouplist: 127.0.0.1:8091\n":     "service.grouplist",
		"seata:\n  service:\n    vgroup-mapping: default\n":       "service.vgroup-mapping",
		"seata:\n  service:\n    vgroup-mapping: [a, b]\n":        "service.vgroup-mapping",
		"seata:\n  client:\n    undo:\n      log-table: {a: b}\n": "client.undo.log-table",
	} {
		_, err := LoadSeataGo(writeFile(t, "seatago.yml", src), Options{})
		require.ErrorIs(t, err, ErrInvalid, src)
		var ke *KeyError
		require.ErrorAs(t, err, &ke, src)
		assert.Equal(t, key, ke.Key, src)
	}
}
