package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/tenant"
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
		{"name taken", &tenant.ConflictError{Object: tenant.ObjectDatabase, Name: "app"}, dbv1.ReasonOwnershipConflict},
		{"foreign grant", &tenant.ForeignAccessError{Database: "app"}, dbv1.ReasonOwnershipConflict},
		{"adoption refused", &tenant.AdoptionError{Reason: "wrong password"}, dbv1.ReasonOwnershipConflict},
		{"database dropped by hand", &tenant.MissingError{Database: "app"}, dbv1.ReasonDatabaseMissing},
		{"password outside the alphabet", &tenant.PasswordError{Account: "app", Reason: "has a space"}, dbv1.ReasonPasswordRejected},
		{"server password policy", &tenant.PasswordPolicyError{Account: "app_ro", Reason: "too simple"}, dbv1.ReasonPasswordRejected},
		{"wrapped conflict", fmt.Errorf("claiming: %w", &tenant.ConflictError{Object: tenant.ObjectUser, Name: "app"}), dbv1.ReasonOwnershipConflict},
		{"connection refused", &tenant.Error{Kind: tenant.KindUnreachable, Cause: "it did not answer", Err: refused}, dbv1.ReasonClusterUnreachable},
		{"admin refused", &tenant.Error{Kind: tenant.KindAccessDenied, Err: errors.New("access denied")}, dbv1.ReasonAdminCredentialsInvalid},
		{"unknown charset", &tenant.Error{Kind: tenant.KindInvalidInput, Err: errors.New("unknown character set")}, dbv1.ReasonInvalidSpec},
		{"revoke refused", &tenant.Error{Kind: tenant.KindOther, Err: errors.New("cannot revoke")}, dbv1.ReasonProvisioningError},
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
