package datasource

import (
	"context"
	"database/sql/driver"
	"time"

	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/undo"
)

// insertUndo writes a branch's undo log in its local transaction on conn,
// reported as an UndoWrite operation when the client has an Observer.
func (r *resource) insertUndo(ctx context.Context, conn driver.ExecerContext, l *undo.BranchLog) error {
	o := r.client.Observer()
	if o == nil {
		return r.undo.Insert(ctx, conn, l)
	}
	op := observe.Op{Kind: observe.UndoWrite, Start: time.Now(), XID: l.XID, BranchID: l.BranchID, Resource: r.id}
	ctx = o.Start(ctx, op)
	err := r.undo.Insert(ctx, conn, l)
	op.Bytes, op.Err, op.Result = l.Bytes, err, observe.ResultOK
	if err != nil {
		op.Result = observe.ResultError
	}
	o.End(ctx, op)
	return err
}
