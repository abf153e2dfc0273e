package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// An account with passwordFrom takes its password from a Secret the application team keeps,
// rather than a generated one. The operator reads only Secrets labelled as password sources: the
// label is the consent of whoever writes the Secret, without which anyone allowed to create an
// AppDatabase could copy any Secret of the namespace into a credentials Secret; and the operator
// caches and watches those alone, not every Secret of the cluster.

// passwordSources is where the source Secrets are read: the cache of labelled Secrets, or the API.
func (r *AppDatabaseReconciler) passwordSources() client.Reader {
	if r.PasswordSources != nil {
		return r.PasswordSources
	}
	return r.APIReader
}

// sourcePasswords returns, by account, the password its passwordFrom names, "" for an account
// without one. A source that is missing or refused is an outcome the tenant can act on; err is
// a failure to read, retried.
func (r *AppDatabaseReconciler) sourcePasswords(ctx context.Context, db *dbv1.AppDatabase, accounts []account, policy credentials.Policy) ([]string, *outcome, error) {
	given := make([]string, len(accounts))
	for i, a := range accounts {
		if a.passwordFrom == nil {
			continue
		}
		password, o, err := r.sourcePassword(ctx, db, a, policy)
		if o != nil || err != nil {
			return nil, o, err
		}
		given[i] = password
	}
	return given, nil, nil
}

func (r *AppDatabaseReconciler) sourcePassword(ctx context.Context, db *dbv1.AppDatabase, a account, policy credentials.Policy) (string, *outcome, error) {
	ref := a.passwordFrom.SecretKeyRef
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: ref.Name}
	where := fmt.Sprintf("the passwordFrom of account %q names key %q of Secret %s", a.Name, ref.Key, key)
	var s corev1.Secret
	err := r.passwordSources().Get(ctx, key, &s)
	if err == nil && isTrimmed(&s) {
		// Too large to be cached whole: its data is read from the API.
		err = r.APIReader.Get(ctx, key, &s)
	}
	switch {
	case apierrors.IsNotFound(err) || err == nil && s.Labels[dbv1.LabelPasswordSource] != "true":
		o := failed(dbv1.ReasonPasswordSourceNotFound, where+", which does not exist or does not carry the label "+
			dbv1.LabelPasswordSource+"=true that lets AppDatabases use it; the operator goes on once it does")
		return "", &o, nil
	case err != nil:
		return "", nil, fmt.Errorf("reading the password source, Secret %s: %w", key, err)
	case s.Labels[dbv1.LabelManagedBy] == dbv1.ManagedByValue:
		o := failed(dbv1.ReasonInvalidSpec, where+", a Secret DB Concierge writes: name the Secret the password is kept in")
		return "", &o, nil
	}
	password := string(s.Data[ref.Key])
	if password == "" {
		o := failed(dbv1.ReasonPasswordSourceNotFound, where+", which has no such key, or an empty one")
		return "", &o, nil
	}
	if err := tenant.ValidatePassword(a.Name, password); err != nil {
		o := failed(dbv1.ReasonPasswordRejected, fmt.Sprintf("%s: %v; MySQL is left as it was", where, err))
		return "", &o, nil
	}
	if err := policy.Check(password); err != nil {
		o := failed(dbv1.ReasonPasswordRejected, fmt.Sprintf("%s: the password %v, which the cluster's password policy asks for; MySQL is left as it was", where, err))
		return "", &o, nil
	}
	return password, nil, nil
}
