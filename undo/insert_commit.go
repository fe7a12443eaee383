package undo

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxLiteralPayload is the largest rollback_info InsertCommit writes as a
// literal. Its hex form doubles it, and the whole query must fit the
// server's max_allowed_packet (MariaDB's default is 16 MiB, its minimum
// 1 KiB): a larger log goes through the prepared INSERT, which sends its
// bytes as they are, where one round trip less is worth nothing next to
// the transfer anyway.
const maxLiteralPayload = 32 << 10

// insertCommitTail follows the INSERT in InsertCommit's query. The SELECT
// tells its two failures apart: go-sql-driver/mysql's QueryContext
// returns the rows of the first statement that has some, or the first
// error before them, so an error from QueryContext is the INSERT's (the
// server stops a multi-statement query at its first error: the COMMIT did
// not run), and one after it is the COMMIT's.
const insertCommitTail = "; SELECT 1; COMMIT"

// errCommitUnread reports an InsertCommit query whose answer did not end
// with the COMMIT's.
var errCommitUnread = errors.New("atcc/undo: the answer to INSERT ...; SELECT 1; COMMIT did not hold the COMMIT's result")

// InsertCommit writes l as the branch's undo log, as Insert does, and
// commits the open local transaction of conn, in one round trip: it sends
// the query
//
//	INSERT INTO undo_log (...) VALUES (<literals>); SELECT 1; COMMIT
//
// through conn's driver.QueryerContext, which must accept several
// statements in one query (go-sql-driver/mysql with multiStatements=true)
// and return rows implementing driver.RowsNextResultSet. Every value is a
// literal that means the same in every sql_mode and connection character
// set: rollback_info a hex literal, the other columns as the prepared
// INSERT stores them. A log whose payload exceeds 32 KiB, or whose xid or
// context holds a byte outside printable ASCII or a backslash, is written
// as Insert writes it, then committed with its own COMMIT: two round trips,
// the same row.
//
// It returns insertErr when the undo log was not written, classified as
// Insert's errors are (ErrGlobalFinished, ...): the COMMIT did not run and
// the caller must roll the transaction back. It returns commitErr, the
// error as the driver gave it, when the INSERT succeeded but the COMMIT
// failed or its answer did not arrive: whether the transaction committed
// is then unknown, as after a failed driver.Tx.Commit. Unlike
// driver.Tx.Commit, which takes no context, the one-query form ends with
// ctx; a connection broken while the answer was awaited (ctx ended, the
// server killed it) may then report insertErr although the server ran the
// whole query: the connection is closed, so the caller's rollback fails
// too.
//
// conn's transaction must not be committed or rolled back through its
// driver.Tx afterwards: InsertCommit ended it (unless it returned
// insertErr).
func (m *Manager) InsertCommit(ctx context.Context, conn driver.ExecerContext, l *BranchLog) (insertErr, commitErr error) {
	if l == nil {
		return fmt.Errorf("%w: nil BranchLog", ErrInvalid), nil
	}
	if err := checkXID(l.XID); err != nil {
		return err, nil
	}
	payload, uctx, err := m.encodeUndoLog(ctx, l)
	if err != nil {
		return err, nil
	}
	l.Bytes = len(payload)
	return m.writeCommit(ctx, conn, l, uctx, payload)
}

// writeCommit is InsertCommit once l is encoded.
func (m *Manager) writeCommit(ctx context.Context, conn driver.ExecerContext, l *BranchLog, uctx string, payload []byte) (insertErr, commitErr error) {
	if len(payload) > maxLiteralPayload || !plainString(l.XID) || !plainString(uctx) {
		args := []driver.NamedValue{
			{Ordinal: 1, Value: l.BranchID},
			{Ordinal: 2, Value: l.XID},
			{Ordinal: 3, Value: contextArg(uctx)},
			{Ordinal: 4, Value: payload},
		}
		if err := execDriver(ctx, conn, m.sql.insert, args); err != nil {
			return insertError(l, err), nil
		}
		// Without a context, as driver.Tx.Commit.
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT", nil)
		return nil, err
	}
	qc, ok := conn.(driver.QueryerContext)
	if !ok {
		return fmt.Errorf("%w: InsertCommit needs a connection implementing driver.QueryerContext", ErrInvalid), nil
	}
	rows, err := qc.QueryContext(ctx, m.insertText(l, uctx, payload), nil)
	if err != nil {
		return insertError(l, err), nil
	}
	return nil, readCommit(rows)
}

// readCommit reads the rest of InsertCommit's answer, from the SELECT's
// rows on: the COMMIT's result. An answer of another shape (impossible
// from a MySQL server) is reported wrapping driver.ErrBadConn, so that
// database/sql closes the connection, and with it the transaction.
func readCommit(rows driver.Rows) (err error) {
	defer func() {
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}()
	next, ok := rows.(driver.RowsNextResultSet)
	if !ok || !next.HasNextResultSet() {
		return fmt.Errorf("%w: %w", errCommitUnread, driver.ErrBadConn)
	}
	switch err := next.NextResultSet(); {
	case err == io.EOF: // the COMMIT's OK, and nothing after it
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: %w", errCommitUnread, driver.ErrBadConn)
}

// plainString reports whether s is written in a quoted literal as it is
// (but for doubled quotes) in every sql_mode and every ASCII-based
// connection character set: printable ASCII without a backslash, which
// NO_BACKSLASH_ESCAPES reads otherwise.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// insertText returns InsertCommit's query for l.
func (m *Manager) insertText(l *BranchLog, uctx string, payload []byte) string {
	var b strings.Builder
	b.Grow(len(m.sql.insertHead) + 20 + 2*len(l.XID) + 2*len(uctx) + 2*len(payload) + len(insertRest) + len(insertCommitTail) + 16)
	b.WriteString(m.sql.insertHead)
	var num [20]byte
	b.Write(strconv.AppendInt(num[:0], l.BranchID, 10))
	b.WriteString(", ")
	quoteString(&b, l.XID)
	b.WriteString(", ")
	quoteString(&b, uctx)
	b.WriteString(", X'")
	var buf [512]byte
	for p := payload; len(p) > 0; {
		n := min(len(p), len(buf)/2)
		b.Write(buf[:hex.Encode(buf[:], p[:n])])
		p = p[n:]
	}
	b.WriteByte('\'')
	b.WriteString(insertRest)
	b.WriteString(insertCommitTail)
	return b.String()
}

// quoteString writes s, a plainString, as a quoted literal.
func quoteString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			break
		}
		b.WriteString(s[:i+1])
		b.WriteByte('\'')
		s = s[i+1:]
	}
	b.WriteString(s)
	b.WriteByte('\'')
}
