package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// scriptTimeout bounds one run of a tenant's SQL, and each read of its results.
const scriptTimeout = 5 * time.Minute

// RunScript logs in as user and sends script to the server as one multi-statement request: the
// server parses it, so compound statements (CREATE PROCEDURE ... BEGIN ... END) need no
// DELIMITER, and runs the statements in order until one fails. It runs with the account's own
// privileges, never the operator's: a script can do in its database what the application can,
// and nothing else.
func (a *Admin) RunScript(ctx context.Context, user, password, database, script string) (err error) {
	defer func() { err = a.settle(ctx, err) }()
	connector, err := newFailover(a.opts, user, password, database, false, func(cfg *gomysql.Config) {
		cfg.MultiStatements = true
		cfg.InterpolateParams = false
		cfg.ReadTimeout = scriptTimeout
	})
	if err != nil {
		return fmt.Errorf("configuring login as %q: %w", user, err)
	}
	connector.preferred.Store(a.connector.preferred.Load())
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return &LoginError{User: user, Database: database, Err: err}
	}
	defer conn.Close()
	start := time.Now()
	_, err = conn.ExecContext(ctx, script)
	metrics.ObserveSQL(a.opts.Cluster, opScript, start)
	var serverErr *gomysql.MySQLError
	if errors.As(err, &serverErr) {
		message, _, _ := strings.Cut(serverErr.Error(), "\n")
		return &tenant.ScriptError{Message: message}
	}
	a.observe(opScript, err)
	if err != nil {
		return fmt.Errorf("running SQL as %q: %w", user, err)
	}
	return nil
}
