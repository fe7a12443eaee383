package undo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/atcc-go/atcc/internal/testdb"
)

func TestCreateTable(t *testing.T) {
	d := testdb.Create(t)
	ctx := context.Background()
	for range 2 { // IF NOT EXISTS
		if err := CreateTable(ctx, d.DB, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := CreateTable(ctx, d.DB, "odd`name"); err != nil {
		t.Fatal(err)
	}
	d.Exec(t, strings.Replace(DDL, "`undo_log`", "`from_const`", 1))
	showCreate := func(name string) string {
		var n, ddl string
		if err := d.DB.QueryRow("SHOW CREATE TABLE `"+strings.ReplaceAll(name, "`", "``")+"`").Scan(&n, &ddl); err != nil {
			t.Fatal(err)
		}
		return ddl[strings.Index(ddl, "("):]
	}
	want := showCreate("undo_log")
	for _, name := range []string{"odd`name", "from_const"} {
		if got := showCreate(name); got != want {
			t.Fatalf("%s differs:\n%s\nwant\n%s", name, got, want)
		}
	}
	for _, s := range []string{"`branch_id` bigint(20) NOT NULL", "`xid` varchar(128) NOT NULL", "`context` varchar(128) NOT NULL",
		"`rollback_info` longblob NOT NULL", "`log_status` int(11) NOT NULL", "`log_created` datetime(6) NOT NULL",
		"`log_modified` datetime(6) NOT NULL", "UNIQUE KEY `ux_undo_log` (`xid`,`branch_id`)", "KEY `ix_log_created` (`log_created`)",
		"ENGINE=InnoDB", "CHARSET=utf8mb4"} {
		if !strings.Contains(want, s) {
			t.Errorf("DDL lacks %s:\n%s", s, want)
		}
	}
	for _, bad := range []string{strings.Repeat("x", 65), "a\x00b", "trailing ", "\xff"} {
		if err := CreateTable(ctx, d.DB, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
		if _, err := NewManager(d.DB, Config{Table: bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewManager(%q): %v", bad, err)
		}
	}
}

// TestUndoStatementsUseIndexes guards the plans of the undo_log statements:
// a scan would lock every branch's row.
func TestUndoStatementsUseIndexes(t *testing.T) {
	e := newEnv(t, Config{})
	e.addUndoRows(t, "p", 2000)
	e.d.Exec(t, "ANALYZE TABLE undo_log")
	s := &e.m.sql
	for q, args := range map[string][]any{
		s.selectForUpdate: {"xid-p-1", 1},
		s.deleteOne:       {"xid-p-1", 1},
		s.deleteBatch(3):  {"xid-p-1", 1, "xid-p-2", 2, "xid-p-3", 3},
		s.deleteOld:       {30, 10},
	} {
		var typ, key any
		var skip any
		row := e.d.DB.QueryRow("EXPLAIN "+q, args...)
		if err := row.Scan(&skip, &skip, &skip, &typ, &skip, &key, &skip, &skip, &skip, &skip); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if fmt.Sprintf("%s", typ) == "ALL" {
			t.Errorf("full scan: %s", q)
		}
	}
}
