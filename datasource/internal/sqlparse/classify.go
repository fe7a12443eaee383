package sqlparse

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// classify returns the Other for a statement that is not INSERT, UPDATE,
// DELETE or SELECT. Anything not listed is ClassUnsupported: a statement
// this package does not know is treated as one that may write.
func classify(n ast.StmtNode) Statement {
	switch n := n.(type) {
	case *ast.SetOprStmt:
		if reason := readOnlyProblem(n); reason != "" {
			return unsupportedOther(reason)
		}
		return &Other{Class: ClassRead}
	case *ast.ShowStmt, *ast.ExplainForStmt:
		return &Other{Class: ClassRead}
	case *ast.ExplainStmt:
		if n.Analyze {
			// EXPLAIN ANALYZE runs the statement.
			if s, ok := n.Stmt.(*ast.SelectStmt); ok && isPlainRead(s) {
				return &Other{Class: ClassRead}
			}
			if s, ok := n.Stmt.(*ast.SetOprStmt); ok && readOnlyProblem(s) == "" {
				return &Other{Class: ClassRead}
			}
			return unsupportedOther("EXPLAIN ANALYZE of a statement that may write or lock")
		}
		return &Other{Class: ClassRead}

	case *ast.BeginStmt:
		return txn(TxnBegin)
	case *ast.CommitStmt:
		return txn(TxnCommit)
	case *ast.RollbackStmt:
		if n.SavepointName != "" {
			return txn(TxnRollbackToSavepoint)
		}
		return txn(TxnRollback)
	case *ast.SavepointStmt:
		return txn(TxnSavepoint)
	case *ast.ReleaseSavepointStmt:
		return txn(TxnReleaseSavepoint)
	case *ast.SetStmt:
		for _, v := range n.Variables {
			if v.IsSystem && !v.IsGlobal && !v.IsInstance && strings.EqualFold(v.Name, "autocommit") {
				return txn(TxnSetAutocommit)
			}
		}
		return &Other{Class: ClassSession}

	case *ast.UseStmt:
		return &Other{Class: ClassSession, Database: n.DBName}
	case *ast.SetRoleStmt, *ast.PrepareStmt,
		*ast.DeallocateStmt, *ast.KillStmt:
		return &Other{Class: ClassSession}

	case *ast.LockTablesStmt:
		return unsupportedOther("LOCK TABLES")
	case *ast.UnlockTablesStmt:
		return unsupportedOther("UNLOCK TABLES")
	case *ast.LoadDataStmt:
		return unsupportedOther("LOAD DATA")
	case *ast.CallStmt:
		return unsupportedOther("CALL of a stored procedure")
	case *ast.DoStmt:
		return unsupportedOther("DO")
	case *ast.ExecuteStmt:
		return unsupportedOther("EXECUTE of a prepared statement")

	case ast.DDLNode,
		*ast.GrantStmt, *ast.GrantRoleStmt, *ast.GrantProxyStmt,
		*ast.RevokeStmt, *ast.RevokeRoleStmt,
		*ast.CreateUserStmt, *ast.AlterUserStmt, *ast.DropUserStmt, *ast.RenameUserStmt,
		*ast.SetPwdStmt, *ast.SetDefaultRoleStmt,
		*ast.FlushStmt, *ast.AnalyzeTableStmt,
		*ast.ProcedureInfo, *ast.DropProcedureStmt:
		return &Other{Class: ClassDDL}
	}
	return unsupportedOther(fmt.Sprintf("statement not recognised (%T)", n))
}

func txn(op TxnOp) *Other { return &Other{Class: ClassTransaction, Txn: op} }

func unsupportedOther(reason string) *Other {
	return &Other{Class: ClassUnsupported, Reason: reason}
}

// isPlainRead reports whether s neither locks nor writes.
func isPlainRead(s *ast.SelectStmt) bool {
	return (s.LockInfo == nil || s.LockInfo.LockType == ast.SelectLockNone) && readOnlyProblem(s) == ""
}

// readCheck walks a query looking for what makes it more than a read of
// its outer block: SELECT ... INTO, and locking clauses below the root.
type readCheck struct {
	root   ast.Node
	reason string
}

func (v *readCheck) Enter(n ast.Node) (ast.Node, bool) {
	if s, ok := n.(*ast.SelectStmt); ok {
		switch {
		case s.SelectIntoOpt != nil:
			v.reason = "SELECT ... INTO"
		case n != v.root && s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone:
			v.reason = "locking read in a subquery or UNION"
		}
	}
	return n, v.reason != ""
}

func (v *readCheck) Leave(n ast.Node) (ast.Node, bool) { return n, v.reason == "" }

// readOnlyProblem returns why the query n is not a plain read (its own
// locking clause aside), or "".
func readOnlyProblem(n ast.Node) string {
	v := &readCheck{root: n}
	n.Accept(v)
	return v.reason
}
