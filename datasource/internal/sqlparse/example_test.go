package sqlparse_test

import (
	"fmt"

	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
)

// An UPDATE gives what the AT executor needs for its before image.
func ExampleParse() {
	stmts, err := sqlparse.Parse("UPDATE account SET balance = balance - ? WHERE id = ? AND region = 'e?'")
	if err != nil {
		panic(err)
	}
	u := stmts[0].(*sqlparse.Update)
	fmt.Println(u.Tables[0].Name, u.Set[0].Column.Name, u.Set[0].Value.Expr.SQL)
	fmt.Println(u.Select("`id`, `balance`")+" FOR UPDATE", u.Args())
	// Output:
	// account balance `balance`-?
	// SELECT `id`, `balance` FROM account WHERE id = ? AND region = 'e?' FOR UPDATE [1]
}

// Several statements share one argument list; each has its own range.
func ExampleParser_Parse() {
	p := sqlparse.New(sqlparse.Config{CacheSize: 256})
	stmts, err := p.Parse("INSERT INTO ledger (id, amount) VALUES (?, ?), (?, -5); DELETE FROM hold WHERE id = ?")
	if err != nil {
		panic(err)
	}
	for _, s := range stmts {
		lo, hi := s.ArgRange()
		switch s := s.(type) {
		case *sqlparse.Insert:
			fmt.Println("insert", s.Table.Name, s.Columns, len(s.Rows), "rows, args", lo, hi)
			for _, row := range s.Rows {
				fmt.Println(" ", row[0].Kind, row[0].Arg, row[1].Kind, row[1].Literal)
			}
		case *sqlparse.Delete:
			fmt.Println("delete", s.Tables[s.Targets[0]].Name, "where", s.Where.SQL, s.Where.Args, "args", lo, hi)
		}
	}
	// Output:
	// insert ledger [id amount] 2 rows, args 0 3
	//   arg 0 arg <nil>
	//   arg 2 literal -5
	// delete hold where id = ? [3] args 3 4
}
