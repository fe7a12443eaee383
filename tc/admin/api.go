package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
)

// The JSON the API answers. Statuses and types are their Seata names;
// times are RFC 3339, durations milliseconds.

// TxJSON is a transaction in a listing.
type TxJSON struct {
	XID            string    `json:"xid"`
	Status         string    `json:"status"`
	ApplicationID  string    `json:"application_id"`
	TxServiceGroup string    `json:"tx_service_group"`
	Name           string    `json:"name"`
	TimeoutMs      int64     `json:"timeout_ms"`
	Begin          time.Time `json:"begin"`
	AgeMs          int64     `json:"age_ms"`
	Attempts       int       `json:"attempts"`
	Due            string    `json:"due,omitempty"`
	Owner          string    `json:"owner,omitempty"`
	// Actions lists what an operator can do now: "retry", "resolve".
	Actions []string `json:"actions"`
}

// ListJSON is the answer of GET /api/transactions.
type ListJSON struct {
	Transactions []TxJSON `json:"transactions"`
	// Next is the "after" of the next page, "" on the last page.
	Next string `json:"next"`
}

// DetailJSON is the answer of GET /api/transactions/{xid}.
type DetailJSON struct {
	TxJSON
	Branches  []BranchJSON `json:"branches"`
	Locks     []LockJSON   `json:"locks"`
	MoreLocks bool         `json:"more_locks"`
}

// BranchJSON is a branch of a transaction.
type BranchJSON struct {
	BranchID      int64  `json:"branch_id"`
	Type          string `json:"type"`
	ResourceID    string `json:"resource_id"`
	ResourceGroup string `json:"resource_group"`
	Status        string `json:"status"`
	ClientID      string `json:"client_id"`
	Attempts      int    `json:"attempts"`
	LastError     string `json:"last_error"`
}

// LockJSON is a row lock.
type LockJSON struct {
	BranchID   int64  `json:"branch_id"`
	ResourceID string `json:"resource_id"`
	Table      string `json:"table"`
	PK         string `json:"pk"`
}

// ActionJSON is the answer of a POST action.
type ActionJSON struct {
	XID    string `json:"xid"`
	Status string `json:"status"`
}

// ResolveRequest is the (optional) body of POST .../resolve.
type ResolveRequest struct {
	// Reason says what the operator did; it goes to the audit log.
	Reason string `json:"reason"`
}

// ErrorJSON is the body of every failed API answer.
type ErrorJSON struct {
	Error string `json:"error"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	page, err := h.cfg.Coordinator.Transactions(ctx, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now()
	out := ListJSON{Transactions: make([]TxJSON, len(page.Transactions)), Next: page.Next}
	for i := range page.Transactions {
		out.Transactions[i] = txJSON(&page.Transactions[i], now)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	d, err := h.cfg.Coordinator.Transaction(ctx, r.PathValue("xid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := DetailJSON{TxJSON: txJSON(&d.TxInfo, time.Now()), Branches: make([]BranchJSON, len(d.Branches)),
		Locks: make([]LockJSON, len(d.Locks)), MoreLocks: d.MoreLocks}
	for i, b := range d.Branches {
		out.Branches[i] = BranchJSON{BranchID: b.BranchID, Type: b.Type.String(), ResourceID: b.ResourceID, ResourceGroup: b.ResourceGroup,
			Status: b.Status.String(), ClientID: b.ClientID, Attempts: b.Attempts, LastError: b.LastError}
	}
	for i, l := range d.Locks {
		out.Locks[i] = LockJSON(l)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) retry(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	xid := r.PathValue("xid")
	if err := h.cfg.Coordinator.RetryNow(ctx, xid, operator(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ActionJSON{XID: xid, Status: "retrying"})
}

func (h *handler) resolve(w http.ResponseWriter, r *http.Request) {
	var req ResolveRequest
	body, err := io.ReadAll(r.Body)
	if err != nil {
		jsonError(w, http.StatusRequestEntityTooLarge, "body: "+err.Error())
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			jsonError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	xid := r.PathValue("xid")
	to, err := h.cfg.Coordinator.Resolve(ctx, xid, operator(r), req.Reason)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ActionJSON{XID: xid, Status: to.String()})
}

// fail answers a coordinator error with the matching HTTP status.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, tc.ErrTxNotFound):
		jsonError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, tc.ErrTxState):
		jsonError(w, http.StatusConflict, err.Error())
	case errors.Is(err, tc.ErrBadFilter):
		jsonError(w, http.StatusBadRequest, err.Error())
	default:
		h.cfg.Logger.Warn("atcc/tc/admin: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		jsonError(w, http.StatusServiceUnavailable, err.Error())
	}
}

// Status groups accepted by the status parameter.
var statusGroups = map[string][]protocol.GlobalStatus{
	"failed": {protocol.GlobalCommitFailed, protocol.GlobalRollbackFailed, protocol.GlobalTimeoutRollbackFailed,
		protocol.GlobalCommitRetryTimeout, protocol.GlobalRollbackRetryTimeout},
	"retrying": {protocol.GlobalCommitRetrying, protocol.GlobalRollbackRetrying, protocol.GlobalTimeoutRollbackRetrying},
	"stuck": {protocol.GlobalCommitFailed, protocol.GlobalRollbackFailed, protocol.GlobalTimeoutRollbackFailed,
		protocol.GlobalCommitRetryTimeout, protocol.GlobalRollbackRetryTimeout,
		protocol.GlobalCommitRetrying, protocol.GlobalRollbackRetrying, protocol.GlobalTimeoutRollbackRetrying},
}

// parseStatuses parses the status parameter: comma-separated status names
// (case-insensitive) or groups ("failed", "retrying", "stuck").
func parseStatuses(s string) ([]protocol.GlobalStatus, error) {
	var out []protocol.GlobalStatus
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if g, ok := statusGroups[strings.ToLower(name)]; ok {
			out = append(out, g...)
			continue
		}
		st, ok := statusByName(name)
		if !ok {
			return nil, errors.New("status: unknown status " + strconv.Quote(name))
		}
		out = append(out, st)
	}
	return out, nil
}

func statusByName(name string) (protocol.GlobalStatus, bool) {
	for st := protocol.GlobalBegin; st <= protocol.GlobalRollbackRetryTimeout; st++ {
		if strings.EqualFold(st.String(), name) {
			return st, true
		}
	}
	return 0, false
}

func parseFilter(r *http.Request) (tc.TxFilter, error) {
	q := r.URL.Query()
	var f tc.TxFilter
	var err error
	if f.Statuses, err = parseStatuses(q.Get("status")); err != nil {
		return f, err
	}
	f.ApplicationID = q.Get("application")
	if s := q.Get("min_age"); s != "" {
		if f.MinAge, err = time.ParseDuration(s); err != nil {
			return f, errors.New("min_age: want a duration such as 10m: " + err.Error())
		}
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil {
			return f, errors.New("limit: " + err.Error())
		}
	}
	f.After = q.Get("after")
	return f, nil
}

func txJSON(t *tc.TxInfo, now time.Time) TxJSON {
	j := TxJSON{XID: t.XID, Status: t.Status.String(), ApplicationID: t.ApplicationID, TxServiceGroup: t.TxServiceGroup,
		Name: t.Name, TimeoutMs: t.Timeout.Milliseconds(), Begin: t.Begin.UTC(), AgeMs: now.Sub(t.Begin).Milliseconds(),
		Attempts: t.Attempts, Owner: t.Owner, Actions: actions(t)}
	if !t.Due.IsZero() {
		j.Due = t.Due.UTC().Format(time.RFC3339Nano)
	}
	return j
}

// actions lists what an operator may do with t now (tc's RetryNow and
// Resolve accept the same).
func actions(t *tc.TxInfo) []string {
	if t.Owner != "" {
		return []string{}
	}
	for _, g := range statusGroups["stuck"] {
		if t.Status == g {
			return []string{"retry", "resolve"}
		}
	}
	switch t.Status {
	case protocol.GlobalCommitting, protocol.GlobalAsyncCommitting, protocol.GlobalRollbacking, protocol.GlobalTimeoutRollbacking:
		return []string{"retry", "resolve"}
	}
	return []string{}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorJSON{Error: msg})
}
