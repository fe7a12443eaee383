package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atcc-go/atcc/tc/admin"
)

const adminUsage = `usage: atcc-tc admin COMMAND -addr URL [flags] [XID]

Commands, over the admin console's JSON API (atcc-tc -admin):
  list      list transactions: [-status stuck] [-application APP] [-min-age 10m] [-limit 50] [-after CURSOR]
  show      show a transaction, its branches and row locks: XID
  retry     run phase two of a transaction now: XID
  resolve   end a transaction a person repaired (locks released, audit line logged): [-reason TEXT] XID

Authentication: -user ACCESS_KEY with the secret in $ATCC_ADMIN_PASSWORD (or -password, which other
users of the machine can see in the process list). TLS: -ca FILE, client certificate -cert FILE -key FILE.
`

// adminClient calls the admin API.
type adminClient struct {
	base       *url.URL
	user, pass string
	http       *http.Client
}

// runAdmin runs "atcc-tc admin ...".
func runAdmin(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("admin: a command is needed: list, show, retry or resolve")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("atcc-tc admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "http://127.0.0.1:7091", "`URL` of the admin console (http:// or https://)")
	user := fs.String("user", "", "access `key` (HTTP Basic user name)")
	password := fs.String("password", "", "the access key's `secret`; default $ATCC_ADMIN_PASSWORD")
	caFile := fs.String("ca", "", "PEM `file` of the CAs that sign the console's certificate")
	certFile := fs.String("cert", "", "PEM `file` of a client certificate (when the console requires one)")
	keyFile := fs.String("key", "", "PEM `file` of the client certificate's key")
	timeout := fs.Duration("timeout", 30*time.Second, "request timeout")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	var status, app, minAge, after, reason *string
	var limit *int
	switch cmd {
	case "list":
		status = fs.String("status", "", "statuses or groups, comma-separated: failed, retrying, stuck, RollbackFailed, ... (default: any)")
		app = fs.String("application", "", "only transactions begun by this application id")
		minAge = fs.String("min-age", "", "only transactions begun at least this `duration` ago")
		limit = fs.Int("limit", 0, "page size (default 50, at most 500)")
		after = fs.String("after", "", "the `cursor` printed under the previous page")
	case "show", "retry":
	case "resolve":
		reason = fs.String("reason", "", "what was done to the data, for the audit log")
	default:
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("admin: unknown command %q", cmd)
	}
	// Flags may come before and after the XID.
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var pos []string
	for fs.NArg() > 0 {
		pos = append(pos, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	wantXID := cmd != "list"
	if wantXID && len(pos) != 1 || !wantXID && len(pos) != 0 {
		return fmt.Errorf("admin %s: unexpected arguments %q", cmd, pos)
	}
	c, err := newAdminClient(*addr, *user, cmp.Or(*password, getenv("ATCC_ADMIN_PASSWORD")), *caFile, *certFile, *keyFile, *timeout)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch cmd {
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"status": *status, "application": *app, "min_age": *minAge, "after": *after} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *limit != 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		var l admin.ListJSON
		if err := c.do(ctx, http.MethodGet, "api/transactions?"+q.Encode(), nil, &l); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, l)
		}
		printList(stdout, l)
	case "show":
		var d admin.DetailJSON
		if err := c.do(ctx, http.MethodGet, "api/transactions/"+url.PathEscape(pos[0]), nil, &d); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, d)
		}
		printDetail(stdout, d)
	case "retry", "resolve":
		var body any
		if reason != nil {
			body = admin.ResolveRequest{Reason: *reason}
		}
		var r admin.ActionJSON
		if err := c.do(ctx, http.MethodPost, "api/transactions/"+url.PathEscape(pos[0])+"/"+cmd, body, &r); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, r)
		}
		if cmd == "retry" {
			fmt.Fprintf(stdout, "%s: phase two retried now\n", r.XID)
		} else {
			fmt.Fprintf(stdout, "%s: resolved, %s\n", r.XID, r.Status)
		}
	}
	return nil
}

func newAdminClient(addr, user, pass, caFile, certFile, keyFile string, timeout time.Duration) (*adminClient, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	base, err := url.Parse(addr)
	if err != nil || base.Host == "" || base.Scheme != "http" && base.Scheme != "https" {
		return nil, fmt.Errorf("-addr %q: want http://host:port or https://host:port", addr)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if user == "" && pass != "" {
		return nil, errors.New("a password without -user")
	}
	if user != "" && pass == "" {
		return nil, errors.New("-user needs the secret: set ATCC_ADMIN_PASSWORD (or -password)")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" || certFile != "" || keyFile != "" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("-ca: %w", err)
			}
			tr.TLSClientConfig.RootCAs = x509.NewCertPool()
			if !tr.TLSClientConfig.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-ca: no certificate in %s", caFile)
			}
		}
		if certFile != "" || keyFile != "" {
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return nil, fmt.Errorf("-cert/-key: %w", err)
			}
			tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
		}
	}
	return &adminClient{base: base, user: user, pass: pass, http: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// do calls the API and decodes its answer into out.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	u, err := c.base.Parse(path)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if method == http.MethodPost {
		req.Header.Set("X-Atcc-Admin", "1")
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e admin.ErrorJSON
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, u.Path, err)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printList(w io.Writer, l admin.ListJSON) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "XID\tSTATUS\tAPPLICATION\tNAME\tAGE\tATTEMPTS\tACTIONS")
	for _, t := range l.Transactions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.XID, t.Status, t.ApplicationID, t.Name,
			(time.Duration(t.AgeMs) * time.Millisecond).Round(time.Second), t.Attempts, strings.Join(t.Actions, ","))
	}
	tw.Flush()
	if l.Next != "" {
		fmt.Fprintf(w, "more: -after %s\n", l.Next)
	}
}

func printDetail(w io.Writer, d admin.DetailJSON) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"XID", d.XID}, {"Status", d.Status}, {"Application", d.ApplicationID}, {"Service group", d.TxServiceGroup},
		{"Name", d.Name}, {"Begun", d.Begin.Format(time.RFC3339) + " (" + (time.Duration(d.AgeMs) * time.Millisecond).Round(time.Second).String() + " ago)"},
		{"Failed attempts", strconv.Itoa(d.Attempts)}, {"Due", cmp.Or(d.Due, "never")}, {"Driven by", cmp.Or(d.Owner, "nobody")},
		{"Actions", cmp.Or(strings.Join(d.Actions, ", "), "none")},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	tw.Flush()
	fmt.Fprintf(w, "\nBranches (%d):\n", len(d.Branches))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BRANCH\tTYPE\tRESOURCE\tSTATUS\tATTEMPTS\tLAST ERROR")
	for _, b := range d.Branches {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", b.BranchID, b.Type, b.ResourceID, b.Status, b.Attempts, b.LastError)
	}
	tw.Flush()
	more := ""
	if d.MoreLocks {
		more = ", more not shown"
	}
	fmt.Fprintf(w, "\nRow locks (%d%s):\n", len(d.Locks), more)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BRANCH\tRESOURCE\tTABLE\tPK")
	for _, l := range d.Locks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", l.BranchID, l.ResourceID, l.Table, l.PK)
	}
	tw.Flush()
}
