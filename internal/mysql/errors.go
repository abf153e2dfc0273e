package mysql

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Server error numbers, shared by MySQL and MariaDB unless noted.
const (
	erDBAccessDenied        = 1044
	erAccessDenied          = 1045
	erUnknownCommand        = 1047 // Galera: node not ready for application use
	erServerShutdown        = 1053
	erTooManyConnections    = 1040
	erUnknownCharset        = 1115
	erHostBlocked           = 1129
	erTableAccessDenied     = 1142
	erSpecificAccessDenied  = 1227
	erCollationMismatch     = 1253
	erUnknownCollation      = 1273
	erQueryInterrupted      = 1317
	erCannotCreateWithGrant = 1410
	erAccessDeniedNoPass    = 1698
	erConnectionKilled      = 1927 // MariaDB
	erLockDeadlock          = 1213 // also Galera certification conflicts
	erDuplicateKey          = 1062
	erNonexistingGrant      = 1141
	erNoSuchThread          = 1094
	erCannotUser            = 1396
	erNotValidPassword      = 1819
	erNoSuchTable           = 1146 // for one, MariaDB before 10.4 has no mysql.global_priv
	erBadDB                 = 1049
	erAccountLocked         = 4151 // MariaDB
	erAccountLockedMySQL    = 3118
	// An account's own connection limit (MAX_USER_CONNECTIONS), and the server-wide one per
	// account (max_user_connections): both are checked after the password was accepted.
	erUserLimitReached       = 1226
	erTooManyUserConnections = 1203
)

// classify tells what kind of failure err is, as far as the server's answer says; settle refines
// it for the errors that leave the package.
func classify(err error) tenant.Kind {
	if err == nil {
		return tenant.KindOther
	}
	var statementErr *StatementError
	if errors.As(err, &statementErr) {
		return tenant.KindOther
	}
	if errors.Is(err, errNodeReadOnly) || errors.Is(err, errNodeNotReady) {
		return tenant.KindUnreachable
	}
	var serverErr *gomysql.MySQLError
	if errors.As(err, &serverErr) {
		switch serverErr.Number {
		case erAccessDenied, erDBAccessDenied, erTableAccessDenied, erSpecificAccessDenied,
			erCannotCreateWithGrant, erAccessDeniedNoPass:
			return tenant.KindAccessDenied
		case erUnknownCharset, erUnknownCollation, erCollationMismatch:
			return tenant.KindInvalidInput
		case erUnknownCommand, erServerShutdown, erTooManyConnections, erHostBlocked,
			erQueryInterrupted, erConnectionKilled:
			return tenant.KindUnreachable
		}
		return tenant.KindOther
	}
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var headerErr tls.RecordHeaderError
	switch {
	// A certificate that does not verify is the cluster's TLS configuration (or a server
	// impersonating it): nothing is sent, and the check is repeated once the configuration changes.
	case errors.As(err, &certErr), errors.As(err, &headerErr),
		errors.Is(err, gomysql.ErrNoTLS):
		return tenant.KindUnreachable
	case errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, gomysql.ErrInvalidConn),
		errors.Is(err, context.DeadlineExceeded):
		return tenant.KindUnreachable
	}
	return tenant.KindOther
}

// errorNumber returns the server error number inside err, or 0.
func errorNumber(err error) uint16 {
	var serverErr *gomysql.MySQLError
	if errors.As(err, &serverErr) {
		return serverErr.Number
	}
	return 0
}

// withheld replaces the server's message of a failed statement that carried a password: MySQL
// echoes the statement text in some messages (syntax errors, "near '…'"), which would put the
// password into logs, events and status. The error number stays, so classify still works.
func withheld(err error) error {
	var serverErr *gomysql.MySQLError
	if errors.As(err, &serverErr) {
		if serverErr.Number == erNotValidPassword {
			// The policy's refusal names the policy, never the statement.
			return err
		}
		return &gomysql.MySQLError{
			Number:   serverErr.Number,
			SQLState: serverErr.SQLState,
			Message:  "server message withheld because the statement carries a password",
		}
	}
	if classify(err) == tenant.KindUnreachable {
		return err
	}
	return fmt.Errorf("statement carrying a password failed (%T)", err)
}

// errorText is err's message for people: for a server error, its number and message.
func errorText(err error) string {
	var serverErr *gomysql.MySQLError
	if errors.As(err, &serverErr) {
		return fmt.Sprintf("MySQL error %d: %s", serverErr.Number, serverErr.Message)
	}
	return err.Error()
}

// StatementError says a statement did not complete on an established connection (it timed out,
// or its connection was lost) while the cluster still answers: a failure of this tenant's pass,
// retried for it alone, not an outage of the cluster.
type StatementError struct{ Err error }

func (e *StatementError) Error() string {
	return "a statement did not complete, although the cluster answers (" + e.Err.Error() + ")"
}

func (e *StatementError) Unwrap() error { return e.Err }

// TenantKind is KindOther: the tenant's pass failed, not the cluster.
func (e *StatementError) TenantKind() tenant.Kind { return tenant.KindOther }

// RevokeError says something an account must not hold could not be revoked: most often a role or
// PROXY grant that the admin account itself may not pass on (it lacks ADMIN OPTION or the PROXY
// grant WITH GRANT OPTION). It is a problem of this tenant, not of the cluster's credentials.
type RevokeError struct {
	User string
	// What lists each grant that could not be revoked; Err is the server's answer to the first.
	What []string
	Err  error
}

func (e *RevokeError) Error() string {
	return fmt.Sprintf("user %q holds %s, more than DB Concierge grants it, which the operator's admin account cannot revoke (%s); the platform team revokes it by hand, "+
		"or gives the admin account the right to (ADMIN OPTION on roles, PROXY … WITH GRANT OPTION)", e.User, strings.Join(e.What, ", "), errorText(e.Err))
}

func (e *RevokeError) Unwrap() error { return e.Err }

// TenantKind is KindOther, although the server's answer is "access denied": the account holds
// more than it should, which is this tenant's problem, not the admin credentials'.
func (e *RevokeError) TenantKind() tenant.Kind { return tenant.KindOther }

// passwordPolicyError reports the server's password policy refusing account's password. The
// server's message names the policy, never the password.
func passwordPolicyError(account string, err error) error {
	return &tenant.PasswordPolicyError{Account: account, Reason: errorText(err), Err: err}
}

// kinded is an error that already knows its tenant.Kind.
type kinded interface{ TenantKind() tenant.Kind }

// withKind gives err the tenant.Kind callers of the engine decide on (tenant.KindOf), unless an
// error in its chain already has one: every error leaving the package carries a kind.
func withKind(err error) error {
	var k kinded
	if err == nil || errors.As(err, &k) {
		return err
	}
	e := &tenant.Error{Kind: kindOf(err), Err: err}
	if e.Kind == tenant.KindUnreachable {
		e.Cause = unreachableCause(err)
	}
	return e
}

// kindOf is classify, except for an application account's refused login: the server's "access
// denied" there is about that account, not the operator's admin credentials, so only an
// unreachable server keeps its kind.
func kindOf(err error) tenant.Kind {
	kind := classify(err)
	var login *LoginError
	if errors.As(err, &login) && kind != tenant.KindUnreachable {
		return tenant.KindOther
	}
	return kind
}

// unreachableCause says, in words fit for a tenant, why a cluster could not be reached: the kind
// of trouble, never an address or an account. The whole error is the platform team's, in the
// operator's log and the MySQLCluster's status.
func unreachableCause(err error) string {
	var certErr *tls.CertificateVerificationError
	var headerErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &certErr), errors.As(err, &headerErr), errors.Is(err, gomysql.ErrNoTLS):
		return "the TLS connection to it failed (its certificate did not verify, or it does not offer TLS)"
	case errors.Is(err, errNodeReadOnly):
		return "every admin endpoint is read-only"
	case errors.Is(err, errNodeNotReady):
		return "no node is part of the cluster's primary component"
	case errorNumber(err) == erTooManyConnections:
		return "it refuses more connections"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "it did not answer in time"
	}
	return "no admin endpoint accepted a connection"
}
