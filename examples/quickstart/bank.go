package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/examples/internal/dbserver"
	"github.com/atcc-go/atcc/undo"
)

// bank is one database holding one account: an AT data source for the
// business statements, and a plain pool to look at the tables with.
type bank struct {
	name  string  // the database
	owner string  // the account's id
	at    *sql.DB // through the AT data source: statements join global transactions
	raw   *sql.DB // plain go-sql-driver/mysql
}

// openBank creates database name on server (if needed), recreates its
// account and undo_log tables with one account, owner, holding balance, and
// opens an AT data source on it for client.
func openBank(ctx context.Context, server *dbserver.Server, name, owner string, balance int64, client *atcc.Client, logger *slog.Logger) (*bank, error) {
	raw, err := server.CreateDatabase(ctx, name)
	if err != nil {
		return nil, err
	}
	b := &bank{name: name, owner: owner, raw: raw}
	if err := b.createTables(ctx, balance); err != nil {
		raw.Close()
		return nil, err
	}
	target, err := mysql.NewConnector(server.Config(name))
	if err != nil {
		raw.Close()
		return nil, err
	}
	conn, err := datasource.NewConnector(target, client, datasource.Config{
		ResourceID: "mysql://" + server.Config(name).Addr + "/" + name, // the same on every instance using this database
		Logger:     logger,
	})
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("data source %s: %w", name, err)
	}
	b.at = sql.OpenDB(conn)
	return b, nil
}

func (b *bank) createTables(ctx context.Context, balance int64) error {
	for _, q := range []string{
		"DROP TABLE IF EXISTS account",
		"CREATE TABLE account (id VARCHAR(32) NOT NULL PRIMARY KEY, balance BIGINT NOT NULL)",
		"DROP TABLE IF EXISTS undo_log",
	} {
		if _, err := b.raw.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s: %w", b.name, q, err)
		}
	}
	if err := undo.CreateTable(ctx, b.raw, "undo_log"); err != nil {
		return fmt.Errorf("%s: %w", b.name, err)
	}
	if _, err := b.raw.ExecContext(ctx, "INSERT INTO account (id, balance) VALUES (?, ?)", b.owner, balance); err != nil {
		return fmt.Errorf("%s: %w", b.name, err)
	}
	return nil
}

// add adds delta to the account's balance in a local transaction on the AT
// data source. When ctx carries an XID the transaction is a branch of that
// global transaction: its commit registers the branch with the coordinator
// and writes the undo log along with the update.
func (b *bank) add(ctx context.Context, delta int64) error {
	tx, err := b.at.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx,
		"UPDATE account SET balance = balance + ? WHERE id = ? AND balance + ? >= 0", delta, b.owner, delta)
	if err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(fmt.Errorf("%s: %s cannot pay %d", b.name, b.owner, -delta), err, tx.Rollback())
	}
	return tx.Commit()
}

// balance reads the account's balance and the number of undo_log rows.
func (b *bank) balance(ctx context.Context) (balance int64, undoRows int, err error) {
	if err := b.raw.QueryRowContext(ctx, "SELECT balance FROM account WHERE id = ?", b.owner).Scan(&balance); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", b.name, err)
	}
	if err := b.raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM undo_log").Scan(&undoRows); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", b.name, err)
	}
	return balance, undoRows, nil
}

// close closes the data source and then the plain pool.
func (b *bank) close() error {
	return errors.Join(b.at.Close(), b.raw.Close())
}
