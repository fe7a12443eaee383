package dbserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultTestDSN is the server tests use when ATCC_TEST_MYSQL_DSN is unset.
const DefaultTestDSN = "root@tcp(127.0.0.1:3306)/"

// TestDSN returns the DSN of the MySQL/MariaDB server tests use
// (ATCC_TEST_MYSQL_DSN, default DefaultTestDSN), after checking that it
// answers. When it does not, the test fails if CI=true and is skipped
// otherwise: the policy of the atcc module's own tests.
func TestDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ATCC_TEST_MYSQL_DSN")
	if dsn == "" {
		dsn = DefaultTestDSN
	}
	err := ping(t.Context(), dsn)
	if err != nil {
		msg := "no MySQL/MariaDB server: " + err.Error() + " (set ATCC_TEST_MYSQL_DSN, or run `make test` in the atcc module, which starts one)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

func ping(ctx context.Context, dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	cfg.DBName = ""
	cfg.Timeout = 5 * time.Second
	db, err := Pool(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// TestDatabase returns a fresh database name for the test on the server dsn
// names, and drops the database (if the test created it) when the test ends.
func TestDatabase(t testing.TB, dsn string) string {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	base := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	name := "atcc_ex_" + base + "_" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() {
		s, err := Open(dsn)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		db, err := Pool(s.Config(""))
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}
