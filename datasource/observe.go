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

// insertUndoCommit writes a branch's undo log and commits its local
// transaction in one query on conn (undo.Manager.InsertCommit), reported
// as an UndoWrite operation, which then lasts until the COMMIT's answer,
// when the client has an Observer. The operation fails with the INSERT
// only.
func (r *resource) insertUndoCommit(ctx context.Context, conn driver.ExecerContext, l *undo.BranchLog) (insertErr, commitErr error) {
	o := r.client.Observer()
	if o == nil {
		return r.undo.InsertCommit(ctx, conn, l)
	}
	op := observe.Op{Kind: observe.UndoWrite, Start: time.Now(), XID: l.XID, BranchID: l.BranchID, Resource: r.id}
	ctx = o.Start(ctx, op)
	insertErr, commitErr = r.undo.InsertCommit(ctx, conn, l)
	op.Bytes, op.Err, op.Result = l.Bytes, insertErr, observe.ResultOK
	if insertErr != nil {
		op.Result = observe.ResultError
	}
	o.End(ctx, op)
	return insertErr, commitErr
}
