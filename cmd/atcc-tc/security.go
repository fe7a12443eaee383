package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/atcc-go/atcc/internal/rpc"
)

// securityFlags are the flags that close the coordinator: TLS (with client
// certificates), access keys, certificate-to-application bindings and
// ownership.
type securityFlags struct {
	cert, key, clientCA *string
	accessKeys          *string
	certApps            *string
	sharedOwnership     *bool
}

func addSecurityFlags(fs *flag.FlagSet) *securityFlags {
	return &securityFlags{
		cert:            fs.String("tls-cert", "", "PEM `file` of the server's TLS certificate (chain); with -tls-key, the coordinator accepts TLS connections only"),
		key:             fs.String("tls-key", "", "PEM `file` of the server's TLS private key"),
		clientCA:        fs.String("tls-client-ca", "", "PEM `file` of the CAs that sign client certificates; clients must then present one (mutual TLS)"),
		accessKeys:      fs.String("access-keys", "", "`file` of accepted access keys, one \"accessKey secretKey [applicationId]\" per line; registrations must then carry Seata's ak/digest (or a bound client certificate)"),
		certApps:        fs.String("cert-apps", "", "bind client certificates to applications: `cn=app[,cn=app...]`; a session with such a certificate is authenticated as that application"),
		sharedOwnership: fs.Bool("shared-ownership", false, "let any application end any transaction and any session serving an AT resource run its phase two, as Apache Seata does"),
	}
}

// apply sets the TLS and authentication configuration of rcfg.
func (f *securityFlags) apply(rcfg *rpc.ServerConfig) error {
	switch {
	case *f.cert != "" && *f.key != "":
		pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
		if err != nil {
			return fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		rcfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	case *f.cert != "" || *f.key != "":
		return errors.New("-tls-cert and -tls-key go together")
	case *f.clientCA != "":
		return errors.New("-tls-client-ca needs -tls-cert and -tls-key")
	}
	if *f.clientCA != "" {
		pem, err := os.ReadFile(*f.clientCA)
		if err != nil {
			return fmt.Errorf("-tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-tls-client-ca: no certificate in %s", *f.clientCA)
		}
		rcfg.TLS.ClientCAs = pool
		rcfg.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if *f.accessKeys != "" {
		keys, err := readAccessKeys(*f.accessKeys)
		if err != nil {
			return fmt.Errorf("-access-keys: %w", err)
		}
		rcfg.Auth.AccessKeys = keys
	}
	if *f.certApps != "" {
		if *f.clientCA == "" {
			return errors.New("-cert-apps needs -tls-client-ca: only verified certificates are bound")
		}
		rcfg.Auth.CertApplications = make(map[string]string)
		for pair := range strings.SplitSeq(*f.certApps, ",") {
			cn, app, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || cn == "" || app == "" {
				return fmt.Errorf("-cert-apps: %q is not cn=app", pair)
			}
			rcfg.Auth.CertApplications[cn] = app
		}
	}
	return nil
}

// readAccessKeys reads "accessKey secretKey [applicationId]" lines; blank
// lines and lines starting with # are skipped. Secrets are read from a file
// so that they do not show in the process list.
func readAccessKeys(path string) ([]rpc.AccessKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []rpc.AccessKey
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("%s:%d: want \"accessKey secretKey [applicationId]\"", path, n)
		}
		k := rpc.AccessKey{Key: fields[0], Secret: fields[1]}
		if len(fields) == 3 {
			k.ApplicationID = fields[2]
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no access key", path)
	}
	return keys, nil
}
