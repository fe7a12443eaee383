package gormat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/examples/internal/dbserver"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

func TestMain(m *testing.M) {
	atcc.SetGettyLogger(nil)
	m.Run()
}

// world is one test's setup: a coordinator, a client, a fresh database
// with the models' tables, an AT pool over it and gorm on that pool, and a
// twin database where the same gorm code runs without AT.
type world struct {
	client *atcc.Client
	raw    *sql.DB  // plain pool of the AT database, for dumps
	at     *gorm.DB // gorm on the AT pool
	atDB   *sql.DB  // the AT pool
	twin   *gorm.DB // gorm on the twin database, plain
	twinDB *sql.DB
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	dsn := dbserver.TestDSN(t)
	coord, err := tc.New(tc.Config{RetryPeriod: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := coord.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coord.Close() })
	client, err := atcc.New(atcc.Config{ApplicationID: "gorm-example", Coordinators: []string{coord.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := dbserver.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	w := &world{client: client}
	for i, db := range []**sql.DB{&w.raw, &w.twinDB} {
		name := dbserver.TestDatabase(t, dsn)
		raw, err := server.CreateDatabase(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		*db = raw
		g, err := Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.AutoMigrate(&Card{}, &Customer{}, &Order{}); err != nil {
			t.Fatal(err)
		}
		seed := []Customer{
			{Name: "ann", Card: &Card{Num: "c-ann"}, Orders: []Order{{Item: "tea"}, {Item: "cake"}}},
			{Name: "bob", Orders: []Order{{Item: "jam"}}},
		}
		if err := g.Create(&seed).Error; err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			w.twin = g
			continue
		}
		if err := undo.CreateTable(ctx, raw, undo.DefaultTable); err != nil {
			t.Fatal(err)
		}
		target, err := gomysql.NewConnector(server.Config(name))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := datasource.NewConnector(target, client, datasource.Config{ResourceID: "gorm/" + name})
		if err != nil {
			t.Fatal(err)
		}
		atDB := sql.OpenDB(conn)
		t.Cleanup(func() { atDB.Close() })
		w.atDB = atDB
		if w.at, err = Open(atDB); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// dump returns every row of the models' tables, in key order, as text.
func dump(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"cards", "customers", "orders"} {
		rows, err := db.QueryContext(t.Context(), "SELECT * FROM "+table+" ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// work is what a service does with gorm in one global transaction: gorm's
// default paths, every one of them through db.WithContext(ctx).
func work(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	// Create with a belongs-to and has-many associations: INSERT INTO cards
	// ... ON DUPLICATE KEY UPDATE id=id, INSERT INTO customers ...
	// RETURNING id (MariaDB >= 10.5), INSERT INTO orders ... ON DUPLICATE
	// KEY UPDATE customer_id=VALUES(customer_id).
	cid := Customer{Name: "cid", Card: &Card{Num: "c-cid"}, Orders: []Order{{Item: "milk"}, {Item: "eggs"}}}
	if err := db.Create(&cid).Error; err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var ann Customer
	if err := db.Preload("Orders").Preload("Card").Where("name = ?", "ann").First(&ann).Error; err != nil {
		return fmt.Errorf("load: %w", err)
	}
	// Save: every column of the customer, and its associations again.
	ann.Name = "anne"
	ann.Card.Num = "c-anne"
	if err := db.Session(&gorm.Session{FullSaveAssociations: true}).Save(&ann).Error; err != nil {
		return fmt.Errorf("save: %w", err)
	}
	// Replace: keeps one old order, adds a new one, unlinks the other.
	if err := db.Model(&ann).Association("Orders").Replace([]Order{ann.Orders[0], {Item: "scones"}}); err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	// A gorm transaction is a local transaction: a branch of the global one.
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Delete(&Order{}, "item = ?", "jam").Error; err != nil {
			return err
		}
		return tx.Model(&Customer{}).Where("name = ?", "bob").Update("name", "rob").Error
	})
	if err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	if err := db.Delete(&cid.Orders[1]).Error; err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// A global rollback undoes everything gorm did; a global commit leaves the
// tables as the same code leaves them without AT.
func TestGormGlobalTransaction(t *testing.T) {
	w := newWorld(t)
	initial := dump(t, w.raw)
	if initial != dump(t, w.twinDB) {
		t.Fatalf("twin differs:\n%s\n%s", initial, dump(t, w.twinDB))
	}

	errAbort := errors.New("abort")
	err := w.client.TM().WithGlobalTx(t.Context(), tm.TxOptions{Name: "gorm-rollback"}, func(ctx context.Context) error {
		if err := work(ctx, w.at); err != nil {
			return err
		}
		if dump(t, w.raw) == initial {
			t.Error("the work changed nothing")
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("WithGlobalTx: %v", err)
	}
	if got := dump(t, w.raw); got != initial {
		t.Fatalf("after global rollback:\n%s\nwant:\n%s", got, initial)
	}

	// The rollback used up auto-increment values; use them up on the twin
	// too, so that the commit below generates the same keys on both.
	if err := w.twin.Transaction(func(tx *gorm.DB) error {
		if err := work(context.Background(), tx); err != nil {
			return err
		}
		return errAbort
	}); !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	err = w.client.TM().WithGlobalTx(t.Context(), tm.TxOptions{Name: "gorm-commit"}, func(ctx context.Context) error {
		return work(ctx, w.at)
	})
	if err != nil {
		t.Fatalf("WithGlobalTx: %v", err)
	}
	if err := work(context.Background(), w.twin); err != nil {
		t.Fatal(err)
	}
	if got, want := dump(t, w.raw), dump(t, w.twinDB); got != want {
		t.Fatalf("after global commit:\n%s\nwant (the same code without AT):\n%s", got, want)
	}
}

// gorm code that does not pass the global transaction's context (no
// WithContext(ctx)) runs outside it: it commits on its own and a global
// rollback does not undo it.
func TestGormWithoutContextRunsOutside(t *testing.T) {
	w := newWorld(t)
	errAbort := errors.New("abort")
	err := w.client.TM().WithGlobalTx(t.Context(), tm.TxOptions{Name: "gorm-no-ctx"}, func(ctx context.Context) error {
		// Wrong: no context, so no XID: a plain autocommit INSERT.
		if err := w.at.Create(&Card{Num: "outside"}).Error; err != nil {
			return err
		}
		// Right: in the global transaction.
		if err := w.at.WithContext(ctx).Create(&Card{Num: "inside"}).Error; err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("WithGlobalTx: %v", err)
	}
	var nums []string
	if err := w.at.Model(&Card{}).Order("id").Pluck("num", &nums).Error; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nums, ","); got != "c-ann,outside" {
		t.Fatalf("cards after global rollback: %s, want c-ann,outside", got)
	}
}

// readmeGorm is README's gorm snippet.
func readmeGorm(ctx context.Context, client *atcc.Client, db *sql.DB) error {
	// README begin
	gdb, err := gorm.Open(gormmysql.New(gormmysql.Config{Conn: db}), &gorm.Config{}) // db: the AT *sql.DB
	if err != nil {
		return err
	}
	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "signup"}, func(ctx context.Context) error {
		gdb.Create(&Card{Num: "outside"})             // WRONG: no XID, committed whatever happens
		return gdb.WithContext(ctx).Create(&Customer{ // right: a branch of the global transaction
			Name: "ann", Card: &Card{Num: "c-1"}, Orders: []Order{{Item: "tea"}},
		}).Error
	})
	// README end
	return err
}

// TestREADMEGormSnippet runs README's gorm snippet: both writes commit
// (the global transaction commits), and the customer's rows came through
// AT (its branch was registered: no undo row is left once phase two ran).
func TestREADMEGormSnippet(t *testing.T) {
	w := newWorld(t)
	if err := readmeGorm(t.Context(), w.client, w.atDB); err != nil {
		t.Fatal(err)
	}
	var nums []string
	if err := w.at.Model(&Card{}).Order("id").Pluck("num", &nums).Error; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nums, ","); got != "c-ann,outside,c-1" {
		t.Fatalf("cards: %s, want c-ann,outside,c-1", got)
	}
}
