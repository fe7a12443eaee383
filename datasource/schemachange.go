package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
	"github.com/atcc-go/atcc/internal/mysqlerr"
)

// Table metadata follows the live schema (see Config.SchemaRefreshInterval).
// Besides the periodic reload, a change is noticed where it would make an
// image wrong, before anything is written: a statement naming a column the
// metadata lacks (plan), an image query failing with error 1054 (a column
// gone), or a DELETE's image, read as "q.*", holding other columns than the
// metadata (a column added, dropped or renamed). The statement's tables
// are then reloaded, the plans dropped, and the statement planned and run
// again, once.

// errStaleSchema reports an image whose columns differ from the table
// metadata the statement was planned with.
var errStaleSchema = errors.New("atcc/datasource: table changed since its metadata was read")

// staleSchema reports whether err, from a before image, may mean the
// metadata is out of date.
func staleSchema(err error) bool {
	return errors.Is(err, errStaleSchema) || mysqlerr.Is(err, mysqlerr.BadField)
}

// sameColumns reports whether an image's columns are the planned ones.
func sameColumns(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.EqualFold(got[i], want[i]) {
			return false
		}
	}
	return true
}

// forgetTables drops the cached metadata of the tables s names (those
// without a database being db's) and every plan.
func (r *resource) forgetTables(db string, s sqlparse.Statement) {
	var names []sqlparse.TableName
	switch s := s.(type) {
	case *sqlparse.Update:
		names = s.Tables
	case *sqlparse.Delete:
		names = s.Tables
	case *sqlparse.SelectForUpdate:
		names = s.Tables
	case *sqlparse.Insert:
		names = []sqlparse.TableName{s.Table}
	}
	for _, tn := range names {
		schemaName := tn.Schema
		if schemaName == "" {
			schemaName = db
		}
		r.tables.Invalidate(schemaName, tn.Name)
	}
	r.plans.Clear()
}

// execWrite runs an UPDATE or DELETE; when its before image shows the
// table changed since it was planned, it reloads the metadata and runs
// the statement once more with a fresh plan (nothing was written yet).
func (e *executor) execWrite(ctx context.Context, br *branch, sp *stmtPlan, all []driver.NamedValue) (driver.Result, error) {
	exec := e.execUpdate
	if sp.kind == kindDelete {
		exec = e.execDelete
	}
	res, err := exec(ctx, br, sp, all)
	if err == nil || !staleSchema(err) || br.failed != nil {
		return res, err
	}
	env, eerr := e.res.sessionEnv(ctx)
	if eerr != nil {
		return nil, errors.Join(err, eerr)
	}
	e.res.forgetTables(sp.db, sp.stmt)
	fresh := &stmtPlan{db: sp.db, stmt: sp.stmt}
	if perr := e.res.planStatement(ctx, env, sp.db, fresh); perr != nil {
		return nil, perr
	}
	if fresh.kind != sp.kind {
		return nil, fmt.Errorf("atcc/datasource: statement planned as %d, then %d", sp.kind, fresh.kind)
	}
	return exec(ctx, br, fresh, all)
}
