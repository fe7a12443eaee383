package mysqlerr

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestClassify(t *testing.T) {
	deadlock := &mysql.MySQLError{Number: Deadlock, Message: "Deadlock found"}
	wrapped := fmt.Errorf("update t: %w", deadlock)
	joined := errors.Join(context.Canceled, fmt.Errorf("x: %w", &mysql.MySQLError{Number: LockWaitTimeout}))
	cases := []struct {
		name     string
		err      error
		number   uint16
		conflict bool
	}{
		{"nil", nil, 0, false},
		{"not a server error", driver.ErrBadConn, 0, false},
		{"server error", deadlock, Deadlock, true},
		{"wrapped", wrapped, Deadlock, true},
		{"joined", joined, LockWaitTimeout, true},
		{"other number", &mysql.MySQLError{Number: DupEntry}, DupEntry, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Number(c.err); got != c.number {
				t.Errorf("Number = %d, want %d", got, c.number)
			}
			if got := IsLockConflict(c.err); got != c.conflict {
				t.Errorf("IsLockConflict = %v, want %v", got, c.conflict)
			}
			if got := Server(c.err) != nil; got != (c.number != 0) {
				t.Errorf("Server found = %v, want %v", got, c.number != 0)
			}
		})
	}
	if !Is(wrapped, DupEntry, Deadlock) || Is(wrapped, DupEntry, NoSuchTable) || Is(wrapped) {
		t.Error("Is does not match exactly the numbers given")
	}
	if Server(wrapped) != deadlock {
		t.Error("Server does not return the error in the chain")
	}
}
