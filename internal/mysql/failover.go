package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"

	gomysql "github.com/go-sql-driver/mysql"
)

// Endpoint is a server address.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// errNodeNotReady says a Galera node accepted the connection but does not serve statements.
var errNodeNotReady = errors.New("Galera node is not ready (wsrep_ready is OFF): it is not part of the primary component")

// failover is a driver.Connector over several endpoints of one cluster. It connects to the one
// that answered last and moves to the next in order when that fails, so losing a node (or a
// proxy) costs one failed attempt, not a failed reconcile.
type failover struct {
	endpoints  []Endpoint
	connectors []driver.Connector
	// checkGalera skips Galera nodes that are connected but not serving.
	checkGalera bool
	preferred   atomic.Int32
}

func newFailover(opts Options, user, password, database string, checkGalera bool) (*failover, error) {
	f := &failover{endpoints: opts.Endpoints, checkGalera: checkGalera}
	for _, e := range opts.Endpoints {
		cfg := gomysql.NewConfig()
		cfg.Net = "tcp"
		cfg.Addr = e.String()
		cfg.User, cfg.Passwd, cfg.DBName = user, password, database
		// Client-side interpolation escapes every placeholder value and lets statements that the
		// server cannot prepare (CREATE USER … IDENTIFIED BY ?) take their password as a value.
		cfg.InterpolateParams = true
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
		conn, err := f.connectors[idx].Connect(ctx)
		if err == nil && f.checkGalera {
			if err = galeraReady(ctx, conn); err != nil {
				conn.Close()
			}
		}
		if err == nil {
			f.preferred.Store(int32(idx))
			return conn, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", f.endpoints[idx], err))
		// Every node checks the same account: a refused login will not succeed elsewhere.
		if Classify(err) == KindAccessDenied || ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// Driver implements driver.Connector.
func (f *failover) Driver() driver.Driver { return gomysql.MySQLDriver{} }

func (f *failover) current() string { return f.endpoints[f.preferred.Load()].String() }

// galeraReady checks, on a fresh connection to a Galera node, that the node serves statements.
// Servers without Galera pass; MariaDB builds report wsrep_ready OFF even when wsrep is not on, so
// wsrep_on is asked first.
func galeraReady(ctx context.Context, conn driver.Conn) error {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return nil
	}
	on, err := showValue(ctx, q, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
	if err != nil || on != "ON" {
		return err
	}
	ready, err := showValue(ctx, q, "SHOW GLOBAL STATUS LIKE 'wsrep_ready'")
	if err != nil {
		return err
	}
	if ready != "ON" {
		return errNodeNotReady
	}
	return nil
}

// showValue runs a SHOW … LIKE statement and returns the value of its one row, or "" if none.
func showValue(ctx context.Context, q driver.QueryerContext, query string) (string, error) {
	rows, err := q.QueryContext(ctx, query, nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	values := make([]driver.Value, len(rows.Columns()))
	switch err := rows.Next(values); {
	case errors.Is(err, io.EOF):
		return "", nil
	case err != nil:
		return "", err
	}
	v, _ := values[1].([]byte)
	return string(v), nil
}
