package controller

import (
	"context"
	"errors"
	"net"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/mysql"
)

// TestClassify: each error gets the reason that says what to do about it, and classifying touches
// nothing (the reconciler has no registry here: marking a cluster unreachable would panic).
func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"Secret in the way", &secretConflictError{namespace: "app", name: "db", why: "it is not ours"}, dbv1.ReasonSecretConflict},
		{"unknown cluster", &cluster.UnknownClusterError{Name: "nope"}, dbv1.ReasonUnknownCluster},
		{"broken cluster configuration", &cluster.ConfigError{Err: errors.New("no password key")}, dbv1.ReasonAdminCredentialsInvalid},
		{"name taken", &mysql.ConflictError{Kind: mysql.ObjectDatabase, Name: "app"}, dbv1.ReasonOwnershipConflict},
		{"foreign grant", &mysql.ForeignGrantError{Database: "app"}, dbv1.ReasonOwnershipConflict},
		{"adoption refused", &mysql.AdoptionError{Reason: "wrong password"}, dbv1.ReasonOwnershipConflict},
		{"database dropped by hand", &mysql.DatabaseMissingError{Name: "app"}, dbv1.ReasonDatabaseMissing},
		{"password outside the alphabet", &mysql.PasswordError{Reason: "has a space"}, dbv1.ReasonPasswordRejected},
		{"server password policy", &mysql.PasswordPolicyError{Err: &gomysql.MySQLError{Number: 1819}}, dbv1.ReasonPasswordRejected},
		{"revoke refused", &mysql.RevokeError{User: "app", Err: &gomysql.MySQLError{Number: 1227}}, dbv1.ReasonProvisioningError},
		{"statement timed out", &mysql.StatementError{Err: context.DeadlineExceeded}, dbv1.ReasonProvisioningError},
		{"application login refused", &mysql.LoginError{User: "app", Err: &gomysql.MySQLError{Number: 1045}}, dbv1.ReasonProvisioningError},
		{"application login unreachable", &mysql.LoginError{User: "app", Err: refused}, dbv1.ReasonClusterUnreachable},
		{"connection refused", refused, dbv1.ReasonClusterUnreachable},
		{"admin refused", &gomysql.MySQLError{Number: 1045}, dbv1.ReasonAdminCredentialsInvalid},
		{"unknown charset", &gomysql.MySQLError{Number: 1115}, dbv1.ReasonInvalidSpec},
		{"anything else", errors.New("surprise"), dbv1.ReasonProvisioningError},
	}
	r := &AppDatabaseReconciler{}
	db := &dbv1.AppDatabase{Spec: dbv1.AppDatabaseSpec{ClusterRef: "main"}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r.classify(context.Background(), db, c.err); got.reason != c.want {
				t.Errorf("reason %s (%s), want %s", got.reason, got.message, c.want)
			}
		})
	}
}
