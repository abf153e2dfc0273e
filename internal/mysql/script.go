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

// scriptTimeout bounds one run of a tenant's SQL: a schema and first rows take seconds.
const scriptTimeout = 2 * time.Minute

// RunScript logs in as user and sends script to the server as one multi-statement request: the
// server parses it, so compound statements (CREATE PROCEDURE ... BEGIN ... END) need no
// DELIMITER, and runs the statements in order until one fails. It runs with the account's own
// privileges, never the operator's: a script can do in its database what the application can,
// and nothing else. It runs on a node that takes changes, in the server's own session defaults.
// A run that outlasts scriptTimeout is ended on the server too: a client giving up does not stop
// a statement there.
func (a *Admin) RunScript(ctx context.Context, user, password, database, script string, starting func() error) (err error) {
	defer func() { err = a.settle(ctx, err) }()
	connector, err := newFailover(a.opts, user, password, database, false, func(cfg *gomysql.Config) {
		cfg.MultiStatements = true
		cfg.InterpolateParams = false
		cfg.ReadTimeout = scriptTimeout
	})
	if err != nil {
		return fmt.Errorf("configuring login as %q: %w", user, err)
	}
	connector.writableOnly = true
	connector.preferred.Store(a.connector.preferred.Load())
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return &LoginError{User: user, Database: database, Err: err}
	}
	defer conn.Close()
	var id int64
	if err := conn.QueryRowContext(ctx, selectConnectionID.query).Scan(&id); err != nil {
		return fmt.Errorf("running SQL as %q: %w", user, err)
	}
	if err := starting(); err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	start := time.Now()
	_, err = conn.ExecContext(runCtx, script)
	metrics.ObserveSQL(a.opts.Cluster, opScript, start)
	var serverErr *gomysql.MySQLError
	switch {
	case errors.As(err, &serverErr):
		message, _, _ := strings.Cut(serverErr.Error(), "\n")
		return &tenant.ScriptError{Message: message}
	case runCtx.Err() != nil:
		// The statement may still run on the server: end it, on the node it runs on.
		killErr := a.endSessionOn(context.WithoutCancel(ctx), connector, id)
		return errors.Join(&tenant.ScriptError{Message: fmt.Sprintf("the SQL did not finish within %s and was stopped", scriptTimeout)}, killErr)
	}
	a.observe(opScript, err)
	if err != nil {
		return fmt.Errorf("running SQL as %q: %w", user, err)
	}
	return nil
}

// endSessionOn ends session id on the node connector last reached, as the admin account.
func (a *Admin) endSessionOn(ctx context.Context, connector *failover, id int64) error {
	opts := a.opts
	opts.Endpoints = []Endpoint{connector.endpoints[connector.preferred.Load()]}
	admin, err := newFailover(opts, opts.User, opts.Password, "", false)
	if err != nil {
		return err
	}
	db := sql.OpenDB(admin)
	defer db.Close()
	st := killConnection(id)
	ctx, cancel := context.WithTimeout(ctx, a.opts.ConnectTimeout+ioTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, st.query); err != nil && errorNumber(err) != erNoSuchThread {
		return fmt.Errorf("ending the session that ran the SQL: %w", err)
	}
	return nil
}
