package datasource_test

import (
	"context"
	"database/sql"
	"errors"
	"log"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/tm"
)

// An AT data source over go-sql-driver/mysql: a local transaction begun
// with the context of a global transaction is one of its branches.
func ExampleNewConnector() {
	ctx := context.Background()
	client, err := atcc.New(atcc.Config{ApplicationID: "stock-service", Coordinators: []string{"127.0.0.1:8091"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.DBName = "tcp", "127.0.0.1:3306", "root", "stock"
	target, err := mysql.NewConnector(cfg)
	if err != nil {
		log.Fatal(err)
	}
	conn, err := datasource.NewConnector(target, client, datasource.Config{ResourceID: "stock-db"})
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close() // closes conn too

	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "reserve"}, func(ctx context.Context) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "UPDATE stock SET qty = qty - ? WHERE sku = ?", 1, "A-1"); err != nil {
			return err
		}
		return tx.Commit()
	})
	var conflict *datasource.LockConflictError
	switch {
	case errors.As(err, &conflict):
		log.Printf("rows %s are held by another global transaction; try again later", conflict.LockKeys)
	case err != nil:
		log.Fatal(err)
	}
}

// Register binds a driver name to a client, for code that opens its pools
// with sql.Open.
func ExampleRegister() {
	client, err := atcc.New(atcc.Config{ApplicationID: "stock-service", Coordinators: []string{"127.0.0.1:8091"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := datasource.Register(client, "atcc-mysql", datasource.Config{}); err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("atcc-mysql", "root@tcp(127.0.0.1:3306)/stock")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}
