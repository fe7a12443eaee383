// Package atprop is the randomized property test of AT mode's rollback
// fidelity (issue 11): a seeded generator of schemas of every MariaDB column
// type and key shape (with VIRTUAL and STORED generated columns), of global
// transactions made of random INSERT / INSERT
// IGNORE / REPLACE / ON DUPLICATE KEY UPDATE / UPDATE / DELETE (with ORDER
// BY, LIMIT, joins, RETURNING, USE, several in one Exec, prepared or not,
// in local transactions or autocommit; one seed in four with an empty,
// non-strict sql_mode) on two databases, a runner that executes them through datasource connectors
// and, in lockstep, as one plain local transaction on mirror databases, the
// property checks, and a shrinker that reduces a failing case to a minimal
// reproduction printed as SQL with its seed.
//
// The properties checked after every global transaction:
//
//   - rollback: every table is byte-identical to its state before;
//   - auto-increment counters equal the mirror's (neither side rolls them
//     back), unless the sides ran different statements;
//   - commit: every table equals its mirror, where the same statements ran as
//     plain local transactions (and each statement succeeded or failed as
//     there, with the same rows affected, last insert id and RETURNING rows);
//   - a statement refused with datasource.ErrUnsupported changed nothing
//     (its mirror statement is skipped, so any change shows as a difference);
//     statements the README lists as refused are refused;
//   - once settled: no undo_log row of the transaction with log_status 0, none
//     at all after a commit, no branch and no row lock left at the
//     coordinator (an embedded tc.Server with the MySQL store, whose tables
//     the runner reads).
//
// Nothing here is used outside tests. The test is prop_test.go; `make
// proptest` runs the long version (see there for the environment variables).
package atprop
