package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/undo"
)

// The account tables, one per mode, in each of the two bank databases.
// AT transfers move balance; TCC transfers freeze the debit in frozen and
// announce the credit in incoming during Try, and settle them in Confirm or
// Cancel. No CHECK constraint guards the balance: a negative one is what
// the final check looks for.
const (
	atTable  = "at_account"
	tccTable = "tcc_account"

	atDDL = `CREATE TABLE at_account (
  id      BIGINT NOT NULL PRIMARY KEY,
  balance BIGINT NOT NULL
) ENGINE = InnoDB`
	tccDDL = `CREATE TABLE tcc_account (
  id       BIGINT NOT NULL PRIMARY KEY,
  balance  BIGINT NOT NULL,
  frozen   BIGINT NOT NULL DEFAULT 0,
  incoming BIGINT NOT NULL DEFAULT 0
) ENGINE = InnoDB`
)

// bankDBs are the names of the run's databases.
type bankDBs struct {
	bank  [2]string // accounts: i%2 selects the database of account i
	store string    // the coordinator's
}

func dbNames(prefix string) bankDBs {
	return bankDBs{bank: [2]string{prefix + "_a", prefix + "_b"}, store: prefix + "_tc"}
}

// serverConfig parses dsn and returns the server's configuration without
// a database.
func serverConfig(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("-dsn: %w", err)
	}
	cfg.DBName = ""
	return cfg, nil
}

// dbConfig returns a copy of server for database name, with a short InnoDB
// lock wait so that a local deadlock-by-global-lock resolves quickly.
func dbConfig(server *mysql.Config, name string) *mysql.Config {
	cfg := server.Clone()
	cfg.DBName = name
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["innodb_lock_wait_timeout"] = "5"
	return cfg
}

// openDB opens a plain pool on database name with at most maxOpen
// connections.
func openDB(server *mysql.Config, name string, maxOpen int) (*sql.DB, error) {
	conn, err := mysql.NewConnector(dbConfig(server, name))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	return db, nil
}

// setUp drops and creates the run's databases, their tables and the
// accounts, each with balance.
func setUp(ctx context.Context, admin *sql.DB, server *mysql.Config, names bankDBs, accounts int, balance int64) error {
	for _, name := range append(names.bank[:], names.store) {
		for _, stmt := range []string{"DROP DATABASE IF EXISTS `" + name + "`", "CREATE DATABASE `" + name + "`"} {
			if _, err := admin.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
	}
	for i, name := range names.bank {
		db, err := openDB(server, name, 2)
		if err != nil {
			return err
		}
		err = setUpBank(ctx, db, i, accounts, balance)
		db.Close()
		if err != nil {
			return fmt.Errorf("set up %s: %w", name, err)
		}
	}
	db, err := openDB(server, names.store, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := tc.CreateTables(ctx, db); err != nil {
		return fmt.Errorf("set up %s: %w", names.store, err)
	}
	return nil
}

// setUpBank creates database index's tables and its accounts.
func setUpBank(ctx context.Context, db *sql.DB, index, accounts int, balance int64) error {
	for _, ddl := range []string{atDDL, tccDDL} {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return err
		}
	}
	if err := undo.CreateTable(ctx, db, ""); err != nil {
		return err
	}
	if err := tcc.CreateTable(ctx, db, ""); err != nil {
		return err
	}
	var rows []string
	var args []any
	for id := index; id < accounts; id += 2 {
		rows = append(rows, "(?, ?)")
		args = append(args, id, balance)
	}
	for _, table := range []string{atTable, tccTable} {
		q := "INSERT INTO " + table + " (id, balance) VALUES " + strings.Join(rows, ", ")
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
