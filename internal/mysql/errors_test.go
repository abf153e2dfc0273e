package mysql

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

func TestClassify(t *testing.T) {
	serverErr := func(n uint16) error { return &gomysql.MySQLError{Number: n, Message: "x"} }
	cases := []struct {
		name string
		err  error
		want tenant.Kind
	}{
		{"access denied", serverErr(1045), tenant.KindAccessDenied},
		{"missing privilege", serverErr(1227), tenant.KindAccessDenied},
		{"unknown collation", serverErr(1273), tenant.KindInvalidInput},
		{"unknown charset", serverErr(1115), tenant.KindInvalidInput},
		{"collation mismatch", fmt.Errorf("creating: %w", serverErr(1253)), tenant.KindInvalidInput},
		{"galera not ready", serverErr(1047), tenant.KindUnreachable},
		{"too many connections", serverErr(1040), tenant.KindUnreachable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, tenant.KindUnreachable},
		{"bad connection", fmt.Errorf("query: %w", driver.ErrBadConn), tenant.KindUnreachable},
		{"invalid connection", gomysql.ErrInvalidConn, tenant.KindUnreachable},
		{"timeout", context.DeadlineExceeded, tenant.KindUnreachable},
		{"certificate not trusted", fmt.Errorf("connect: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), tenant.KindUnreachable},
		{"server without TLS", gomysql.ErrNoTLS, tenant.KindUnreachable},
		{"syntax error", serverErr(1064), tenant.KindOther},
		{"plain", errors.New("boom"), tenant.KindOther},
		{"nil", nil, tenant.KindOther},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestWithheldDropsTheServerMessage(t *testing.T) {
	err := withheld(&gomysql.MySQLError{Number: 1064, Message: "You have an error near 'hunter2'"})
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("withheld error still carries the statement: %v", err)
	}
	if classify(withheld(&gomysql.MySQLError{Number: 1045})) != tenant.KindAccessDenied {
		t.Error("withheld errors lose their number")
	}
	if strings.Contains(withheld(errors.New("near 'hunter2'")).Error(), "hunter2") {
		t.Error("withheld passes other errors' text through")
	}
}

// What a tenant reads about an unreachable cluster names the kind of trouble, never an address.
func TestUnreachableCause(t *testing.T) {
	refused := &ConnectError{Err: fmt.Errorf("10.1.2.3:3306: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})}
	cases := []struct {
		err  error
		want string
	}{
		{refused, "no admin endpoint accepted a connection"},
		{&ConnectError{Err: fmt.Errorf("10.1.2.3:3306: %w", errNodeReadOnly)}, "read-only"},
		{&ConnectError{Err: fmt.Errorf("10.1.2.3:3306: %w", errNodeNotReady)}, "primary component"},
		{&ConnectError{Err: &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}}, "certificate"},
		{&gomysql.MySQLError{Number: erTooManyConnections}, "more connections"},
		{context.DeadlineExceeded, "in time"},
	}
	for _, c := range cases {
		got := unreachableCause(c.err)
		if !strings.Contains(got, c.want) || strings.Contains(got, "10.1.2.3") {
			t.Errorf("unreachableCause(%v) = %q, want it to say %q", c.err, got, c.want)
		}
	}
}
