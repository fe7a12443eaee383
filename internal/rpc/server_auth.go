package rpc

import (
	"crypto/hmac"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// ServerAuth says who may register with a Server. The zero value accepts
// every registration, as Apache Seata's default check-auth handler does.
//
// A registration (RegisterTM or RegisterRM) is authenticated by either
//   - Seata's access-key digest: extraData lines "ak", "digest" and
//     "timestamp" (and "ip"), signed as Seata's Java TM signs them (§8.2),
//     with a key of AccessKeys, within MaxClockSkew of the server's clock;
//   - or, on a TLS connection whose client certificate the server verified
//     (tls.Config.ClientAuth = RequireAndVerifyClientCert), a certificate
//     whose subject common name is a key of CertApplications.
//
// When AccessKeys or CertApplications is not empty, a registration that is
// not authenticated is refused (identified = false, then the connection is
// closed). Java RMs send no extraData: with keys configured they need a
// bound client certificate.
type ServerAuth struct {
	// AccessKeys lists the accepted credentials.
	AccessKeys []AccessKey

	// CertApplications maps a verified client certificate's subject common
	// name to the application id its sessions must register with.
	CertApplications map[string]string

	// MaxClockSkew is how far a digest's timestamp may be from the
	// server's clock, either way. Default 5 minutes. A captured
	// registration can be replayed within it: use TLS against
	// eavesdroppers.
	MaxClockSkew time.Duration
}

// AccessKey is one credential of ServerAuth.
type AccessKey struct {
	// Key is the access key ("ak"), Secret the secret key it is signed
	// with.
	Key, Secret string
	// ApplicationID, when not empty, is the only application id a session
	// authenticated with this key may register as.
	ApplicationID string
}

// errAuth is wrapped by every authentication refusal.
var errAuth = errors.New("atcc/rpc: registration not authenticated")

// enabled reports whether registrations must authenticate.
func (a *ServerAuth) enabled() bool {
	return len(a.AccessKeys) > 0 || len(a.CertApplications) > 0
}

// check authenticates a registration of appID with extraData from a
// connection whose TLS state is cs (nil without TLS), at now. It returns
// how the session authenticated ("cert:<cn>", "ak:<key>"), "" when auth is
// off, or an error wrapping errAuth.
func (a *ServerAuth) check(appID, group, extraData string, cs *tls.ConnectionState, now time.Time) (string, error) {
	if !a.enabled() {
		return "", nil
	}
	if cs != nil && len(cs.VerifiedChains) > 0 && len(cs.PeerCertificates) > 0 {
		cn := cs.PeerCertificates[0].Subject.CommonName
		if bound, ok := a.CertApplications[cn]; ok {
			if bound != appID {
				return "", fmt.Errorf("%w: client certificate %q is bound to application %q, not %q", errAuth, cn, bound, appID)
			}
			return "cert:" + cn, nil
		}
	}
	kv := parseExtraData(extraData)
	ak, digest, tsText := kv["ak"], kv["digest"], kv["timestamp"]
	if ak == "" || ak == "null" || digest == "" {
		return "", fmt.Errorf("%w: no access key and digest in extraData, and no bound client certificate", errAuth)
	}
	var key *AccessKey
	for i := range a.AccessKeys {
		if hmac.Equal([]byte(a.AccessKeys[i].Key), []byte(ak)) {
			key = &a.AccessKeys[i]
			break
		}
	}
	if key == nil {
		return "", fmt.Errorf("%w: unknown access key %q", errAuth, clipText(ak))
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: bad timestamp %q", errAuth, clipText(tsText))
	}
	skew := a.MaxClockSkew
	if skew <= 0 {
		skew = 5 * time.Minute
	}
	if d := now.Sub(time.UnixMilli(ts)); d > skew || d < -skew {
		return "", fmt.Errorf("%w: timestamp is %v away from the coordinator's clock (at most %v)", errAuth, d.Round(time.Second), skew)
	}
	ip := kv["ip"]
	if ip == "" {
		ip = "127.0.0.1"
	}
	if !hmac.Equal([]byte(seataDigest(group, ip, ts, key.Secret)), []byte(digest)) {
		return "", fmt.Errorf("%w: wrong digest for access key %q", errAuth, ak)
	}
	if key.ApplicationID != "" && key.ApplicationID != appID {
		return "", fmt.Errorf("%w: access key %q is bound to application %q, not %q", errAuth, ak, key.ApplicationID, appID)
	}
	return "ak:" + ak, nil
}

// clipText shortens a peer-supplied string for an error message.
func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// checkRegistration decides whether a RegisterTM (resourceIDs "") or
// RegisterRM of ss is accepted: within the limits, authenticated when
// authentication is on, and with the identity of the session's first
// registration.
func (s *Server) checkRegistration(ss *ServerSession, appID, group, extraData, resourceIDs string) error {
	if err := s.cfg.Limits.checkResources(resourceIDs, len(ss.ResourceIDs())); err != nil {
		return err
	}
	var cs *tls.ConnectionState
	if tc, ok := ss.cn.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		cs = &st
	}
	authn, err := s.cfg.Auth.check(appID, group, extraData, cs, time.Now())
	if err != nil {
		return err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.roles != 0 && ss.appID != appID {
		return fmt.Errorf("%w: the connection registered as application %q, not %q", errAuth, ss.appID, appID)
	}
	if ss.roles == 0 {
		ss.authn = authn
	}
	return nil
}

// refuseRegistration answers a refused registration with identified =
// false (the wire carries no reason, §6.2), logs why, and closes the
// connection.
func (s *Server) refuseRegistration(ss *ServerSession, f *protocol.Frame, resp protocol.Message, err error) {
	s.rlog.Warn("register:"+ss.host, "atcc/rpc: registration refused", "addr", ss.cn.addr, "err", err)
	_, _ = ss.cn.writeFrame(responseFrame(f, resp))
	ss.cn.close(err)
}
