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
)

// ErrorKind sorts errors by what the caller should do about them.
type ErrorKind int

// The kinds of error, each with what a retry can do about it.
const (
	// KindOther is any error without a better class; retry it.
	KindOther ErrorKind = iota
	// KindUnreachable: no connection, a lost connection, or a server (or Galera node) that is not
	// serving. Retry; it fixes itself when the server is back.
	KindUnreachable
	// KindAccessDenied: the server rejected the admin login or a privilege the operator needs.
	// Retry; it is fixed by correcting the admin credentials or grants.
	KindAccessDenied
	// KindInvalidInput: the server refused a value of the tenant's spec (unknown charset or
	// collation). Retrying the same spec cannot succeed.
	KindInvalidInput
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
)

// String is the kind's label in metrics.
func (k ErrorKind) String() string {
	switch k {
	case KindUnreachable:
		return "unreachable"
	case KindAccessDenied:
		return "access_denied"
	case KindInvalidInput:
		return "invalid_input"
	}
	return "other"
}

// Classify tells what kind of failure err is.
func Classify(err error) ErrorKind {
	if err == nil {
		return KindOther
	}
	var statementErr *StatementError
	if errors.As(err, &statementErr) {
		return KindOther
	}
	if errors.Is(err, errNodeReadOnly) || errors.Is(err, errNodeNotReady) {
		return KindUnreachable
	}
	var serverErr *gomysql.MySQLError
	if errors.As(err, &serverErr) {
		switch serverErr.Number {
		case erAccessDenied, erDBAccessDenied, erTableAccessDenied, erSpecificAccessDenied,
			erCannotCreateWithGrant, erAccessDeniedNoPass:
			return KindAccessDenied
		case erUnknownCharset, erUnknownCollation, erCollationMismatch:
			return KindInvalidInput
		case erUnknownCommand, erServerShutdown, erTooManyConnections, erHostBlocked,
			erQueryInterrupted, erConnectionKilled:
			return KindUnreachable
		}
		return KindOther
	}
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var headerErr tls.RecordHeaderError
	switch {
	// A certificate that does not verify is the cluster's TLS configuration (or a server
	// impersonating it): nothing is sent, and the check is repeated once the configuration changes.
	case errors.As(err, &certErr), errors.As(err, &headerErr),
		errors.Is(err, gomysql.ErrNoTLS):
		return KindUnreachable
	case errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, gomysql.ErrInvalidConn),
		errors.Is(err, context.DeadlineExceeded):
		return KindUnreachable
	}
	return KindOther
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
// password into logs, events and status. The error number stays, so Classify still works.
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
	if Classify(err) == KindUnreachable {
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

// PasswordPolicyError says the server's password policy (a password validation plugin) refused
// the password. The server's message names the policy, never the password.
type PasswordPolicyError struct{ Err error }

func (e *PasswordPolicyError) Error() string {
	return "the server's password policy refused the password (" + errorText(e.Err) + ")"
}

// Reason is the server's explanation, without the error's wording around it.
func (e *PasswordPolicyError) Reason() string { return errorText(e.Err) }

func (e *PasswordPolicyError) Unwrap() error { return e.Err }

// RevokeError says something the tenant's user must not hold could not be revoked: most often a
// role or PROXY grant that the admin account itself may not pass on (it lacks ADMIN OPTION or the
// PROXY grant WITH GRANT OPTION). It is a problem of this tenant, not of the cluster's credentials.
type RevokeError struct {
	User string
	// What lists each grant that could not be revoked; Err is the server's answer to the first.
	What []string
	Err  error
}

func (e *RevokeError) Error() string {
	return fmt.Sprintf("user %q holds %s beyond its database, which the operator's admin account cannot revoke (%s); the platform team revokes it by hand, "+
		"or gives the admin account the right to (ADMIN OPTION on roles, PROXY … WITH GRANT OPTION)", e.User, strings.Join(e.What, ", "), errorText(e.Err))
}

func (e *RevokeError) Unwrap() error { return e.Err }

// UnreachableCause says, in words fit for a tenant, why a cluster could not be reached: the kind
// of trouble, never an address or an account. The whole error is the platform team's, in the
// operator's log and the MySQLCluster's status.
func UnreachableCause(err error) string {
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
