package sqlparse

import (
	"errors"
	"strings"
	"testing"
)

// Helpers that keep the table below readable.

func st(text string, lo, hi int) stmt { return stmt{text: text, lo: lo, hi: hi} }

func frag(sql string, args ...int) Fragment {
	if len(args) == 0 {
		return Fragment{SQL: sql}
	}
	return Fragment{SQL: sql, Args: args}
}

func tn(name string) TableName            { return TableName{Name: name} }
func tna(name, alias string) TableName    { return TableName{Name: name, Alias: alias} }
func tns(schema, name string) TableName   { return TableName{Schema: schema, Name: name} }
func col(name string) ColumnRef           { return ColumnRef{Name: name} }
func qcol(table, name string) ColumnRef   { return ColumnRef{Table: table, Name: name} }
func argv(i int) Value                    { return Value{Kind: ValueArg, Arg: i} }
func litv(v any) Value                    { return Value{Kind: ValueLiteral, Literal: v} }
func defv() Value                         { return Value{Kind: ValueDefault} }
func exprv(sql string, args ...int) Value { return Value{Kind: ValueExpr, Expr: frag(sql, args...)} }
func set(c ColumnRef, v Value, table int) Assignment {
	return Assignment{Column: c, Value: v, Table: table}
}

func other(text string, lo, hi int, c Class) *Other {
	return &Other{stmt: st(text, lo, hi), Class: c}
}

func txnOther(text string, op TxnOp) *Other {
	return &Other{stmt: st(text, 0, 0), Class: ClassTransaction, Txn: op}
}

func unsup(text string, hi int, reason string) *Other {
	return &Other{stmt: st(text, 0, hi), Class: ClassUnsupported, Reason: reason}
}

// one is the common case: the statement is the whole query.
func one(s Statement) []Statement { return []Statement{s} }

type parseCase struct {
	name string
	sql  string
	want []Statement
}

// parseCases is the table of recognised forms; it also seeds FuzzParse.
var parseCases = []parseCase{
	// INSERT and REPLACE.
	{
		name: "insert one row",
		sql:  "INSERT INTO account (id, name, balance) VALUES (?, ?, ?)",
		want: one(&Insert{stmt: st("INSERT INTO account (id, name, balance) VALUES (?, ?, ?)", 0, 3),
			Table: tn("account"), Columns: []string{"id", "name", "balance"},
			Rows: [][]Value{{argv(0), argv(1), argv(2)}}}),
	},
	{
		name: "insert three rows mixed values",
		sql:  "INSERT INTO t (a, b) VALUES (?, 1), (?, 'x'), (?, NULL)",
		want: one(&Insert{stmt: st("INSERT INTO t (a, b) VALUES (?, 1), (?, 'x'), (?, NULL)", 0, 3),
			Table: tn("t"), Columns: []string{"a", "b"},
			Rows: [][]Value{{argv(0), litv(int64(1))}, {argv(1), litv("x")}, {argv(2), litv(nil)}}}),
	},
	{
		name: "insert without columns",
		sql:  "insert into t values (?, default, now())",
		want: one(&Insert{stmt: st("insert into t values (?, default, now())", 0, 1),
			Table: tn("t"), Rows: [][]Value{{argv(0), defv(), exprv("NOW()")}}}),
	},
	{
		name: "insert empty row",
		sql:  "INSERT INTO t VALUES ()",
		want: one(&Insert{stmt: st("INSERT INTO t VALUES ()", 0, 0), Table: tn("t"), Rows: [][]Value{{}}}),
	},
	{
		name: "insert set",
		sql:  "INSERT INTO t SET a = ?, b = DEFAULT, c = ? + 1",
		want: one(&Insert{stmt: st("INSERT INTO t SET a = ?, b = DEFAULT, c = ? + 1", 0, 2),
			Table: tn("t"), Columns: []string{"a", "b", "c"},
			Rows: [][]Value{{argv(0), defv(), exprv("?+1", 1)}}}),
	},
	{
		name: "insert on duplicate key update",
		sql:  "INSERT INTO t (id, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n) + ?, m = ?, k = k + 1",
		want: one(&Insert{stmt: st("INSERT INTO t (id, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n) + ?, m = ?, k = k + 1", 0, 4),
			Table: tn("t"), Columns: []string{"id", "n"},
			Rows: [][]Value{{argv(0), argv(1)}},
			OnDuplicate: []Assignment{
				{Column: col("n"), Value: exprv("VALUES(`n`)+?", 2), InsertValues: true},
				set(col("m"), argv(3), 0),
				set(col("k"), exprv("`k`+1"), 0),
			}}),
	},
	{
		name: "insert ignore",
		sql:  "INSERT IGNORE INTO t (a) VALUES (?), (?)",
		want: one(&Insert{stmt: st("INSERT IGNORE INTO t (a) VALUES (?), (?)", 0, 2),
			Table: tn("t"), Columns: []string{"a"}, Rows: [][]Value{{argv(0)}, {argv(1)}}, Ignore: true}),
	},
	{
		name: "replace values",
		sql:  "REPLACE INTO t (a, b) VALUES (?, ?)",
		want: one(&Insert{stmt: st("REPLACE INTO t (a, b) VALUES (?, ?)", 0, 2),
			Table: tn("t"), Columns: []string{"a", "b"}, Rows: [][]Value{{argv(0), argv(1)}}, Replace: true}),
	},
	{
		name: "replace set",
		sql:  "REPLACE t SET a = ?",
		want: one(&Insert{stmt: st("REPLACE t SET a = ?", 0, 1),
			Table: tn("t"), Columns: []string{"a"}, Rows: [][]Value{{argv(0)}}, Replace: true}),
	},
	{
		name: "insert schema qualified",
		sql:  "INSERT INTO shop.account (id) VALUES (?)",
		want: one(&Insert{stmt: st("INSERT INTO shop.account (id) VALUES (?)", 0, 1),
			Table: tns("shop", "account"), Columns: []string{"id"}, Rows: [][]Value{{argv(0)}}}),
	},
	{
		name: "insert literals",
		sql: "INSERT INTO t VALUES (9223372036854775807, 9223372036854775808, 18446744073709551615, " +
			"18446744073709551616, -9223372036854775808, -9223372036854775809, -18446744073709551615, " +
			"-1, - 1.5, -1e3, -(-2), +3, 1.50, 0.000001, 1e-3, 0, -0)",
		want: one(&Insert{stmt: st("INSERT INTO t VALUES (9223372036854775807, 9223372036854775808, 18446744073709551615, "+
			"18446744073709551616, -9223372036854775808, -9223372036854775809, -18446744073709551615, "+
			"-1, - 1.5, -1e3, -(-2), +3, 1.50, 0.000001, 1e-3, 0, -0)", 0, 0),
			Table: tn("t"), Rows: [][]Value{{
				litv(int64(9223372036854775807)), litv(uint64(9223372036854775808)), litv(uint64(18446744073709551615)),
				litv(Decimal("18446744073709551616")), litv(int64(-9223372036854775808)), litv(Decimal("-9223372036854775809")),
				litv(Decimal("-18446744073709551615")),
				litv(int64(-1)), litv(Decimal("-1.5")), litv(float64(-1000)), litv(int64(2)), litv(int64(3)),
				litv(Decimal("1.50")), litv(Decimal("0.000001")), litv(0.001), litv(int64(0)), litv(int64(0)),
			}}}),
	},
	{
		name: "insert binary and special literals",
		sql:  "INSERT INTO t VALUES (x'4142', 0x4142, b'101', 0b101, NULL, TRUE, FALSE, _binary'ab', _latin1'x', N'x', DEFAULT, NOW(), -?, ?)",
		want: one(&Insert{stmt: st("INSERT INTO t VALUES (x'4142', 0x4142, b'101', 0b101, NULL, TRUE, FALSE, _binary'ab', _latin1'x', N'x', DEFAULT, NOW(), -?, ?)", 0, 2),
			Table: tn("t"), Rows: [][]Value{{
				litv([]byte("AB")), litv(BitLiteral("AB")), litv(BitLiteral{5}), litv(BitLiteral{5}), litv(nil),
				litv(int64(1)), litv(int64(0)), litv([]byte("ab")), exprv("_LATIN1'x'"), exprv("_UTF8'x'"),
				defv(), exprv("NOW()"), exprv("-?", 0), argv(1),
			}}}),
	},
	{
		name: "insert strings",
		sql:  `INSERT INTO t VALUES ('it''s', 'a\'b', 'back\\slash', "dq", 'tab\tnl\n', 'é😀', '?', '', 'a\%b', 'x' 'y')`,
		want: one(&Insert{stmt: st(`INSERT INTO t VALUES ('it''s', 'a\'b', 'back\\slash', "dq", 'tab\tnl\n', 'é😀', '?', '', 'a\%b', 'x' 'y')`, 0, 0),
			Table: tn("t"), Rows: [][]Value{{
				litv("it's"), litv("a'b"), litv(`back\slash`), litv("dq"), litv("tab\tnl\n"), litv("é😀"),
				litv("?"), litv(""), litv(`a\%b`), litv("xy"),
			}}}),
	},

	// UPDATE.
	{
		name: "update typical",
		sql:  "UPDATE account SET balance = balance - ? WHERE id = ?",
		want: one(&Update{
			stmt:  st("UPDATE account SET balance = balance - ? WHERE id = ?", 0, 2),
			Scope: Scope{Tables: []TableName{tn("account")}, TableRefs: frag("account"), Where: frag("id = ?", 1)},
			Head:  frag("UPDATE account SET balance = balance - ?", 0),
			Set:   []Assignment{set(col("balance"), exprv("`balance`-?", 0), 0)},
		}),
	},
	{
		name: "update where order limit",
		sql:  "UPDATE t SET a = ?, b = 'x' WHERE c > ? ORDER BY id DESC, c LIMIT ?",
		want: one(&Update{
			stmt:  st("UPDATE t SET a = ?, b = 'x' WHERE c > ? ORDER BY id DESC, c LIMIT ?", 0, 3),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("c > ?", 1), OrderBy: frag("id DESC, c"), Limit: frag("?", 2)},
			Head:  frag("UPDATE t SET a = ?, b = 'x'", 0),
			Set:   []Assignment{set(col("a"), argv(0), 0), set(col("b"), litv("x"), 0)},
		}),
	},
	{
		name: "update alias",
		sql:  "UPDATE account AS a SET a.balance = a.balance + ? WHERE a.id = ?",
		want: one(&Update{
			stmt:  st("UPDATE account AS a SET a.balance = a.balance + ? WHERE a.id = ?", 0, 2),
			Scope: Scope{Tables: []TableName{tna("account", "a")}, TableRefs: frag("account AS a"), Where: frag("a.id = ?", 1)},
			Head:  frag("UPDATE account AS a SET a.balance = a.balance + ?", 0),
			Set:   []Assignment{set(qcol("a", "balance"), exprv("`a`.`balance`+?", 0), 0)},
		}),
	},
	{
		name: "update ignore low priority",
		sql:  "UPDATE LOW_PRIORITY IGNORE t SET a = ?",
		want: one(&Update{
			stmt:   st("UPDATE LOW_PRIORITY IGNORE t SET a = ?", 0, 1),
			Scope:  Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t")},
			Head:   frag("UPDATE LOW_PRIORITY IGNORE t SET a = ?", 0),
			Set:    []Assignment{set(col("a"), argv(0), 0)},
			Ignore: true,
		}),
	},
	{
		name: "update join on",
		sql:  "UPDATE orders o JOIN account a ON a.id = o.account_id AND a.region = ? SET o.status = ?, a.balance = a.balance - o.amount WHERE o.id = ?",
		want: one(&Update{
			stmt:  st("UPDATE orders o JOIN account a ON a.id = o.account_id AND a.region = ? SET o.status = ?, a.balance = a.balance - o.amount WHERE o.id = ?", 0, 3),
			Scope: Scope{Tables: []TableName{tna("orders", "o"), tna("account", "a")}, TableRefs: frag("orders o JOIN account a ON a.id = o.account_id AND a.region = ?", 0), Where: frag("o.id = ?", 2)},
			Head:  frag("UPDATE orders o JOIN account a ON a.id = o.account_id AND a.region = ? SET o.status = ?, a.balance = a.balance - o.amount", 0, 1),
			Set: []Assignment{
				set(qcol("o", "status"), argv(1), 0),
				set(qcol("a", "balance"), exprv("`a`.`balance`-`o`.`amount`"), 1),
			},
			Multi: true,
		}),
	},
	{
		name: "update comma join",
		sql:  "UPDATE t1, t2 SET t1.a = t2.a, b = ? WHERE t1.id = t2.id AND t2.k = ?",
		want: one(&Update{
			stmt:  st("UPDATE t1, t2 SET t1.a = t2.a, b = ? WHERE t1.id = t2.id AND t2.k = ?", 0, 2),
			Scope: Scope{Tables: []TableName{tn("t1"), tn("t2")}, TableRefs: frag("t1, t2"), Where: frag("t1.id = t2.id AND t2.k = ?", 1)},
			Head:  frag("UPDATE t1, t2 SET t1.a = t2.a, b = ?", 0),
			Set:   []Assignment{set(qcol("t1", "a"), exprv("`t2`.`a`"), 0), set(col("b"), argv(0), -1)},
			Multi: true,
		}),
	},
	{
		name: "update left join with derived table",
		sql:  "UPDATE t LEFT JOIN (SELECT id, MAX(v) AS m FROM u WHERE k = ? GROUP BY id) d ON d.id = t.id SET t.m = d.m WHERE t.x = ?",
		want: one(&Update{
			stmt:  st("UPDATE t LEFT JOIN (SELECT id, MAX(v) AS m FROM u WHERE k = ? GROUP BY id) d ON d.id = t.id SET t.m = d.m WHERE t.x = ?", 0, 2),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t LEFT JOIN (SELECT id, MAX(v) AS m FROM u WHERE k = ? GROUP BY id) d ON d.id = t.id", 0), Where: frag("t.x = ?", 1)},
			Head:  frag("UPDATE t LEFT JOIN (SELECT id, MAX(v) AS m FROM u WHERE k = ? GROUP BY id) d ON d.id = t.id SET t.m = d.m", 0),
			Set:   []Assignment{set(qcol("t", "m"), exprv("`d`.`m`"), 0)},
			Multi: true,
		}),
	},
	{
		name: "update schema qualified",
		sql:  "UPDATE shop.account SET shop.account.balance = ? WHERE id = ?",
		want: one(&Update{
			stmt:  st("UPDATE shop.account SET shop.account.balance = ? WHERE id = ?", 0, 2),
			Scope: Scope{Tables: []TableName{tns("shop", "account")}, TableRefs: frag("shop.account"), Where: frag("id = ?", 1)},
			Head:  frag("UPDATE shop.account SET shop.account.balance = ?", 0),
			Set:   []Assignment{set(ColumnRef{Schema: "shop", Table: "account", Name: "balance"}, argv(0), 0)},
		}),
	},
	{
		name: "update backquoted odd names",
		sql:  "UPDATE `my db`.`we``ird ?` AS `a b` SET `a b`.`c?` = ? WHERE `id` = '?' AND `é😀` = ?",
		want: one(&Update{
			stmt:  st("UPDATE `my db`.`we``ird ?` AS `a b` SET `a b`.`c?` = ? WHERE `id` = '?' AND `é😀` = ?", 0, 2),
			Scope: Scope{Tables: []TableName{{Schema: "my db", Name: "we`ird ?", Alias: "a b"}}, TableRefs: frag("`my db`.`we``ird ?` AS `a b`"), Where: frag("`id` = '?' AND `é😀` = ?", 1)},
			Head:  frag("UPDATE `my db`.`we``ird ?` AS `a b` SET `a b`.`c?` = ?", 0),
			Set:   []Assignment{set(qcol("a b", "c?"), argv(0), 0)},
		}),
	},
	{
		name: "update placeholder order in expressions",
		sql: "UPDATE t SET a = CASE WHEN b = ? THEN ? ELSE ? END WHERE c BETWEEN ? AND ? " +
			"AND d IN (SELECT e FROM u WHERE f = ?) AND g = CONCAT(?, 'x?', ?) /* ? */ AND h LIKE ? ESCAPE '!' " +
			"AND DATE_ADD(i, INTERVAL ? DAY) > NOW() AND j = TRIM(LEADING ? FROM k) AND POSITION(? IN l) > 0 " +
			"AND m = SUBSTRING(n, ?, ?) AND o IN (?, ?, ?) ORDER BY FIELD(p, ?, ?) LIMIT ?",
		want: one(&Update{
			stmt: st("UPDATE t SET a = CASE WHEN b = ? THEN ? ELSE ? END WHERE c BETWEEN ? AND ? "+
				"AND d IN (SELECT e FROM u WHERE f = ?) AND g = CONCAT(?, 'x?', ?) /* ? */ AND h LIKE ? ESCAPE '!' "+
				"AND DATE_ADD(i, INTERVAL ? DAY) > NOW() AND j = TRIM(LEADING ? FROM k) AND POSITION(? IN l) > 0 "+
				"AND m = SUBSTRING(n, ?, ?) AND o IN (?, ?, ?) ORDER BY FIELD(p, ?, ?) LIMIT ?", 0, 20),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("c BETWEEN ? AND ? "+
				"AND d IN (SELECT e FROM u WHERE f = ?) AND g = CONCAT(?, 'x?', ?) /* ? */ AND h LIKE ? ESCAPE '!' "+
				"AND DATE_ADD(i, INTERVAL ? DAY) > NOW() AND j = TRIM(LEADING ? FROM k) AND POSITION(? IN l) > 0 "+
				"AND m = SUBSTRING(n, ?, ?) AND o IN (?, ?, ?)",
				3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), OrderBy: frag("FIELD(p, ?, ?)", 17, 18), Limit: frag("?", 19)},
			Head: frag("UPDATE t SET a = CASE WHEN b = ? THEN ? ELSE ? END", 0, 1, 2),
			Set:  []Assignment{set(col("a"), exprv("CASE WHEN `b`=? THEN ? ELSE ? END", 0, 1, 2), 0)},
		}),
	},
	{
		name: "update strings restored escaped",
		sql:  `UPDATE t SET a = 'x' WHERE b = 'it''s \\ \' "q"' AND c = "d\"q" AND e = 'tab	nl\n'`,
		want: one(&Update{
			stmt:  st(`UPDATE t SET a = 'x' WHERE b = 'it''s \\ \' "q"' AND c = "d\"q" AND e = 'tab	nl\n'`, 0, 0),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag(`b = 'it''s \\ \' "q"' AND c = "d\"q" AND e = 'tab	nl\n'`)},
			Head:  frag("UPDATE t SET a = 'x'"),
			Set:   []Assignment{set(col("a"), litv("x"), 0)},
		}),
	},

	// DELETE.
	{
		name: "delete where order limit",
		sql:  "DELETE FROM t WHERE a = ? AND b IN (?, ?) ORDER BY id LIMIT 10",
		want: one(&Delete{
			stmt:    st("DELETE FROM t WHERE a = ? AND b IN (?, ?) ORDER BY id LIMIT 10", 0, 3),
			Scope:   Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("a = ? AND b IN (?, ?)", 0, 1, 2), OrderBy: frag("id"), Limit: frag("10")},
			Head:    frag("DELETE FROM t"),
			Targets: []int{0},
		}),
	},
	{
		name: "delete ignore quick",
		sql:  "DELETE LOW_PRIORITY QUICK IGNORE FROM t WHERE id = ?",
		want: one(&Delete{
			stmt:    st("DELETE LOW_PRIORITY QUICK IGNORE FROM t WHERE id = ?", 0, 1),
			Scope:   Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("id = ?", 0)},
			Head:    frag("DELETE LOW_PRIORITY QUICK IGNORE FROM t"),
			Targets: []int{0},
			Ignore:  true,
		}),
	},
	{
		name: "delete multi before from",
		sql:  "DELETE o FROM orders AS o JOIN account a ON a.id = o.account_id WHERE a.closed = ?",
		want: one(&Delete{
			stmt:    st("DELETE o FROM orders AS o JOIN account a ON a.id = o.account_id WHERE a.closed = ?", 0, 1),
			Scope:   Scope{Tables: []TableName{tna("orders", "o"), tna("account", "a")}, TableRefs: frag("orders AS o JOIN account a ON a.id = o.account_id"), Where: frag("a.closed = ?", 0)},
			Head:    frag("DELETE o FROM orders AS o JOIN account a ON a.id = o.account_id"),
			Targets: []int{0},
			Multi:   true,
		}),
	},
	{
		name: "delete multi using",
		sql:  "DELETE FROM t1, t2 USING t1 JOIN t2 ON t1.id = t2.id WHERE t1.k = ?",
		want: one(&Delete{
			stmt:    st("DELETE FROM t1, t2 USING t1 JOIN t2 ON t1.id = t2.id WHERE t1.k = ?", 0, 1),
			Scope:   Scope{Tables: []TableName{tn("t1"), tn("t2")}, TableRefs: frag("t1 JOIN t2 ON t1.id = t2.id"), Where: frag("t1.k = ?", 0)},
			Head:    frag("DELETE FROM t1, t2 USING t1 JOIN t2 ON t1.id = t2.id"),
			Targets: []int{0, 1},
			Multi:   true,
		}),
	},
	{
		name: "delete multi schema qualified targets",
		sql:  "DELETE db2.t2, t1 FROM db1.t1 JOIN db2.t2 ON db1.t1.id = db2.t2.id",
		want: one(&Delete{
			stmt:    st("DELETE db2.t2, t1 FROM db1.t1 JOIN db2.t2 ON db1.t1.id = db2.t2.id", 0, 0),
			Scope:   Scope{Tables: []TableName{tns("db1", "t1"), tns("db2", "t2")}, TableRefs: frag("db1.t1 JOIN db2.t2 ON db1.t1.id = db2.t2.id")},
			Head:    frag("DELETE db2.t2, t1 FROM db1.t1 JOIN db2.t2 ON db1.t1.id = db2.t2.id"),
			Targets: []int{1, 0},
			Multi:   true,
		}),
	},
	{
		name: "delete multi comma list",
		sql:  "DELETE a, b FROM t1 a, t2 b WHERE a.id = b.id AND a.x = ?",
		want: one(&Delete{
			stmt:    st("DELETE a, b FROM t1 a, t2 b WHERE a.id = b.id AND a.x = ?", 0, 1),
			Scope:   Scope{Tables: []TableName{tna("t1", "a"), tna("t2", "b")}, TableRefs: frag("t1 a, t2 b"), Where: frag("a.id = b.id AND a.x = ?", 0)},
			Head:    frag("DELETE a, b FROM t1 a, t2 b"),
			Targets: []int{0, 1},
			Multi:   true,
		}),
	},
	{
		name: "delete unresolvable target",
		sql:  "DELETE x FROM t1 JOIN t2 ON t1.id = t2.id",
		want: one(unsup("DELETE x FROM t1 JOIN t2 ON t1.id = t2.id", 0, "DELETE target `x` names no single table of the statement")),
	},

	// Locking reads.
	{
		name: "select for update",
		sql:  "SELECT id, balance FROM account WHERE id = ? FOR UPDATE",
		want: one(&SelectForUpdate{
			stmt:  st("SELECT id, balance FROM account WHERE id = ? FOR UPDATE", 0, 1),
			Scope: Scope{Tables: []TableName{tn("account")}, TableRefs: frag("account"), Where: frag("id = ?", 0)},
		}),
	},
	{
		name: "select for update join order limit offset",
		sql:  "SELECT o.id FROM orders o JOIN account a ON a.id = o.account_id WHERE a.region = ? ORDER BY o.id LIMIT ? OFFSET ? FOR UPDATE",
		want: one(&SelectForUpdate{
			stmt:  st("SELECT o.id FROM orders o JOIN account a ON a.id = o.account_id WHERE a.region = ? ORDER BY o.id LIMIT ? OFFSET ? FOR UPDATE", 0, 3),
			Scope: Scope{Tables: []TableName{tna("orders", "o"), tna("account", "a")}, TableRefs: frag("orders o JOIN account a ON a.id = o.account_id"), Where: frag("a.region = ?", 0), OrderBy: frag("o.id"), Limit: frag("? OFFSET ?", 1, 2)},
		}),
	},
	{
		name: "lock in share mode",
		sql:  "SELECT * FROM t WHERE k = ? LOCK IN SHARE MODE",
		want: one(&SelectForUpdate{
			stmt:   st("SELECT * FROM t WHERE k = ? LOCK IN SHARE MODE", 0, 1),
			Scope:  Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("k = ?", 0)},
			Shared: true,
		}),
	},
	{
		name: "for share nowait",
		sql:  "SELECT * FROM t FOR SHARE NOWAIT",
		want: one(&SelectForUpdate{
			stmt:   st("SELECT * FROM t FOR SHARE NOWAIT", 0, 0),
			Scope:  Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t")},
			Shared: true,
			NoWait: true,
		}),
	},
	{
		name: "for update skip locked",
		sql:  "SELECT * FROM t FOR UPDATE SKIP LOCKED",
		want: one(&SelectForUpdate{
			stmt:       st("SELECT * FROM t FOR UPDATE SKIP LOCKED", 0, 0),
			Scope:      Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t")},
			SkipLocked: true,
		}),
	},
	{
		name: "for update wait",
		sql:  "SELECT * FROM t FOR UPDATE WAIT 5",
		want: one(&SelectForUpdate{
			stmt:        st("SELECT * FROM t FOR UPDATE WAIT 5", 0, 0),
			Scope:       Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t")},
			WaitSeconds: 5,
		}),
	},
	{
		name: "for update nowait",
		sql:  "SELECT * FROM t FOR UPDATE NOWAIT",
		want: one(&SelectForUpdate{
			stmt:   st("SELECT * FROM t FOR UPDATE NOWAIT", 0, 0),
			Scope:  Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t")},
			NoWait: true,
		}),
	},
	{
		name: "for update without table",
		sql:  "SELECT 1 FOR UPDATE",
		want: one(other("SELECT 1 FOR UPDATE", 0, 0, ClassRead)),
	},

	// Comments, hints and several statements.
	{
		name: "hints and comments",
		sql:  "/* lead ? */ UPDATE /*+ NO_INDEX(t) */ t SET a = ? -- trailing ?\nWHERE id = ? # hash ?\n",
		want: one(&Update{
			stmt:  st("/* lead ? */ UPDATE /*+ NO_INDEX(t) */ t SET a = ? -- trailing ?\nWHERE id = ? # hash ?", 0, 2),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("id = ?", 1)},
			Head:  frag("UPDATE /*+ NO_INDEX(t) */ t SET a = ?", 0),
			Set:   []Assignment{set(col("a"), argv(0), 0)},
		}),
	},
	{
		name: "executable comment",
		sql:  "UPDATE t SET a = ? /*!50000 , b = ? */ WHERE id = ?",
		want: one(&Update{
			stmt:  st("UPDATE t SET a = ? /*!50000 , b = ? */ WHERE id = ?", 0, 3),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("id = ?", 2)},
			Head:  frag("UPDATE t SET a = ? /*!50000 , b = ? */", 0, 1),
			Set:   []Assignment{set(col("a"), argv(0), 0), set(col("b"), argv(1), 0)},
		}),
	},
	{
		name: "mariadb executable comment",
		sql:  "UPDATE t SET a = 1 /*M! , b = ? */ WHERE id = ?",
		want: one(unsup("UPDATE t SET a = 1 /*M! , b = ? */ WHERE id = ?", 2,
			"a /*M! or /*T! executable comment (its content is seen differently by the server and the parser)")),
	},
	{
		name: "several statements",
		sql:  "UPDATE account SET balance = balance - ? WHERE id = ?; INSERT INTO ledger (account_id, amount) VALUES (?, ?);\n DELETE FROM hold WHERE id = ?;",
		want: []Statement{
			&Update{
				stmt:  st("UPDATE account SET balance = balance - ? WHERE id = ?", 0, 2),
				Scope: Scope{Tables: []TableName{tn("account")}, TableRefs: frag("account"), Where: frag("id = ?", 1)},
				Head:  frag("UPDATE account SET balance = balance - ?", 0),
				Set:   []Assignment{set(col("balance"), exprv("`balance`-?", 0), 0)},
			},
			&Insert{stmt: st("INSERT INTO ledger (account_id, amount) VALUES (?, ?)", 2, 4),
				Table: tn("ledger"), Columns: []string{"account_id", "amount"}, Rows: [][]Value{{argv(2), argv(3)}}},
			&Delete{
				stmt:    st("DELETE FROM hold WHERE id = ?", 4, 5),
				Scope:   Scope{Tables: []TableName{tn("hold")}, TableRefs: frag("hold"), Where: frag("id = ?", 4)},
				Head:    frag("DELETE FROM hold"),
				Targets: []int{0},
			},
		},
	},
	{
		name: "several statements mixed",
		sql:  "SET @x = ?; SELECT ? /* ? */ ;; UPDATE t SET a = ? WHERE b = '?' AND c = ?",
		want: []Statement{
			other("SET @x = ?", 0, 1, ClassSession),
			other("SELECT ? /* ? */", 1, 2, ClassRead),
			&Update{
				stmt:  st("UPDATE t SET a = ? WHERE b = '?' AND c = ?", 2, 4),
				Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag("t"), Where: frag("b = '?' AND c = ?", 3)},
				Head:  frag("UPDATE t SET a = ?", 2),
				Set:   []Assignment{set(col("a"), argv(2), 0)},
			},
		},
	},
	{name: "empty", sql: "", want: nil},
	{name: "comment only", sql: "-- nothing ?\n/* ? */", want: nil},
	{name: "semicolons only", sql: " ; ; ", want: nil},

	// Reads, session, transaction control, DDL.
	{name: "select", sql: "SELECT * FROM t WHERE id = ?", want: one(other("SELECT * FROM t WHERE id = ?", 0, 1, ClassRead))},
	{name: "union", sql: "SELECT a FROM t UNION ALL SELECT a FROM u", want: one(other("SELECT a FROM t UNION ALL SELECT a FROM u", 0, 0, ClassRead))},
	{name: "with select", sql: "WITH c AS (SELECT 1 AS x) SELECT * FROM c", want: one(other("WITH c AS (SELECT 1 AS x) SELECT * FROM c", 0, 0, ClassRead))},
	{name: "table", sql: "TABLE t", want: one(other("TABLE t", 0, 0, ClassRead))},
	{name: "show", sql: "SHOW TABLES", want: one(other("SHOW TABLES", 0, 0, ClassRead))},
	{name: "describe", sql: "DESCRIBE t", want: one(other("DESCRIBE t", 0, 0, ClassRead))},
	{name: "explain", sql: "EXPLAIN UPDATE t SET a = 1", want: one(other("EXPLAIN UPDATE t SET a = 1", 0, 0, ClassRead))},
	{name: "set names", sql: "SET NAMES utf8mb4", want: one(other("SET NAMES utf8mb4", 0, 0, ClassSession))},
	{name: "set user var", sql: "SET @a = 1, @b = ?", want: one(other("SET @a = 1, @b = ?", 0, 1, ClassSession))},
	{name: "set global autocommit", sql: "SET GLOBAL autocommit = 1", want: one(other("SET GLOBAL autocommit = 1", 0, 0, ClassSession))},
	{name: "set isolation", sql: "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", want: one(other("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", 0, 0, ClassSession))},
	{name: "use", sql: "USE shop", want: one(&Other{stmt: st("USE shop", 0, 0), Class: ClassSession, Database: "shop"})},
	{name: "use quoted", sql: "use `my db`", want: one(&Other{stmt: st("use `my db`", 0, 0), Class: ClassSession, Database: "my db"})},
	{name: "prepare", sql: "PREPARE s FROM 'SELECT ?'", want: one(other("PREPARE s FROM 'SELECT ?'", 0, 0, ClassSession))},
	{name: "begin", sql: "BEGIN", want: one(txnOther("BEGIN", TxnBegin))},
	{name: "start transaction", sql: "START TRANSACTION", want: one(txnOther("START TRANSACTION", TxnBegin))},
	{name: "commit", sql: "COMMIT", want: one(txnOther("COMMIT", TxnCommit))},
	{name: "rollback", sql: "ROLLBACK", want: one(txnOther("ROLLBACK", TxnRollback))},
	{name: "savepoint", sql: "SAVEPOINT s1", want: one(txnOther("SAVEPOINT s1", TxnSavepoint))},
	{name: "rollback to savepoint", sql: "ROLLBACK TO SAVEPOINT s1", want: one(txnOther("ROLLBACK TO SAVEPOINT s1", TxnRollbackToSavepoint))},
	{name: "release savepoint", sql: "RELEASE SAVEPOINT s1", want: one(txnOther("RELEASE SAVEPOINT s1", TxnReleaseSavepoint))},
	{name: "set autocommit", sql: "SET autocommit = 0", want: one(txnOther("SET autocommit = 0", TxnSetAutocommit))},
	{name: "set session autocommit", sql: "SET @@session.autocommit = 1", want: one(txnOther("SET @@session.autocommit = 1", TxnSetAutocommit))},
	{name: "create table", sql: "CREATE TABLE t (id BIGINT PRIMARY KEY)", want: one(other("CREATE TABLE t (id BIGINT PRIMARY KEY)", 0, 0, ClassDDL))},
	{name: "alter table", sql: "ALTER TABLE t ADD COLUMN c INT", want: one(other("ALTER TABLE t ADD COLUMN c INT", 0, 0, ClassDDL))},
	{name: "drop table", sql: "DROP TABLE IF EXISTS t", want: one(other("DROP TABLE IF EXISTS t", 0, 0, ClassDDL))},
	{name: "truncate", sql: "TRUNCATE TABLE t", want: one(other("TRUNCATE TABLE t", 0, 0, ClassDDL))},
	{name: "rename", sql: "RENAME TABLE a TO b", want: one(other("RENAME TABLE a TO b", 0, 0, ClassDDL))},
	{name: "create index", sql: "CREATE INDEX i ON t (a)", want: one(other("CREATE INDEX i ON t (a)", 0, 0, ClassDDL))},
	{name: "create view", sql: "CREATE VIEW v AS SELECT 1", want: one(other("CREATE VIEW v AS SELECT 1", 0, 0, ClassDDL))},
	{name: "drop database", sql: "DROP DATABASE shop", want: one(other("DROP DATABASE shop", 0, 0, ClassDDL))},
	{name: "grant", sql: "GRANT SELECT ON shop.* TO 'u'@'%'", want: one(other("GRANT SELECT ON shop.* TO 'u'@'%'", 0, 0, ClassDDL))},
	{name: "create user", sql: "CREATE USER 'u'@'%'", want: one(other("CREATE USER 'u'@'%'", 0, 0, ClassDDL))},
	{name: "analyze table", sql: "ANALYZE TABLE t", want: one(other("ANALYZE TABLE t", 0, 0, ClassDDL))},
	{name: "flush", sql: "FLUSH TABLES", want: one(other("FLUSH TABLES", 0, 0, ClassDDL))},

	// Writes AT mode does not handle.
	{name: "insert select", sql: "INSERT INTO t SELECT * FROM u WHERE a = ?", want: one(unsup("INSERT INTO t SELECT * FROM u WHERE a = ?", 1, "INSERT ... SELECT"))},
	{name: "replace select", sql: "REPLACE INTO t (a) SELECT a FROM u", want: one(unsup("REPLACE INTO t (a) SELECT a FROM u", 0, "REPLACE ... SELECT"))},
	{name: "insert table", sql: "INSERT INTO t TABLE u", want: one(unsup("INSERT INTO t TABLE u", 0, "INSERT ... TABLE"))},
	{name: "update with cte", sql: "WITH c AS (SELECT 1 AS id) UPDATE t JOIN c ON c.id = t.id SET t.a = ?", want: one(unsup("WITH c AS (SELECT 1 AS id) UPDATE t JOIN c ON c.id = t.id SET t.a = ?", 1, "UPDATE with a WITH clause"))},
	{name: "delete with cte", sql: "WITH c AS (SELECT 1 AS id) DELETE FROM t WHERE id IN (SELECT id FROM c)", want: one(unsup("WITH c AS (SELECT 1 AS id) DELETE FROM t WHERE id IN (SELECT id FROM c)", 0, "DELETE with a WITH clause"))},
	{name: "select into outfile", sql: "SELECT * FROM t INTO OUTFILE '/tmp/x'", want: one(unsup("SELECT * FROM t INTO OUTFILE '/tmp/x'", 0, "SELECT ... INTO"))},
	{name: "locking subquery", sql: "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)", want: one(unsup("SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)", 0, "locking read in a subquery or UNION"))},
	{name: "locking union", sql: "SELECT a FROM t UNION (SELECT a FROM u FOR UPDATE)", want: one(unsup("SELECT a FROM t UNION (SELECT a FROM u FOR UPDATE)", 0, "locking read in a subquery or UNION"))},
	{name: "for update of", sql: "SELECT * FROM t FOR UPDATE OF t", want: one(unsup("SELECT * FROM t FOR UPDATE OF t", 0, "FOR UPDATE OF a table list"))},
	{name: "load data", sql: "LOAD DATA INFILE '/tmp/x' INTO TABLE t", want: one(unsup("LOAD DATA INFILE '/tmp/x' INTO TABLE t", 0, "LOAD DATA"))},
	{name: "call", sql: "CALL p(?, ?)", want: one(unsup("CALL p(?, ?)", 2, "CALL of a stored procedure"))},
	{name: "do", sql: "DO SLEEP(?)", want: one(unsup("DO SLEEP(?)", 1, "DO"))},
	{name: "execute", sql: "EXECUTE s USING @a", want: one(unsup("EXECUTE s USING @a", 0, "EXECUTE of a prepared statement"))},
	{name: "lock tables", sql: "LOCK TABLES t WRITE", want: one(unsup("LOCK TABLES t WRITE", 0, "LOCK TABLES"))},
	{name: "unlock tables", sql: "UNLOCK TABLES", want: one(unsup("UNLOCK TABLES", 0, "UNLOCK TABLES"))},
	{name: "explain analyze write", sql: "EXPLAIN ANALYZE DELETE FROM t", want: one(unsup("EXPLAIN ANALYZE DELETE FROM t", 0, "EXPLAIN ANALYZE of a statement that may write or lock"))},
	{name: "tidb only statement", sql: "BATCH LIMIT 10 DELETE FROM t", want: one(unsup("BATCH LIMIT 10 DELETE FROM t", 0, "statement not recognised (*ast.NonTransactionalDMLStmt)"))},
}

func TestParse(t *testing.T) {
	p := New(Config{CacheSize: -1})
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.sql)
			noErr(t, err)
			eq(t, tc.want, got)
			if msg := checkInvariants(p, tc.sql, got); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := "UPDATE t SET a = 1 WHERE " + strings.Repeat("b = 1 AND ", 100) + "c = ="
	for _, q := range []string{
		"UPDATE",
		"SELEC 1",
		"UPDATE t SET a = 'unterminated",
		"INSERT INTO t VALUES (1",
		"UPDATE t SET a = ?; DELETE",
		"SELECT 1 /* unterminated comment",
		"@@\x00?",
		"UPDATE t SET a = 1\x00 WHERE id = 1",
		long,
	} {
		t.Run(q[:min(len(q), 30)], func(t *testing.T) {
			got, err := Parse(q)
			is(t, got == nil, "got %v", got)
			pe := errAs[*ParseError](t, err)
			is(t, pe.Unwrap() != nil, "no wrapped error")
			is(t, !errors.Is(err, ErrParserPanic), "not a panic: %v", err)
			is(t, len(pe.SQL) <= maxErrorSQL+3, "SQL not truncated: %d bytes", len(pe.SQL))
			is(t, strings.HasPrefix(q, strings.TrimSuffix(pe.SQL, "...")), "SQL %q", pe.SQL)
			is(t, strings.HasPrefix(err.Error(), "atcc/sqlparse: cannot parse"), "message %q", err)
		})
	}
}

// The parser panics on a numeric literal of more than 81 digits; Parse
// must turn that into an error and keep working.
func TestParsePanicIsContained(t *testing.T) {
	for _, q := range []string{
		"SELECT " + strings.Repeat("9", 90),
		"UPDATE t SET a = 0." + strings.Repeat("1", 90) + " WHERE id = ?",
	} {
		got, err := Parse(q)
		is(t, got == nil, "got %v", got)
		errAs[*ParseError](t, err)
		is(t, errors.Is(err, ErrParserPanic), "%v is not ErrParserPanic", err)
		is(t, strings.Contains(err.Error(), "parser panicked"), "message %q", err)
	}
	got, err := Parse("SELECT 1")
	noErr(t, err)
	is(t, len(got) == 1, "got %v", got)
}

func TestTrimStatement(t *testing.T) {
	for in, want := range map[string]string{
		"  SELECT 1 ;\n":                "SELECT 1",
		"; ;\n UPDATE t":                "UPDATE t",
		"/* a */ ; /* b */ UPDATE t;":   "/* b */ UPDATE t",
		"-- x ;\n; # y ;\nSELECT 1":     "# y ;\nSELECT 1",
		"/* lead */ SELECT 1 -- tail ;": "/* lead */ SELECT 1 -- tail",
		"; /*!50000 SELECT 1 */":        "/*!50000 SELECT 1 */",
		"/* unterminated ; SELECT":      "/* unterminated ; SELECT",
		"--x;SELECT 1":                  "--x;SELECT 1",
	} {
		eq(t, want, trimStatement(in), in)
	}
}

func TestTruncateSQL(t *testing.T) {
	eq(t, "abc", truncateSQL("abc"))
	s := strings.Repeat("a", maxErrorSQL-1) + "é" + "tail"
	got := truncateSQL(s)
	eq(t, strings.Repeat("a", maxErrorSQL-1)+"...", got) // not cut inside é
}

func TestSQLMode(t *testing.T) {
	t.Run("ansi quotes and no backslash escapes", func(t *testing.T) {
		p := New(Config{SQLMode: "ANSI_QUOTES, no_backslash_escapes"})
		q := `UPDATE "t" SET "a" = ? WHERE b = 'x\' AND c = "d?" AND e = '?'`
		got, err := p.Parse(q)
		noErr(t, err)
		eq(t, one(&Update{
			stmt:  st(q, 0, 1),
			Scope: Scope{Tables: []TableName{tn("t")}, TableRefs: frag(`"t"`), Where: frag(`b = 'x\' AND c = "d?" AND e = '?'`)},
			Head:  frag(`UPDATE "t" SET "a" = ?`, 0),
			Set:   []Assignment{set(col("a"), argv(0), 0)},
		}), got)
		eq(t, "", checkInvariants(p, q, got))
	})
	t.Run("pipes as concat", func(t *testing.T) {
		q := "UPDATE t SET a = a || ? WHERE b = ?"
		got, err := New(Config{SQLMode: "PIPES_AS_CONCAT"}).Parse(q)
		noErr(t, err)
		eq(t, exprv("CONCAT(`a`, ?)", 0), got[0].(*Update).Set[0].Value)
		got, err = Parse(q)
		noErr(t, err)
		eq(t, exprv("`a` OR ?", 0), got[0].(*Update).Set[0].Value)
	})
	t.Run("ansi combination", func(t *testing.T) {
		p := New(Config{SQLMode: "ANSI"})
		is(t, p.mode.ansiQuotes && !p.mode.noBackslash, "mode %+v", p.mode)
	})
	t.Run("empty string is null", func(t *testing.T) {
		got, err := New(Config{SQLMode: "STRICT_TRANS_TABLES,EMPTY_STRING_IS_NULL"}).Parse("INSERT INTO t VALUES ('', 'a')")
		noErr(t, err)
		eq(t, []Value{litv(nil), litv("a")}, got[0].(*Insert).Rows[0])
	})
	t.Run("unknown modes are ignored", func(t *testing.T) {
		p := New(Config{SQLMode: "SIMULTANEOUS_ASSIGNMENT,TIME_ROUND_FRACTIONAL"})
		eq(t, defaultMode, p.mode)
	})
}

func TestScopeArgs(t *testing.T) {
	got, err := Parse("UPDATE t1 JOIN t2 ON t2.k = ? SET t1.a = ? WHERE t1.b = ? ORDER BY t1.c LIMIT ?")
	noErr(t, err)
	eq(t, []int{0, 2, 3}, got[0].(*Update).Args())

	got, err = Parse("DELETE FROM t WHERE a = ? ORDER BY FIELD(b, ?) LIMIT ?")
	noErr(t, err)
	eq(t, []int{0, 1, 2}, got[0].(*Delete).Args())

	got, err = Parse("SELECT * FROM t WHERE a = ? LIMIT ? OFFSET ? FOR UPDATE")
	noErr(t, err)
	eq(t, []int{0, 1, 2}, got[0].(*SelectForUpdate).Args())

	got, err = Parse("DELETE FROM t")
	noErr(t, err)
	is(t, got[0].(*Delete).Args() == nil, "args")
}

func TestScopeSelect(t *testing.T) {
	got, err := Parse("DELETE a FROM t AS a JOIN u ON u.k = a.k AND u.x = ? WHERE a.y = ?")
	noErr(t, err)
	d := got[0].(*Delete)
	eq(t, "SELECT `a`.`id` FROM t AS a JOIN u ON u.k = a.k AND u.x = ? WHERE a.y = ?", d.Select("`a`.`id`"))
	eq(t, []int{0, 1}, d.Args())

	got, err = Parse("UPDATE t SET a = ? ORDER BY b LIMIT 5")
	noErr(t, err)
	eq(t, "SELECT * FROM t ORDER BY b LIMIT 5", got[0].(*Update).Select("*"))

	got, err = Parse("SELECT * FROM t LIMIT ? OFFSET ? LOCK IN SHARE MODE")
	noErr(t, err)
	s := got[0].(*SelectForUpdate)
	eq(t, "SELECT `id` FROM t LIMIT ? OFFSET ?", s.Select("`id`"))
	eq(t, []int{0, 1}, s.Args())
}

func TestTableRef(t *testing.T) {
	eq(t, "a", tna("t", "a").Ref())
	eq(t, "t", tns("db", "t").Ref())
}

func TestResolveTable(t *testing.T) {
	tables := []TableName{tna("t1", "a"), tns("db", "t2"), tn("T3")}
	for _, tc := range []struct {
		schema, name string
		want         int
	}{
		{"", "a", 0},
		{"", "t1", -1}, // aliased: only the alias refers to it
		{"", "t2", 1},
		{"db", "t2", 1},
		{"other", "t2", -1},
		{"db", "a", -1}, // an alias takes no schema
		{"", "T3", 2},
		{"", "t3", 2}, // case-insensitive fallback
		{"", "", -1},
		{"", "nope", -1},
	} {
		eq(t, tc.want, resolveTable(tables, tc.schema, tc.name), tc.schema+"."+tc.name)
	}
	eq(t, 0, resolveTable([]TableName{tn("t")}, "", ""))
	eq(t, -1, resolveTable([]TableName{tn("t"), tn("t")}, "", "t"), "ambiguous")
	eq(t, -1, resolveTable([]TableName{tn("T"), tn("t")}, "", "x"))
}

func TestStringers(t *testing.T) {
	for want, s := range map[string]interface{ String() string }{
		"arg": ValueArg, "literal": ValueLiteral, "default": ValueDefault, "expr": ValueExpr, "invalid": ValueKind(0),
		"read": ClassRead, "session": ClassSession, "transaction": ClassTransaction, "ddl": ClassDDL,
		"unsupported": ClassUnsupported, "": nil,
	} {
		if s == nil {
			continue
		}
		eq(t, want, s.String())
	}
	eq(t, "invalid", Class(0).String())
	for op, want := range map[TxnOp]string{
		TxnBegin: "begin", TxnCommit: "commit", TxnRollback: "rollback", TxnSavepoint: "savepoint",
		TxnRollbackToSavepoint: "rollback to savepoint", TxnReleaseSavepoint: "release savepoint",
		TxnSetAutocommit: "set autocommit", 0: "none",
	} {
		eq(t, want, op.String())
	}
}

// The invariant checks used by TestParse and FuzzParse must catch a wrong
// binding, not just pass.
func TestInvariantsDetectTampering(t *testing.T) {
	p := New(Config{CacheSize: -1})
	for name, tamper := range map[string]func(s Statement){
		"swapped limit args": func(s Statement) {
			l := &s.(*SelectForUpdate).Limit
			l.Args = []int{l.Args[1], l.Args[0]}
		},
		"shifted where arg": func(s Statement) { s.(*SelectForUpdate).Where.Args[0]++ },
		"changed where text": func(s Statement) {
			w := &s.(*SelectForUpdate).Where
			w.SQL = strings.Replace(w.SQL, "=", "<", 1)
		},
		"arg range": func(s Statement) { s.base().hi++ },
	} {
		q := "SELECT * FROM t WHERE a = ? AND b = ? LIMIT ? OFFSET ? FOR UPDATE"
		got, err := Parse(q)
		noErr(t, err)
		eq(t, "", checkInvariants(p, q, got), name+" before tampering")
		tamper(got[0])
		is(t, checkInvariants(p, q, got) != "", "%s: not detected", name)
	}
}

// Hex literals are told apart by their text, also in a later statement of
// a query (MariaDB reads X'13' as a string, 0x13 as the number 19 where a
// number is wanted: the text once decoded both to the same bytes).
func TestHexLiteralForms(t *testing.T) {
	stmts, err := Parse("DELETE FROM t WHERE a = X'41'; INSERT INTO t VALUES (x'13', 0x13, B'1', 0b1) ; INSERT INTO t VALUES (0x13)")
	noErr(t, err)
	if len(stmts) != 3 {
		t.Fatalf("%d statements", len(stmts))
	}
	eq(t, [][]Value{{litv([]byte{0x13}), litv(BitLiteral{0x13}), litv(BitLiteral{1}), litv(BitLiteral{1})}}, stmts[1].(*Insert).Rows)
	eq(t, [][]Value{{litv(BitLiteral{0x13})}}, stmts[2].(*Insert).Rows)
}
