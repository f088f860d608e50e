// Package dbtest gives tests a database of their own on the local
// PostgreSQL server.
package dbtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// FreshPostgres returns a database URL with a schema of its own for this
// test, or skips the test, saying why, when no server is reachable; when
// CONTRIBOT_TEST_POSTGRES is set, an unreachable server fails the test. The
// external tests of this package use it too.
func FreshPostgres(t *testing.T) string {
	t.Helper()
	base, required := os.LookupEnv("CONTRIBOT_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if required {
			// Named on purpose (as .ci/run does): the PostgreSQL half of the
			// tests must not vanish into a skip.
			t.Fatalf("PostgreSQL not reachable at CONTRIBOT_TEST_POSTGRES=%s: %v", base, err)
		}
		t.Skipf("PostgreSQL not reachable at %s (%v); set CONTRIBOT_TEST_POSTGRES or start it (.ci/run does)", base, err)
	}
	defer conn.Close(context.Background())
	schema := fmt.Sprintf("contribot_test_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	return base + "&search_path=" + schema
}
