package atcc_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/discovery"
	"github.com/atcc-go/atcc/discovery/etcd"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/otelatcc"
	"github.com/atcc-go/atcc/seataconf"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/tm"
)

// The README's Go snippets live here, between "README begin" and "README
// end" comments, so that they compile; TestREADMESnippets checks that
// README shows them unchanged, and the tests below run them.

// readmeAT is README's "AT mode" snippet.
func readmeAT(ctx context.Context, callPayments func(context.Context) error) error {
	// README begin
	client, err := atcc.New(atcc.Config{ApplicationID: "orders", Coordinators: []string{"127.0.0.1:8091"}})
	if err != nil {
		return err
	}
	defer client.Close()

	mc := mysql.NewConfig()
	mc.Net, mc.Addr, mc.User, mc.DBName = "tcp", "127.0.0.1:3306", "root", "orders"
	target, err := mysql.NewConnector(mc)
	if err != nil {
		return err
	}
	conn, err := datasource.NewConnector(target, client, datasource.Config{ResourceID: "orders-db"})
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn) // db.Close closes conn
	defer db.Close()

	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
		tx, err := db.BeginTx(ctx, nil) // ctx carries the XID: this local transaction is a branch
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "UPDATE stock SET qty = qty - ? WHERE sku = ?", 1, "A-1"); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil { // registers the branch with its row locks
			return err
		}
		return callPayments(ctx) // grpcxid / httpxid carry the XID; an error rolls everything back
	})
	// errors.Is(err, datasource.ErrLockConflict), errors.Is(err, tm.ErrOutcomeUnknown), ...
	// README end
	return err
}

// README begin
// debit freezes an amount in Try, spends it in Confirm, unfreezes it in Cancel.
type debit struct{}

func (debit) Name() string { return "account-debit" } // the resource id

func (debit) Try(ctx context.Context, ac *tcc.ActionContext) error {
	id, _ := ac.Params.Int64("account")
	amount, _ := ac.Params.Int64("amount")
	res, err := ac.Tx.ExecContext(ctx, // ac.Tx: the fence's local transaction
		"UPDATE account SET frozen = frozen + ? WHERE id = ? AND balance - frozen >= ?", amount, id, amount)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("account %d: insufficient funds", id) // nothing frozen; the transaction rolls back
	}
	return nil
}

func (debit) Confirm(ctx context.Context, ac *tcc.ActionContext) error {
	id, _ := ac.Params.Int64("account")
	amount, _ := ac.Params.Int64("amount")
	_, err := ac.Tx.ExecContext(ctx,
		"UPDATE account SET balance = balance - ?, frozen = frozen - ? WHERE id = ?", amount, amount, id)
	return err // an error is retried by the coordinator
}

func (debit) Cancel(ctx context.Context, ac *tcc.ActionContext) error {
	id, _ := ac.Params.Int64("account")
	amount, _ := ac.Params.Int64("amount")
	_, err := ac.Tx.ExecContext(ctx, "UPDATE account SET frozen = frozen - ? WHERE id = ?", amount, id)
	return err
}

// README end

// readmeTCC is README's TCC snippet that uses debit.
func readmeTCC(ctx context.Context, client *atcc.Client, db *sql.DB, account, amount int64) error {
	// README begin
	if err := tcc.CreateTable(ctx, db, ""); err != nil { // once per database
		return err
	}
	p, err := tcc.Register(client, debit{}, tcc.Config{Fence: db})
	if err != nil {
		return err
	}
	defer p.Close()
	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
		return p.Try(ctx, tcc.Params{"account": account, "amount": amount})
	})
	// README end
	return err
}

// readmeEmbedded is README's embedded coordinator.
func readmeEmbedded(ctx context.Context) error {
	// README begin
	srv, err := tc.New(tc.Config{}) // tc.Config{DB: db} for the MySQL store
	if err != nil {
		return err
	}
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		return err
	}
	defer srv.Close()
	client, err := atcc.New(atcc.Config{ApplicationID: "test", Coordinators: []string{srv.Addr().String()}})
	if err != nil {
		return err
	}
	defer client.Close()
	// README end
	return client.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(context.Context) error { return nil })
}

// readmeSeataconf is README's migration snippet (seataconf's own tests
// load its sample files).
func readmeSeataconf(logger *slog.Logger, connect func(datasource.Config) error) error {
	// README begin
	s, err := seataconf.LoadSeataGo("conf/seatago.yml", seataconf.Options{Logger: logger})
	if err != nil { // wrong types and unsupported settings, each with file:line and key
		return err
	}
	client, err := atcc.New(s.Client) // check s.Warnings first
	if err != nil {
		return err
	}
	defer client.Close()
	dsCfg := s.DataSource // undo table, lock retries, compression
	dsCfg.ResourceID = "mysql://db:3306/orders"
	// README end
	return connect(dsCfg)
}

func readmeDiscovery(ctx context.Context) error {
	// README begin
	// Seata's file registry: service.vgroupMapping.order_tx_group=shanghai,
	// service.shanghai.grouplist=10.0.0.1:8091;10.0.0.2:8091
	client, err := atcc.New(atcc.Config{
		ApplicationID:  "order-service",
		TxServiceGroup: "order_tx_group",
		Resolver: discovery.File{
			VGroupMapping: discovery.VGroupMapping{"order_tx_group": "shanghai"},
			GroupList:     map[string][]string{"shanghai": {"10.0.0.1:8091", "10.0.0.2:8091"}},
		},
	})
	// README end
	if err != nil {
		return err
	}
	client.Close()
	// README begin
	// Seata's etcd3 registry: the coordinators of cluster "shanghai" are
	// the keys registry-seata-shanghai-<ip:port> (Java Seata servers, atcc-tc).
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}})
	if err != nil {
		return err
	}
	defer cli.Close() // after client.Close
	client, err = atcc.New(atcc.Config{
		ApplicationID:  "order-service",
		TxServiceGroup: "order_tx_group",
		Resolver: &etcd.Resolver{Client: cli,
			VGroupMapping: discovery.VGroupMapping{"order_tx_group": "shanghai"}},
	})
	// README end
	if err != nil {
		return err
	}
	return client.Close()
}

// readmeObservability is README's "Observability" snippet.
func readmeObservability(ctx context.Context, mp metric.MeterProvider, tp trace.TracerProvider) error {
	// README begin
	obs := otelatcc.New(otelatcc.Config{MeterProvider: mp, TracerProvider: tp}) // nil: otel's global providers
	client, err := atcc.New(atcc.Config{ApplicationID: "orders", Coordinators: []string{"127.0.0.1:8091"},
		Observer: obs})
	if err != nil {
		return err
	}
	defer client.Close()
	stop, err := obs.ObserveClient(client) // gauges: connections by state, queue depth, pending requests
	if err != nil {
		return err
	}
	defer stop()
	// README end
	return client.Ping(ctx)
}

// TestREADMESnippets checks that every Go block of README.md is one of the
// snippets above, character for character once indentation is removed.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	var snippets []string
	// The gorm snippet lives in the examples module, which has gorm.
	for _, file := range []string{"readme_test.go", "examples/gorm/gorm_test.go"} {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`(?s)// README begin\n(.*?)\n\s*// README end`).FindAllStringSubmatch(string(src), -1) {
			snippets = append(snippets, dedent(m[1]))
		}
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		found := false
		for _, s := range snippets {
			if dedent(b[1]) == s {
				found = true
			}
		}
		if !found {
			t.Errorf("README block is not a compiled snippet of readme_test.go:\n%s", b[1])
		}
	}
}

// dedent removes the indentation common to every line and trailing blank
// lines.
func dedent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	prefix := ""
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, "\t "))]
		if i == 0 || prefix == "" || len(ind) < len(prefix) {
			prefix = ind
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	return strings.Join(lines, "\n")
}

// The TCC snippet cannot overdraft: a Try on too small a balance fails,
// freezes nothing, and the global transaction rolls back.
func TestREADMETCCNoOverdraft(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE account (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL, frozen BIGINT NOT NULL DEFAULT 0)",
		"INSERT INTO account (id, balance) VALUES (42, 100)")
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	c := newClient(t, srv.Addr().String(), "shop", nil)
	ctx := t.Context()

	err := readmeTCC(ctx, c, d.DB, 42, 250)
	require.ErrorContains(t, err, "insufficient funds")
	balance := func() (b, f int64) {
		require.NoError(t, d.DB.QueryRow("SELECT balance, frozen FROM account WHERE id = 42").Scan(&b, &f))
		return b, f
	}
	b, f := balance()
	require.Equal(t, [2]int64{100, 0}, [2]int64{b, f}, "an overdraft was frozen")

	require.NoError(t, readmeTCC(ctx, c, d.DB, 42, 60))
	require.Eventually(t, func() bool { b, f := balance(); return b == 40 && f == 0 }, 10*1e9, 1e7, "confirm spends the amount")
}

func TestREADMEEmbeddedCoordinator(t *testing.T) {
	require.NoError(t, readmeEmbedded(t.Context()))
}

var _ = readmeAT // compiled; it needs a coordinator and MySQL at fixed addresses to run
