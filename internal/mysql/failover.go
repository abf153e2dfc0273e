package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Endpoint is a server address.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// errNodeNotReady says a Galera node accepted the connection but does not serve statements.
var errNodeNotReady = errors.New("the Galera node is not ready (wsrep_ready is OFF): it is not part of the primary component")

// errNodeReadOnly says a server accepted the connection but is read-only: a replica, or a node
// set aside for maintenance. The admin account's privileges would let it write there anyway, and
// what it wrote would be lost or split from the primary.
var errNodeReadOnly = errors.New("server is read-only (read_only or super_read_only is ON): not used for changes")

// The session every admin connection runs in, whatever the server's defaults. The character set
// decides how the driver's escaping of values is read back: under a multi-byte character set such
// as gbk a backslash can become part of a character and end a quoted value early, and a server
// started with --skip-character-set-client-handshake ignores what the handshake asked for, so it
// is set explicitly. A known sql_mode keeps SHOW GRANTS quoting with backticks (not ANSI_QUOTES'
// double quotes) and the statements' meaning fixed (ORACLE mode changes it). A short metadata-lock
// wait turns a tenant's open transaction into a quick, retried error for that tenant instead of a
// worker held for the server's default of a day.
const (
	sessionCharset   = "utf8mb4"
	sessionCollation = "utf8mb4_unicode_ci"
	sessionSQLMode   = "STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
	// LockWaitTimeout bounds how long an admin statement waits for a lock held by someone else.
	LockWaitTimeout = 10 * time.Second
)

// ConnectError says no endpoint accepted a connection. An error without it happened on a
// connection that was established: the statement failed, not necessarily the cluster.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// failover is a driver.Connector over several endpoints of one cluster. It connects to the one
// that answered last and moves to the next in order when that fails, so losing a node (or a
// proxy) costs one failed attempt, not a failed reconcile.
type failover struct {
	endpoints  []Endpoint
	connectors []driver.Connector
	// admin pins the session (sessionSetup) and skips endpoints that cannot take changes: Galera
	// nodes that are connected but not serving, and read-only servers. Logins that only verify a
	// password do neither.
	admin bool
	// writableOnly skips the same endpoints as admin, without pinning the session: for a tenant's
	// own SQL, which runs in the server's session defaults.
	writableOnly bool
	preferred    atomic.Int32
	// connectTimeout bounds each endpoint's attempt as a whole: the dial, the handshake (a node
	// that accepts TCP and never answers would otherwise hold it for the read timeout) and the
	// admin session's setup.
	connectTimeout time.Duration
}

func newFailover(opts Options, user, password, database string, admin bool, adjust ...func(*gomysql.Config)) (*failover, error) {
	f := &failover{endpoints: opts.Endpoints, admin: admin, connectTimeout: opts.ConnectTimeout}
	for _, e := range opts.Endpoints {
		cfg := gomysql.NewConfig()
		cfg.Net = "tcp"
		cfg.Addr = e.String()
		cfg.User, cfg.Passwd, cfg.DBName = user, password, database
		// Client-side interpolation escapes every placeholder value and lets statements that the
		// server cannot prepare take values. It is safe because the session's character set is
		// pinned to utf8mb4 (sessionSetup) and passwords are printable ASCII (tenant.ValidatePassword).
		cfg.InterpolateParams = true
		cfg.Collation = sessionCollation
		cfg.Timeout = opts.ConnectTimeout
		cfg.ReadTimeout = ioTimeout
		cfg.WriteTimeout = ioTimeout
		if opts.TLS != nil {
			tlsConfig, err := opts.TLS.config(e.Host)
			if err != nil {
				return nil, err
			}
			cfg.TLS = tlsConfig
		}
		for _, a := range adjust {
			a(cfg)
		}
		c, err := gomysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("configuring connection to %s: %w", e, err)
		}
		f.connectors = append(f.connectors, c)
	}
	return f, nil
}

// Connect implements driver.Connector.
func (f *failover) Connect(ctx context.Context) (driver.Conn, error) {
	start := int(f.preferred.Load())
	var errs []error
	for i := range f.connectors {
		idx := (start + i) % len(f.connectors)
		conn, err := f.attempt(ctx, idx)
		if err == nil {
			f.preferred.Store(int32(idx)) //nolint:gosec // G115: idx < len(f.connectors), a handful of endpoints
			return conn, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", f.endpoints[idx], err))
		// Every node checks the same account: a refused login will not succeed elsewhere.
		if classify(err) == tenant.KindAccessDenied || ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, &ConnectError{Err: errs[0]}
	}
	return nil, &ConnectError{Err: errors.Join(errs...)}
}

// attempt connects to one endpoint within connectTimeout.
func (f *failover) attempt(ctx context.Context, idx int) (driver.Conn, error) {
	if f.connectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.connectTimeout)
		defer cancel()
	}
	conn, err := f.connectors[idx].Connect(ctx)
	if err == nil && (f.admin || f.writableOnly) {
		if err = prepareSession(ctx, conn, f.admin); err != nil {
			_ = conn.Close() // the session's error is the one that matters
		}
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		err = fmt.Errorf("no answer within %s: %w", f.connectTimeout, err)
	}
	return conn, err
}

// Driver implements driver.Connector.
func (f *failover) Driver() driver.Driver { return gomysql.MySQLDriver{} }

func (f *failover) current() string { return f.endpoints[f.preferred.Load()].String() }

// prepareSession pins a fresh admin connection's session (pin) and checks that its server takes
// changes: not read-only, and, on Galera, part of the primary component. MariaDB builds report
// wsrep_ready OFF even when wsrep is not on, so wsrep_on is asked first.
func prepareSession(ctx context.Context, conn driver.Conn, pin bool) error {
	execer, ok := conn.(driver.ExecerContext)
	q, ok2 := conn.(driver.QueryerContext)
	if !ok || !ok2 {
		return nil
	}
	if pin {
		if _, err := execer.ExecContext(ctx, sessionSetup, nil); err != nil {
			return fmt.Errorf("setting up the session: %w", err)
		}
	}
	vars, err := showValues(ctx, q, showWritability)
	if err != nil {
		return err
	}
	if isSet(vars["read_only"]) || isSet(vars["super_read_only"]) {
		return errNodeReadOnly
	}
	if vars["wsrep_on"] != "ON" {
		return nil
	}
	status, err := showValues(ctx, q, showWsrepReady)
	if err != nil {
		return err
	}
	if status["wsrep_ready"] != "ON" {
		return errNodeNotReady
	}
	return nil
}

// isSet reports whether a server switch is on in any of its forms: ON, 1, or a mode such as
// MariaDB 12's read_only=NO_LOCK, which still marks a server not to be written to.
func isSet(value string) bool { return value != "" && value != "OFF" && value != "0" }

// showValues runs a SHOW … statement and returns its rows as name → value.
func showValues(ctx context.Context, q driver.QueryerContext, query string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // the read's errors come from Next
	found := map[string]string{}
	values := make([]driver.Value, len(rows.Columns()))
	for {
		switch err := rows.Next(values); {
		case errors.Is(err, io.EOF):
			return found, nil
		case err != nil:
			return nil, err
		}
		name, _ := values[0].([]byte)
		value, _ := values[1].([]byte)
		found[strings.ToLower(string(name))] = strings.ToUpper(string(value))
	}
}
