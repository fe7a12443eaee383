package undo

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Retryable is the one place server errors are classified: what passes by
// itself is retried, what the same rollback would meet again is not.
func TestRetryableClassification(t *testing.T) {
	server := func(n uint16) error {
		return fmt.Errorf("record 0: %w", &mysql.MySQLError{Number: n, Message: "x"})
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{server(1213), true},  // deadlock
		{server(1205), true},  // lock wait timeout
		{server(1040), true},  // too many connections
		{server(1053), true},  // server shutdown
		{server(1290), true},  // read-only
		{server(1927), true},  // connection killed
		{server(1062), false}, // duplicate key after ordering
		{server(1406), false}, // data too long
		{server(1265), false}, // data truncated
		{server(1136), false}, // column count
		{server(1452), false}, // foreign key
		{driver.ErrBadConn, true},
		{mysql.ErrInvalidConn, true},
		{context.DeadlineExceeded, true},
		{&RestoreError{Err: server(1062)}, false},
		{fmt.Errorf("%w", ErrSchemaChanged), false},
	} {
		if got := IsRetryable(c.err); got != c.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
