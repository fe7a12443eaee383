package undo

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every value of the type matrix goes through the jackson writer and back
// through the reader unchanged, or is refused by the writer with
// ErrUnsupportedType: exactly the values Java's format cannot hold.
func TestJacksonWriterTypeMatrix(t *testing.T) {
	e := newEnv(t, Config{Serializer: SerializerJackson, JavaTimeZone: time.UTC, CompressThreshold: -1}, typesTable)
	e.d.Exec(t, typesRows...)
	ctx := context.Background()
	original := readAll(t, e.app)["driver/binary"]
	var refused []string
	roundTrips := 0
	for _, row := range original.Rows {
		for c := 2; c < len(original.Columns); c++ {
			img := Image{Columns: []string{"id", "variant", original.Columns[c]}, Rows: []Row{{row[0], row[1], row[c]}}}
			l := &BranchLog{XID: "xid-types", BranchID: 1, Records: []Record{{Op: OpDelete, Table: "types", Before: img}}}
			payload, uctx, err := e.m.encodeUndoLog(ctx, l)
			if err != nil {
				if !errors.Is(err, ErrUnsupportedType) {
					t.Fatalf("%s %s: %v", row[1], original.Columns[c], err)
				}
				refused = append(refused, row[1].String()+"."+original.Columns[c])
				continue
			}
			if !bytes.HasPrefix(payload, []byte(`{"@class":"io.seata.rm.datasource.undo.BranchUndoLog",`)) || uctx != "serializer=jackson&compressorType=NONE" {
				t.Fatalf("%s %s: context %q payload %.80s", row[1], original.Columns[c], uctx, payload)
			}
			got, err := e.m.decodeUndoLog(ctx, uctx, payload)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", row[1], original.Columns[c], err, payload)
			}
			sameImage(t, row[1].String()+"."+original.Columns[c], got.Records[0].Before, img)
			roundTrips++
		}
	}
	want := []string{
		"min.c_date", "min.c_time", "min.c_datetime", // 1000-01-01 is before 1582; TIME -838:59:59.999999
		"max.c_time",
		"tricky.c_date", "tricky.c_time", "tricky.c_timestamp", "tricky.c_year", // zero dates, -00:00:00.5, YEAR 0
	}
	slices.Sort(refused)
	slices.Sort(want)
	if !slices.Equal(refused, want) {
		t.Fatalf("refused %v\nwant    %v", refused, want)
	}
	t.Logf("%d values round-tripped, %d refused", roundTrips, len(refused))
}

// A branch logged in jackson rolls back through the ordinary path, plain and
// gzip-compressed, with either generation of class names.
func TestJacksonWriterRollback(t *testing.T) {
	for _, c := range []struct {
		serializer, prefix string
		threshold          int
		compressor         string
	}{
		{SerializerJackson, `{"@class":"io.seata.`, 0, "NONE"},
		{SerializerJacksonApache, `{"@class":"org.apache.seata.`, 0, "NONE"},
		{SerializerJackson, "\x1f\x8b", 1, "GZIP"},
	} {
		t.Run(c.serializer+"/"+c.compressor, func(t *testing.T) {
			e := accountEnv(t, Config{Serializer: c.serializer, JavaTimeZone: time.UTC, CompressThreshold: c.threshold})
			b := e.begin(t, "xid-j", 11)
			b.update("account", "balance = balance - 10, note = 'debit'", "id IN (?, ?)", 1, 2)
			b.delete("account", "id = ?", 10)
			b.insert("account", "INSERT INTO account (owner, balance) VALUES ('erin', 1)", "owner = 'erin'")
			b.mustCommit()
			var (
				uctx    string
				payload []byte
			)
			if err := e.d.DB.QueryRow("SELECT context, rollback_info FROM undo_log WHERE xid = 'xid-j'").Scan(&uctx, &payload); err != nil {
				t.Fatal(err)
			}
			if uctx != "serializer=jackson&compressorType="+c.compressor || !bytes.HasPrefix(payload, []byte(c.prefix)) {
				t.Fatalf("context %q payload %.40q", uctx, payload)
			}
			if err := e.m.Rollback(context.Background(), "xid-j", 11); err != nil {
				t.Fatal(err)
			}
			e.sameAsSnapshot(t, "account")
		})
	}
}

// The writer's framing is byte for byte what Java Seata 2.0.0 wrote (the
// prefix quoted in apache/incubator-seata#6620).
func TestJacksonWriterMatchesJavaPrefix(t *testing.T) {
	e := newEnv(t, Config{Serializer: SerializerJackson, JavaTimeZone: time.UTC}, "CREATE TABLE t_test (id BIGINT NOT NULL PRIMARY KEY)")
	l := &BranchLog{XID: "10.115.53.2:8091:1405657052835082267", BranchID: 1405657052835082268, Records: []Record{
		{Op: OpInsert, Table: "t_test", After: Image{Columns: []string{"id"}, Rows: []Row{{iv(1)}}}},
	}}
	payload, _, err := e.m.encodeUndoLog(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	const java = `{"@class":"io.seata.rm.datasource.undo.BranchUndoLog","xid":"10.115.53.2:8091:1405657052835082267","branchId":1405657052835082268,"sqlUndoLogs":["java.util.ArrayList",[{"@class":"io.seata.rm.datasource.undo.SQLUndoLog","sqlType":"INSERT","tableName":"t_test","beforeImage":{"@class":"io.seata.rm.datasource.sql.struct.TableRecords$EmptyTableRecords","tableName":"t_test","rows":["java.util.ArrayList",[]]},"afterImage":{"@class":"io.seata.rm.datasource.sql.struct.TableRecords","tableName":"t_test","`
	if !strings.HasPrefix(string(payload), java) {
		t.Fatalf("payload\n%s\nJava's prefix\n%s", payload, java)
	}
	const field = `{"@class":"io.seata.rm.datasource.sql.struct.Field","name":"id","keyType":"PRIMARY_KEY","type":-5,"value":["java.lang.Long",1]}`
	if !strings.Contains(string(payload), field) {
		t.Fatalf("payload %s lacks %s", payload, field)
	}
}

func TestSerializerConfig(t *testing.T) {
	db := &sql.DB{}
	for _, cfg := range []Config{{Serializer: SerializerJackson}, {Serializer: "fastjson"}} {
		if _, err := NewManager(db, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	for _, s := range []string{"", SerializerATCC, SerializerJackson, SerializerJacksonApache} {
		m, err := NewManager(db, Config{Serializer: s, JavaTimeZone: time.UTC})
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		m.Close(context.Background())
	}
}
