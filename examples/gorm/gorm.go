// Package gormat shows gorm (gorm.io/gorm with gorm.io/driver/mysql) on an
// AT data source: a *gorm.DB opened on the *sql.DB of a
// datasource.Connector, its models, and the one rule that matters: only
// statements whose context carries the global transaction take part in it,
// so every gorm call inside a global transaction goes through
// db.WithContext(ctx). The tests run gorm's default paths (Create with
// associations, Save, Delete, Association().Replace, Transaction) in global
// transactions against MariaDB and compare whole tables.
package gormat

import (
	"database/sql"

	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Customer has one Card (belongs-to, through CardID) and many Orders.
type Customer struct {
	ID     uint64
	Name   string `gorm:"size:40"`
	CardID *uint64
	Card   *Card
	Orders []Order
}

// Card is a customer's card.
type Card struct {
	ID  uint64
	Num string `gorm:"size:20"`
}

// Order belongs to a customer; Association("Orders").Replace sets the
// CustomerID of the orders it drops to NULL.
type Order struct {
	ID         uint64
	CustomerID *uint64
	Item       string `gorm:"size:40"`
}

// Open returns gorm over db, an AT pool (sql.OpenDB of a
// datasource.Connector) or a plain one, with gorm's default settings and
// its logger silenced.
func Open(db *sql.DB) (*gorm.DB, error) {
	return gorm.Open(mysql.New(mysql.Config{Conn: db}), &gorm.Config{Logger: logger.Discard})
}
