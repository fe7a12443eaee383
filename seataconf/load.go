package seataconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Options configure a loader call. The zero value is valid.
type Options struct {
	// Logger, when not nil, receives each of Settings.Warnings at Warn
	// level (the unknown keys as one line). Default: nothing is logged;
	// the warnings are only returned.
	Logger *slog.Logger
}

// LoadSeataGo reads a seata-go client configuration, seatago.yml: the keys
// under "seata:", in kebab-case, with durations written as Go durations
// ("30s"). It returns an error wrapping ErrInvalid for a file it cannot
// parse or a value of the wrong type, and ErrUnsupported for a setting atcc
// cannot honour; each such setting is a *KeyError (all of them are
// returned, joined).
func LoadSeataGo(path string, opt Options) (*Settings, error) {
	es, err := readParse(path, parseYAML)
	if err != nil {
		return nil, err
	}
	l := newLoader(dialectGo, filepath.Dir(path))
	l.groupSet = true // seata-go defaults it to default_tx_group
	for _, e := range es {
		if canon(e.path[0]) != "seata" {
			l.unknown(e)
			continue
		}
		l.applySeata(e)
	}
	return l.finish(opt)
}

// LoadSpring reads the "seata:" section of a Spring Boot application.yml
// (the keys of Seata's spring-boot starter, kebab-case or camelCase;
// numbers in Java's units: milliseconds for timeouts). Other top-level
// sections are the application's own and are skipped, except
// spring.application.name, which is the application id when
// seata.application-id is not set, as in the starter. Errors as
// LoadSeataGo.
func LoadSpring(path string, opt Options) (*Settings, error) {
	es, err := readParse(path, parseYAML)
	if err != nil {
		return nil, err
	}
	l := newLoader(dialectJava, filepath.Dir(path))
	l.groupSet = true // the starter defaults it to default_tx_group
	var springName string
	for _, e := range es {
		switch {
		case canon(e.path[0]) == "seata":
			l.applySeata(e)
		case canonPath(e.path) == "spring.application.name":
			l.str(e, &springName)
		}
	}
	if l.s.Client.ApplicationID == "" {
		l.s.Client.ApplicationID = springName
	}
	return l.finish(opt)
}

// LoadJava reads a Java Seata client's registry.conf and the file.conf it
// names (config.file.name, default "file.conf", relative to registry.conf's
// directory unless absolute), as Java's ConfigurationFactory does with
// config.type = file. Both are HOCON; parseConf documents the subset read.
// Java keeps the application id and the transaction service group in code,
// not in these files: set Client.ApplicationID, and call SetTxServiceGroup
// to pick the coordinators of the group's cluster. Errors as LoadSeataGo.
func LoadJava(registryConf string, opt Options) (*Settings, error) {
	es, err := readParse(registryConf, parseConf)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(registryConf)
	l := newLoader(dialectJava, dir)
	for _, e := range es {
		if c := canon(e.path[0]); c != "registry" && c != "config" {
			l.unknown(e)
			continue
		}
		l.apply(e)
	}
	if len(l.errs) > 0 { // config.type other than file: nothing more to read
		return l.finish(opt)
	}
	name := strings.TrimPrefix(l.configFile, "file:")
	if name == "" {
		name = "file.conf"
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	es, err = readParse(name, parseConf)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		l.apply(e)
	}
	return l.finish(opt)
}

func readParse(path string, parse func(string, []byte) ([]entry, error)) ([]entry, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seataconf: %w", err)
	}
	return parse(path, src)
}

// loader accumulates one call's Settings, errors and state that spans keys.
type loader struct {
	dialect dialect
	dir     string // relative TLS file names start here
	s       *Settings
	errs    []error

	heartbeatOff  bool
	compressOff   bool
	fenceOn       bool
	fenceURL      string
	configFile    string
	groupSet      bool // the files name the tx service group
	etcdAddrs     []string
	tmTimeout     timeoutKey
	rmTimeout     timeoutKey
	batch         batchKeys
	registryEntry *entry // where registry.type was set, for errors
	tls           struct {
		enabled       bool
		ca, cert, key tlsFileKey
		serverName    string
	}
}

func newLoader(d dialect, dir string) *loader {
	return &loader{dialect: d, dir: dir, s: &Settings{
		VGroupMapping: map[string]string{},
		GroupList:     map[string][]string{},
		Registry:      Registry{Type: RegistryFile},
	}}
}

// applySeata applies an entry of the "seata" section of a YAML file.
func (l *loader) applySeata(e entry) {
	if len(e.path) == 1 {
		if e.kind != null && e.kind != object {
			l.invalid(e, "want a block, found a %s", e.kind)
		}
		return
	}
	e.path = e.path[1:]
	l.apply(e)
}

func (l *loader) apply(e entry) {
	c := make([]string, len(e.path))
	for i, s := range e.path {
		c[i] = canon(s)
	}
	// Exact and one-segment rules first, then a block below a key that
	// takes a value (the wrong type, not an unknown key), then the
	// catch-all blocks.
	for _, r := range rules {
		if strings.HasSuffix(r.pattern, "**") {
			continue
		}
		if wild, ok := match(r.pattern, e.path, c); ok {
			if r.pattern == "registry.type" {
				l.registryEntry = &e
			}
			r.apply(l, e, wild)
			return
		}
	}
	for n := len(c) - 1; n > 0; n-- {
		prefix := strings.Join(c[:n], ".")
		for _, r := range rules {
			switch r.pattern {
			case prefix + ".*":
				l.invalid(e, "%s names a tx service group or cluster: it cannot contain a dot", strings.Join(e.path[n:], "."))
				return
			case prefix:
				l.invalid(entry{path: e.path[:n], file: e.file, line: e.line}, "want a value, found a block")
				return
			}
		}
	}
	for _, r := range rules {
		if wild, ok := match(r.pattern, e.path, c); ok {
			r.apply(l, e, wild)
			return
		}
	}
	l.unknown(e)
}

func (l *loader) unknown(e entry) { l.s.Unknown = append(l.s.Unknown, e.where()) }

// finish derives what depends on several keys, then reports.
func (l *loader) finish(opt Options) (*Settings, error) {
	s := l.s
	if l.heartbeatOff {
		s.Client.HeartbeatInterval = -1
	}
	if l.compressOff {
		s.DataSource.Undo.CompressThreshold = -1
	}
	if tm, rm := l.tmTimeout, l.rmTimeout; tm.d != 0 || rm.d != 0 {
		s.Client.RequestTimeout = max(tm.d, rm.d)
		if tm.d != 0 && rm.d != 0 && tm.d != rm.d {
			l.warnf(rm.e, "atcc has one request timeout for the TM and the RM (%s = %v): it uses the larger, %v",
				tm.e.key(), tm.d, s.Client.RequestTimeout)
		}
	}
	s.Client.BatchRequests = l.batch.enabled()
	if l.fenceOn {
		s.FenceDSN = l.fenceURL
	}
	if l.tls.enabled {
		s.Client.TLS = l.tlsConfig()
	}
	switch s.Registry.Type {
	case RegistryEtcd3:
		s.Registry.Addresses = l.etcdAddrs
		if len(s.Registry.Addresses) == 0 {
			l.invalid(*l.registryEntry, "the etcd3 registry needs registry.etcd3.server-addr")
		}
	case RegistryFile:
		if err := s.findCoordinators(); err != nil && l.groupSet {
			s.Warnings = append(s.Warnings, err.Error()+": set Client.Coordinators")
		}
	}
	if len(s.Unknown) > 0 {
		s.Warnings = append(s.Warnings, "unknown keys, not read: "+strings.Join(s.Unknown, ", "))
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	if opt.Logger != nil {
		for _, w := range s.Warnings {
			opt.Logger.Warn("seataconf: " + w)
		}
	}
	return s, nil
}

// tlsConfig builds the TLS configuration, reading the PEM files named
// relative to the configuration file's directory. It records a *KeyError
// and returns nil when a file cannot be used.
func (l *loader) tlsConfig() *tls.Config {
	t := l.tls
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.serverName}
	path := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(l.dir, p)
	}
	if t.ca.name != "" {
		pem, err := os.ReadFile(path(t.ca.name))
		if err != nil {
			l.invalid(t.ca.e, "%v", err)
			return nil
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			l.invalid(t.ca.e, "no PEM certificate in %s", t.ca.name)
			return nil
		}
	}
	switch {
	case t.cert.name == "" && t.key.name == "":
	case t.cert.name == "":
		l.invalid(t.key.e, "a key file needs transport.tls.cert-file")
		return nil
	case t.key.name == "":
		l.invalid(t.cert.e, "a certificate file needs transport.tls.key-file")
		return nil
	default:
		cert, err := tls.LoadX509KeyPair(path(t.cert.name), path(t.key.name))
		if err != nil {
			l.invalid(t.cert.e, "with transport.tls.key-file: %v", err)
			return nil
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}
