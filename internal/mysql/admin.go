package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Options say how to reach a cluster as its administrator.
type Options struct {
	// Cluster names the cluster in metrics.
	Cluster string
	// Endpoints are tried in order; the one that answered is used until it fails.
	Endpoints []Endpoint
	User      string
	Password  string
	// TLS secures the connections; nil means plain connections.
	TLS *TLS
	// RequireTLSForApplications creates application users with REQUIRE SSL.
	RequireTLSForApplications bool
	// MaxOpenConns caps the connections the operator holds to this cluster.
	MaxOpenConns int
	// ConnectTimeout bounds each attempt to reach one endpoint — the dial, the handshake and the
	// admin session's setup — so an unreachable or hung server costs a reconcile that long, not
	// the read timeout, before the next endpoint is tried.
	ConnectTimeout time.Duration
	// ExpectedServer is the identity the server's records must hold (ServerInfo.Identity) before
	// the operator creates or records anything there; "" checks nothing.
	ExpectedServer string
}

// Defaults for Options left at zero.
const (
	DefaultMaxOpenConns   = 4
	DefaultConnectTimeout = 5 * time.Second
	ioTimeout             = 30 * time.Second
)

// Admin is one cluster seen through the operator's admin account: a pool of connections shared by
// every reconcile of that cluster.
type Admin struct {
	opts      Options
	db        *sql.DB
	connector *failover

	schemaMu    sync.Mutex
	schemaReady bool

	dialectMu sync.Mutex
	dialect   *dialect

	// charsets caches what the server calls a spec's character set and collation (resolveCharset).
	charsetsMu sync.Mutex
	charsets   map[[2]string][2]string

	// expectedServer is Options.ExpectedServer, as SetExpectedServer last changed it.
	expectedServer atomic.Pointer[string]

	// privilegesCheckedAt is when CheckPrivileges last found every privilege.
	privilegesMu        sync.Mutex
	privilegesCheckedAt time.Time
}

// Open prepares a pool; it does not connect until the first statement.
func Open(opts Options) (*Admin, error) {
	if len(opts.Endpoints) == 0 {
		return nil, fmt.Errorf("no admin endpoint")
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = DefaultMaxOpenConns
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	connector, err := newFailover(opts, opts.User, opts.Password, "", true)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxOpenConns)
	// Recycle connections now and then, so a proxy or a failed-over node is left behind.
	db.SetConnMaxLifetime(10 * time.Minute)
	db.SetConnMaxIdleTime(2 * time.Minute)
	return &Admin{opts: opts, db: db, connector: connector, charsets: map[[2]string][2]string{}}, nil
}

// Admin is the MySQL and MariaDB engine of a cluster.
var _ tenant.Engine = (*Admin)(nil)

// Close releases the pool. Statements already running finish first.
func (a *Admin) Close() error { return withKind(a.db.Close()) }

// address is the endpoint the pool connects to now (the one that answered last).
func (a *Admin) address() string { return a.connector.current() }

// scanRow runs a read that returns at most one row and scans it into dest.
func (a *Admin) scanRow(ctx context.Context, st statement, dest ...any) error {
	defer metrics.ObserveSQL(a.opts.Cluster, st.op, time.Now())
	return a.db.QueryRowContext(ctx, st.query, st.args...).Scan(dest...)
}

// query runs a read that returns rows; the caller closes them.
func (a *Admin) query(ctx context.Context, st statement) (*sql.Rows, error) {
	defer metrics.ObserveSQL(a.opts.Cluster, st.op, time.Now())
	return a.db.QueryContext(ctx, st.query, st.args...) //nolint:sqlclosecheck // the caller closes the rows

}

func (a *Admin) exec(ctx context.Context, st statement) error {
	start := time.Now()
	_, err := a.db.ExecContext(ctx, st.query, st.args...)
	metrics.ObserveSQL(a.opts.Cluster, st.op, start)
	a.observe(st.op, err)
	if err != nil && st.secret {
		return withheld(err)
	}
	return err
}

// observe counts a statement that changes the cluster (or a login), or an error of any statement
// (reads count only when they fail), and lets go of idle connections after an outage.
func (a *Admin) observe(op string, err error) {
	if err == nil {
		if op != opRead {
			metrics.SQLOperations.WithLabelValues(a.opts.Cluster, op).Inc()
		}
		return
	}
	metrics.SQLErrors.WithLabelValues(a.opts.Cluster, op, classify(err).String()).Inc()
	a.forgetIdleOnOutage(err)
}

// forgetIdleOnOutage closes the idle connections after an error that says their server stopped
// serving (a Galera node that left the primary component answers every statement with an error
// but keeps the connection open), so the next statement connects again, to a node that serves.
func (a *Admin) forgetIdleOnOutage(err error) {
	if classify(err) == tenant.KindUnreachable {
		a.db.SetMaxIdleConns(0)
		a.db.SetMaxIdleConns(a.opts.MaxOpenConns)
	}
}

// settle prepares an error to leave the package: it tells a failed statement from a lost cluster,
// and gives the error its tenant.Kind (withKind). An error of the unreachable kind that did not
// come from connecting happened on an established connection: a statement that ran out of time,
// or a connection the server dropped. When the cluster still accepts a connection, that is a
// failure of this tenant's pass (*StatementError), retried for it alone; only a cluster that does
// not answer is an outage, which makes every tenant of it wait. Every exported method returns
// through it.
func (a *Admin) settle(ctx context.Context, err error) error {
	var connectErr *ConnectError
	if err == nil || classify(err) != tenant.KindUnreachable || errors.As(err, &connectErr) {
		return withKind(err)
	}
	probeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.ConnectTimeout)
	defer cancel()
	conn, probeErr := a.connector.Connect(probeCtx)
	if probeErr != nil {
		return withKind(err)
	}
	_ = conn.Close()
	return &StatementError{Err: err}
}

// resolveCharset returns the names the server reports for a character set and collation as a spec
// gives them: aliases resolved (utf8 is utf8mb3 on current servers), a collation named without its
// character set (uca1400_ai_ci) completed. Comparing the spec with these, not with its own
// spelling, keeps a database that is as asked for from being altered on every pass. Answers are
// cached: they change only with the server's version.
func (a *Admin) resolveCharset(ctx context.Context, charset, collation string) (string, string, error) {
	key := [2]string{charset, collation}
	a.charsetsMu.Lock()
	resolved, ok := a.charsets[key]
	a.charsetsMu.Unlock()
	if ok {
		return resolved[0], resolved[1], nil
	}
	if err := a.scanRow(ctx, selectCharsetNames(charset, collation), &resolved[0], &resolved[1]); err != nil {
		a.observe(opRead, err)
		return "", "", fmt.Errorf("resolving character set %q and collation %q: %w", charset, collation, err)
	}
	a.charsetsMu.Lock()
	a.charsets[key] = resolved
	a.charsetsMu.Unlock()
	return resolved[0], resolved[1], nil
}

// LoginError says an application account could not log in. It has no kind of its own: an
// unreachable server stays unreachable, any other refusal is the tenant's (kindOf).
type LoginError struct {
	User, Database string
	Err            error
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("logging in as %q to database %q: %v", e.User, e.Database, e.Err)
}

func (e *LoginError) Unwrap() error { return e.Err }

// VerifyLogin logs in as user with password, with database as the current database (none when
// empty), and logs out. It succeeds only if the password is right and the user may use the
// database. It goes through the admin endpoints, starting at the one the admin pool uses, with
// the cluster's TLS settings.
func (a *Admin) VerifyLogin(ctx context.Context, user, password, database string) (err error) {
	defer func() { err = a.settle(ctx, err) }()
	return a.verifyLogin(ctx, user, password, database)
}

func (a *Admin) verifyLogin(ctx context.Context, user, password, database string) error {
	connector, err := newFailover(a.opts, user, password, database, false)
	if err != nil {
		return fmt.Errorf("configuring login as %q: %w", user, err)
	}
	// Start where the admin pool is connected: the endpoint that answered last, not a node it
	// failed over from.
	connector.preferred.Store(a.connector.preferred.Load())
	start := time.Now()
	conn, err := connector.Connect(ctx)
	metrics.ObserveSQL(a.opts.Cluster, opLogin, start)
	switch errorNumber(err) {
	case erUserLimitReached, erTooManyUserConnections:
		// The server counts an account's connections only once it has accepted the password: an
		// application using every connection it may open has the password right, and the next
		// pass checks the database once a connection is free.
		return nil
	}
	if err != nil {
		// Not counted as an error: a refused login is how a missing user or a changed password
		// is noticed.
		return &LoginError{User: user, Database: database, Err: err}
	}
	metrics.SQLOperations.WithLabelValues(a.opts.Cluster, opLogin).Inc()
	return conn.Close()
}

// SetDriverLogger routes the driver's own messages (about connections it drops) to log, instead
// of the process's standard error.
func SetDriverLogger(log func(msg string)) {
	_ = gomysql.SetLogger(driverLogger(log))
}

type driverLogger func(string)

func (l driverLogger) Print(v ...any) { l(fmt.Sprint(v...)) }
