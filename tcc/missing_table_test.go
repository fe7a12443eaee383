package tcc

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Issue 13: a missing tcc_fence_log says how to create it.
func TestMissingFenceTableSaysHowToCreateIt(t *testing.T) {
	noTable := &mysql.MySQLError{Number: 1146, Message: "Table 'shop.tcc_fence_log' doesn't exist"}
	err := missingFenceHint(noTable)
	if !errors.Is(err, noTable) || !strings.Contains(err.Error(), "tcc.CreateTable(") || !strings.Contains(err.Error(), "tcc.DDL") {
		t.Fatalf("err = %v", err)
	}
	other := &mysql.MySQLError{Number: 1062}
	if err := missingFenceHint(other); err != other {
		t.Fatalf("other errors are left alone: %v", err)
	}
}
