//go:build unix

package admin

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// TestBrowserResolvesStuckTransaction drives the web page in a real
// headless Chromium: a transaction whose rollback the RM refused (as an AT
// RM refuses on a dirty write) is listed, opened and resolved with mouse
// clicks, and the MySQL store then shows it ended with its locks gone.
// Screenshots go to $ATCC_ARTIFACTS (or a temporary directory), logged.
func TestBrowserResolvesStuckTransaction(t *testing.T) {
	t.Parallel()
	chromiumPath(t)
	logs := &slogRecorder{}
	s, db := coordinator(t, true, logs)
	xid, _ := stuckTx(t, s)
	ts := console(t, s, func(c *Config) { c.AccessKeys = []rpc.AccessKey{{Key: "ops", Secret: "s3cret"}} })
	dir := artifacts(t)

	p := newPage(t)
	p.call("Network.enable", map[string]any{})
	p.call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Authorization": "Basic b3BzOnMzY3JldA=="}}) // ops:s3cret
	p.call("Page.navigate", map[string]any{"url": ts.URL + "/"})

	row := "[...document.querySelectorAll('#tx-list tbody tr')].find(r => r.dataset.xid === " + jsString(xid) + ")"
	p.waitFor("the stuck transaction listed", row)
	var status string
	if err := p.eval(row+".children[1].textContent", &status); err != nil || status != "RollbackFailed" {
		t.Fatalf("listed as %q (%v)", status, err)
	}
	p.screenshot(filepath.Join(dir, "admin-list.png"))

	p.click(row + ".querySelector('a')")
	p.waitFor("the detail", "document.querySelector('#detail-status') && document.querySelector('#detail-status').textContent === 'RollbackFailed'"+
		" && document.querySelectorAll('#branches tbody tr').length === 1 && document.querySelectorAll('#locks tbody tr').length === 2")
	var branchStatus string
	if err := p.eval("document.querySelector('#branches tbody tr').children[3].textContent", &branchStatus); err != nil ||
		branchStatus != "PhaseTwo_RollbackFailed_Unretryable" {
		t.Fatalf("branch shown as %q (%v)", branchStatus, err)
	}

	p.click("document.querySelector('#resolve')")
	p.waitFor("the resolve panel", "!document.querySelector('#resolve-panel').hidden")
	p.click("document.querySelector('#resolve-reason')")
	p.typeText("restored stock rows 1 and 2 from the audit table")
	p.screenshot(filepath.Join(dir, "admin-detail.png"))
	p.click("document.querySelector('#resolve-confirm')")
	p.waitFor("the resolved status", "document.querySelector('#detail-status').textContent === 'Rollbacked'"+
		" && document.querySelectorAll('#locks tbody tr').length === 0 && !document.querySelector('#message').hidden")
	p.screenshot(filepath.Join(dir, "admin-resolved.png"))

	d, err := s.Transaction(context.Background(), xid)
	if err != nil || d.Status != protocol.GlobalRollbacked || len(d.Branches) != 0 || len(d.Locks) != 0 {
		t.Fatalf("store: %+v %v", d, err)
	}
	if n := lockRows(t, db); n != 0 {
		t.Fatalf("%d lock rows left", n)
	}
	audit := logs.find("resolved by an operator")
	if len(audit) != 1 || audit[0]["xid"] != xid || !strings.HasPrefix(audit[0]["by"], "access-key:ops@") ||
		audit[0]["reason"] != "restored stock rows 1 and 2 from the audit table" {
		t.Fatalf("audit: %v", audit)
	}
}
