package rpc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"time"
)

// Seata's registration credentials (§8.2): a TM (and an atcc RM) sends
// "ak=<access key>", "digest=<signature>" and "timestamp=<ms>" lines in the
// extraData of its RegisterTM / RegisterRM request, plus "ip=<client ip>".

// seataDigest signs "<group>,<ip>,<timestampMillis>" with secret the way
// Apache Seata's Java client does: DefaultAuthSigner.sign calls
// RamSignAdapter.getRamSign (core/src/main/java/org/apache/seata/core/auth/
// RamSignAdapter.java, and TmNettyRemotingClient.getExtraData for the signed
// text). The signing key is a chain of HMAC-SHA256 steps, keyed first with
// "aliyun_v4"+secret over the UTC date (yyyyMMdd) of the timestamp, then
// over "cn-beijing", "seata" and "aliyun_v4_request"; the digest is the
// standard Base64 of HMAC-SHA256 of the text under that key.
func seataDigest(group, ip string, timestampMs int64, secret string) string {
	text := group + "," + ip + "," + strconv.FormatInt(timestampMs, 10)
	date := time.UnixMilli(timestampMs).UTC().Format("20060102")
	key := hmacSHA256([]byte("aliyun_v4"+secret), date)
	for _, s := range []string{"cn-beijing", "seata", "aliyun_v4_request"} {
		key = hmacSHA256(key, s)
	}
	return base64.StdEncoding.EncodeToString(hmacSHA256(key, text))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signedExtraData returns the extraData lines that authenticate a
// registration with accessKey/secretKey at now, for a client whose address
// is ip, in the order and format of Seata's Java TM (ak, digest, timestamp,
// authVersion, vgroup, ip).
func signedExtraData(accessKey, secretKey, group, ip string, now time.Time) string {
	if ip == "" {
		ip = "127.0.0.1" // what Java signs when it has no address
	}
	ts := now.UnixMilli()
	var b strings.Builder
	for _, kv := range [][2]string{
		{"ak", accessKey},
		{"digest", seataDigest(group, ip, ts, secretKey)},
		{"timestamp", strconv.FormatInt(ts, 10)},
		{"authVersion", "V4"},
		{"vgroup", group},
		{"ip", ip},
	} {
		b.WriteString(kv[0] + "=" + kv[1] + "\n")
	}
	return b.String()
}

// parseExtraData reads "key=value" lines; the first value of a key wins.
func parseExtraData(s string) map[string]string {
	m := make(map[string]string)
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\r"), "=")
		if !ok {
			continue
		}
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// extraData is the extraData of a RegisterTM on cn: empty, or signed when
// an access key is configured.
func (c *Client) extraData(cn *conn) string {
	if c.cfg.AccessKey == "" {
		return ""
	}
	return signedExtraData(c.cfg.AccessKey, c.cfg.SecretKey, c.cfg.TxServiceGroup, localIP(cn), time.Now())
}

// rmExtraData is the extraData of a RegisterRM on cn: the signed lines when
// an access key is configured (Java's RM sends none, §6.1), and the line
// that announces merged BranchCommit (merged.go).
func (c *Client) rmExtraData(cn *conn) string {
	return c.extraData(cn) + mergedCommitLine
}

// localIP is the IP of cn's local end, "" if unknown.
func localIP(cn *conn) string {
	if a, ok := cn.nc.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}
