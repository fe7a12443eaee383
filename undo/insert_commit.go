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

	"github.com/atcc-go/atcc/internal/mysqlerr"
)

// maxLiteralPayload is the largest rollback_info InsertCommit writes as a
// literal. Its hex form doubles it, and the whole query must fit the
// server's max_allowed_packet (MariaDB's default is 16 MiB, its minimum
// 1 KiB): a larger log goes through the prepared INSERT, which sends its
// bytes as they are, where one round trip less is worth nothing next to
// the transfer anyway.
const maxLiteralPayload = 32 << 10

// The tails of InsertCommit's query after the INSERT's values. The first
// statement that answers with rows tells the INSERT's failure from the
// COMMIT's: go-sql-driver/mysql's QueryContext returns the rows of the
// first statement that has some, or the first error before them, so an
// error before the end of those rows is the INSERT's (the server stops a
// multi-statement query at its first error: the COMMIT did not run), and
// one after them the COMMIT's. MariaDB (from 10.5) answers the
// INSERT itself with rows when it has a RETURNING clause; other servers
// (MySQL, older MariaDB) refuse that as a syntax error, and get a SELECT 1
// after the INSERT instead, which costs the client one more wakeup: the
// server sends each statement's answer on its own.
const (
	returningTail = " RETURNING 1; COMMIT" // 1 rather than a column: a small int64 boxes without allocating
	selectTail    = "; SELECT 1; COMMIT"
)

// errCommitUnread reports an InsertCommit query whose answer did not end
// with the COMMIT's.
var errCommitUnread = errors.New("atcc/undo: the answer to INSERT ...; COMMIT did not hold the COMMIT's result")

// InsertCommit writes l as the branch's undo log, as Insert does, and
// commits the open local transaction of conn, in one round trip: it sends
// the query
//
//	INSERT INTO undo_log (...) VALUES (<literals>) RETURNING 1; COMMIT
//
// (on a server without INSERT ... RETURNING, which refuses it as a syntax
// error the first time, "INSERT ...; SELECT 1; COMMIT" from then on)
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
	returning := !m.noReturning.Load()
	rows, err := qc.QueryContext(ctx, m.insertText(l, uctx, payload, returning), nil)
	if err != nil && returning && mysqlerr.Is(err, mysqlerr.ParseError) {
		// A server without INSERT ... RETURNING; nothing ran.
		m.noReturning.Store(true)
		rows, err = qc.QueryContext(ctx, m.insertText(l, uctx, payload, false), nil)
	}
	if err != nil {
		return insertError(l, err), nil
	}
	if insertErr, commitErr = readCommit(rows); insertErr != nil {
		return insertError(l, insertErr), nil
	}
	return nil, commitErr
}

// readCommit reads the rest of InsertCommit's answer: the rows of the
// INSERT's RETURNING or of the SELECT, where an error is still the
// INSERT's (MariaDB sends RETURNING's columns before it inserts, and an
// error of the insert among its rows), then the COMMIT's result. An answer
// of another shape (impossible from a MySQL server) is reported as a
// commit error wrapping driver.ErrBadConn, so that database/sql closes
// the connection, and with it the transaction.
func readCommit(rows driver.Rows) (insertErr, commitErr error) {
	defer func() {
		if cerr := rows.Close(); insertErr == nil && commitErr == nil {
			commitErr = cerr
		}
	}()
	dest := make([]driver.Value, 1) // RETURNING 1 or SELECT 1
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err, nil
		}
	}
	next, ok := rows.(driver.RowsNextResultSet)
	if !ok || !next.HasNextResultSet() {
		return nil, fmt.Errorf("%w: %w", errCommitUnread, driver.ErrBadConn)
	}
	switch err := next.NextResultSet(); {
	case err == io.EOF: // the COMMIT's OK, and nothing after it
		return nil, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", errCommitUnread, driver.ErrBadConn)
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

// insertText returns InsertCommit's query for l, with a RETURNING clause
// or a SELECT 1 after the INSERT.
func (m *Manager) insertText(l *BranchLog, uctx string, payload []byte, returning bool) string {
	tail := selectTail
	if returning {
		tail = returningTail
	}
	var b strings.Builder
	b.Grow(len(m.sql.insertHead) + 20 + 2*len(l.XID) + 2*len(uctx) + 2*len(payload) + len(insertRest) + len(tail) + 16)
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
	b.WriteString(tail)
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
