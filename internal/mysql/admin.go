package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// Options say how to reach a server as its administrator.
type Options struct {
	Host     string
	Port     int
	User     string
	Password string
	// MaxOpenConns caps the connections the operator holds to this server.
	MaxOpenConns int
	// ConnectTimeout bounds each connection attempt, so an unreachable server fails a reconcile
	// quickly instead of holding a worker.
	ConnectTimeout time.Duration
}

// Defaults for Options left at zero.
const (
	DefaultMaxOpenConns   = 4
	DefaultConnectTimeout = 5 * time.Second
	ioTimeout             = 30 * time.Second
)

// Admin is one server seen through the operator's admin account: a pool of connections shared by
// every reconcile of that cluster.
type Admin struct {
	opts Options
	db   *sql.DB

	schemaMu    sync.Mutex
	schemaReady bool
}

// Open prepares a pool; it does not connect until the first statement.
func Open(opts Options) (*Admin, error) {
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = DefaultMaxOpenConns
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	connector, err := gomysql.NewConnector(driverConfig(opts, opts.User, opts.Password, ""))
	if err != nil {
		return nil, fmt.Errorf("configuring connection to %s: %w", opts.address(), err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxOpenConns)
	// Recycle connections now and then, so a proxy or a failed-over node is left behind.
	db.SetConnMaxLifetime(10 * time.Minute)
	db.SetConnMaxIdleTime(2 * time.Minute)
	return &Admin{opts: opts, db: db}, nil
}

func (o Options) address() string { return net.JoinHostPort(o.Host, strconv.Itoa(o.Port)) }

func driverConfig(opts Options, user, password, database string) *gomysql.Config {
	cfg := gomysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = opts.address()
	cfg.User = user
	cfg.Passwd = password
	cfg.DBName = database
	// Client-side interpolation escapes every placeholder value and lets statements that the
	// server cannot prepare (CREATE USER … IDENTIFIED BY ?) take their password as a value.
	cfg.InterpolateParams = true
	cfg.Timeout = opts.ConnectTimeout
	cfg.ReadTimeout = ioTimeout
	cfg.WriteTimeout = ioTimeout
	return cfg
}

// Close releases the pool. Statements already running finish first.
func (a *Admin) Close() error { return a.db.Close() }

// Address is the host:port the pool connects to.
func (a *Admin) Address() string { return a.opts.address() }

// Ping checks that the server answers the admin login.
func (a *Admin) Ping(ctx context.Context) error {
	if err := a.db.PingContext(ctx); err != nil {
		return fmt.Errorf("connecting to %s as %q: %w", a.Address(), a.opts.User, err)
	}
	return nil
}

func (a *Admin) exec(ctx context.Context, st statement) error {
	if _, err := a.db.ExecContext(ctx, st.query, st.args...); err != nil {
		if st.secret {
			return withheld(err)
		}
		return err
	}
	return nil
}

// LoginError says the application user could not log in.
type LoginError struct {
	User, Database string
	Err            error
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("logging in as %q to database %q: %v", e.User, e.Database, e.Err)
}

func (e *LoginError) Unwrap() error { return e.Err }

// VerifyLogin logs in as user with password, with database as the current database, and logs out.
// It succeeds only if the password is right and the user may use the database.
func (a *Admin) VerifyLogin(ctx context.Context, user, password, database string) error {
	connector, err := gomysql.NewConnector(driverConfig(a.opts, user, password, database))
	if err != nil {
		return fmt.Errorf("configuring login as %q: %w", user, err)
	}
	conn, err := connector.Connect(ctx)
	if err != nil {
		return &LoginError{User: user, Database: database, Err: err}
	}
	return conn.Close()
}
