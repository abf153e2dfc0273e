package controller

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Changes to the application's Secret, alongside those MySQL reports.
const (
	secretCreated       tenant.ChangeKind = "secret_created"
	secretRestored      tenant.ChangeKind = "secret_restored"
	passwordRegenerated tenant.ChangeKind = "password_regenerated"
)

// secretConflictError says a Secret of the wanted name exists and is not this AppDatabase's.
type secretConflictError struct {
	namespace, name, why string
	// remedy says what can be done; by default, clear the name or choose another.
	remedy string
}

func (e *secretConflictError) Error() string {
	remedy := e.remedy
	if remedy == "" {
		remedy = "delete or rename it, or choose another spec.secretName"
	}
	return fmt.Sprintf("Secret %s/%s already exists and %s; it is left untouched: %s", e.namespace, e.name, e.why, remedy)
}

func ownerOf(db *dbv1.AppDatabase) string { return db.Namespace + "/" + db.Name }

// secretMeta is the metadata the operator puts on every Secret it manages.
func secretMeta(db *dbv1.AppDatabase) (labels, annotations map[string]string) {
	return map[string]string{
			dbv1.LabelManagedBy:            dbv1.ManagedByValue,
			dbv1.LabelAppDatabaseName:      db.Name,
			dbv1.LabelAppDatabaseNamespace: db.Namespace,
		}, map[string]string{
			dbv1.AnnotationOwner:    ownerOf(db),
			dbv1.AnnotationOwnerUID: string(db.UID),
		}
}

// checkSecretOwner refuses a Secret that is not this AppDatabase's: not created by DB Concierge,
// created for another AppDatabase, or created for an earlier AppDatabase of the same name (one
// deleted with deletionPolicy Retain), whose password must not become another user's. Names are
// reused; the UID recorded on the Secret tells the owners apart.
//
// A Secret of this AppDatabase's name that records no UID was written by an earlier version of
// DB Concierge; it is taken as this AppDatabase's only if this one has been Ready (its connection
// string is set), that is, only if it had a Secret, this one.
//
// Adopting is the platform team's step: it takes a Secret the seed's operator made (labelled, no
// owner recorded) and one whose recorded owner no longer exists; ownerGone answers for the latter.
func checkSecretOwner(s *corev1.Secret, db *dbv1.AppDatabase, adopting bool, ownerGone func(tenant.Owner) bool) error {
	if s.Labels[dbv1.LabelManagedBy] != dbv1.ManagedByValue {
		return &secretConflictError{namespace: s.Namespace, name: s.Name, why: "was not created by DB Concierge"}
	}
	adopt := fmt.Sprintf("annotation %s=true on an AppDatabase in the platform namespace", dbv1.AnnotationAdopt)
	owner, recorded := s.Annotations[dbv1.AnnotationOwner]
	uid := s.Annotations[dbv1.AnnotationOwnerUID]
	if !recorded {
		if adopting {
			return nil
		}
		return &secretConflictError{namespace: s.Namespace, name: s.Name, why: "was made by an earlier operator (it records no owner); " +
			"the platform team takes such tenants over with " + adopt}
	}
	if owner != ownerOf(db) {
		namespace, name, _ := splitOwner(owner)
		if adopting && ownerGone(tenant.Owner{UID: uid, Namespace: namespace, Name: name}) {
			return nil
		}
		return &secretConflictError{namespace: s.Namespace, name: s.Name, why: "belongs to another AppDatabase"}
	}
	switch {
	case uid == string(db.UID):
		return nil
	case adopting:
		// The recorded owner had this name and another UID: it is gone.
		return nil
	case uid == "" && db.Status.ConnectionString != "":
		return nil
	}
	earlier := "belongs to an earlier AppDatabase of the same name (deleted with deletionPolicy Retain), whose password is not given to another user"
	if uid == "" {
		earlier = "records no AppDatabase UID (an earlier version of DB Concierge wrote it) and this AppDatabase has never been Ready, " +
			"so it may belong to an earlier AppDatabase of the same name, whose password is not given to another user"
	}
	return &secretConflictError{namespace: s.Namespace, name: s.Name, why: earlier,
		remedy: "delete it, or the platform team adopts it with " + adopt}
}

// secretOwnerGone reports whether the AppDatabase recorded on a Secret no longer exists. A Secret
// written before UIDs were recorded names its owner only by namespace and name: that owner is
// gone only if no AppDatabase has that name.
func (r *AppDatabaseReconciler) secretOwnerGone(ctx context.Context) func(tenant.Owner) bool {
	return func(o tenant.Owner) bool {
		if o.UID != "" {
			return r.ownerGone(ctx, o)
		}
		var current dbv1.AppDatabase
		return apierrors.IsNotFound(r.APIReader.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, &current))
	}
}

// readSecret reads a Secret through the cache; one the cache holds only in part, being larger than
// any Secret DB Concierge writes (see transformSecret), is read from the API. The Secret it
// returns is always whole, so it can be compared and updated.
func (r *AppDatabaseReconciler) readSecret(ctx context.Context, key client.ObjectKey, secret *corev1.Secret) error {
	if err := r.Client.Get(ctx, key, secret); err != nil || !isTrimmed(secret) {
		return err
	}
	*secret = corev1.Secret{}
	return r.APIReader.Get(ctx, key, secret)
}

// existingSecret returns the account's Secret, name, if there is one, or a *secretConflictError if
// it is not this AppDatabase's. A Secret missing from the cache (which holds only managed Secrets)
// is looked up in the API: it may be someone else's, or just created.
func (r *AppDatabaseReconciler) existingSecret(ctx context.Context, db *dbv1.AppDatabase, name string, adopting bool) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: name}
	var secret corev1.Secret
	err := r.readSecret(ctx, key, &secret)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, key, &secret)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	if err := checkSecretOwner(&secret, db, adopting, r.secretOwnerGone(ctx)); err != nil {
		return nil, err
	}
	return &secret, nil
}

// managedSecret returns the account's Secret, name, if the cache of managed Secrets holds it, or a
// *secretConflictError if that one belongs to another AppDatabase. A Secret DB Concierge did not
// create is not in the cache; creating ours finds it.
func (r *AppDatabaseReconciler) managedSecret(ctx context.Context, db *dbv1.AppDatabase, name string) (*corev1.Secret, error) {
	var secret corev1.Secret
	err := r.readSecret(ctx, client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: name}, &secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s/%s: %w", db.EffectiveAppNamespace(), name, err)
	}
	if err := checkSecretOwner(&secret, db, false, r.secretOwnerGone(ctx)); err != nil {
		return nil, err
	}
	return &secret, nil
}

// ensureSecret makes sure an account's Secret holds its connection details (conn), and returns the
// password it holds. The Secret is the source of truth for the password: an existing one is kept;
// a new one is generated, under policy, only when there is no Secret (or no password in it), or
// when the account was never provisioned and its password no longer meets policy (nobody can have
// logged in with it); it is written here, before MySQL is told. existing is what existingSecret
// found. It returns what it changed. A password a rotation set aside stays for the rotation to
// finish (see rotation.go).
func (r *AppDatabaseReconciler) ensureSecret(ctx context.Context, db *dbv1.AppDatabase, conn credentials.Connection, a account, existing *corev1.Secret, adopting bool, policy credentials.Policy, given string) (string, []tenant.Change, error) {
	name := a.secretName
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: name}
	if existing == nil {
		created, password, err := r.createSecret(ctx, db, conn, key, policy, given)
		if err != nil || created {
			return password, []tenant.Change{{Kind: secretCreated, Detail: "created Secret " + key.String()}}, err
		}
		// Created by someone else since we looked: check it again.
		if existing, err = r.existingSecret(ctx, db, name, adopting); err != nil {
			return "", nil, err
		}
		if existing == nil {
			return "", nil, fmt.Errorf("secret %s appeared and vanished while being created", key)
		}
	}

	if isTrimmed(existing) {
		// The cache's partial copy has no data: its password would be taken for none, and an
		// update from it would wipe the Secret.
		return "", nil, fmt.Errorf("secret %s was read from the cache in part only; it is not used", key)
	}

	var changes []tenant.Change
	var err error
	conn.Password = string(existing.Data[credentials.KeyPassword])
	switch {
	case conn.Password == "":
		if conn.Password, err = passwordOf(policy, given); err != nil {
			return "", nil, err
		}
		changes = append(changes, tenant.Change{Kind: passwordRegenerated, Detail: "generated a new password: the Secret had none"})
		r.Recorder.Eventf(db, nil, corev1.EventTypeWarning, "PasswordRegenerated", "Reconcile",
			"Secret %s had no password; a new one was generated and the MySQL user is being set to it", key)
	case given == "" && !adopting && !hadSecret(db, name) && policy.Check(conn.Password) != nil:
		// Generated under an earlier policy that the server refused, most likely: the platform
		// team has since set one the server takes.
		if conn.Password, err = policy.Generate(); err != nil {
			return "", nil, err
		}
		changes = append(changes, tenant.Change{Kind: passwordRegenerated, Detail: "generated a new password under the cluster's password policy"})
	}
	data, labels, annotations, err := secretContent(db, conn)
	if err != nil {
		return "", changes, err
	}
	if a.dual && a.pending != "" {
		data[credentials.KeyPendingPassword] = []byte(a.pending)
	}
	if secretHolds(existing, data, labels, annotations) {
		return conn.Password, changes, nil
	}
	// A Secret written by an earlier version only gets what that version did not write (keys,
	// the owner's UID), or one a template adds to; a changed spec (a template's) is applied: in
	// neither was anything changed by hand, so no repair.
	adding := onlyAdds(existing, data, labels, annotations) || db.Generation != db.Status.ObservedGeneration
	updated := existing.DeepCopy()
	updated.Data = data
	for k, v := range labels {
		metav1.SetMetaDataLabel(&updated.ObjectMeta, k, v)
	}
	for k, v := range annotations {
		metav1.SetMetaDataAnnotation(&updated.ObjectMeta, k, v)
	}
	start := time.Now()
	err = r.Client.Update(ctx, updated)
	metrics.ObserveStep(metrics.StepSecretWrite, start)
	if err != nil {
		return "", nil, fmt.Errorf("updating Secret %s: %w", key, err)
	}
	logf.FromContext(ctx).Info("Updated Secret", "secret", key.String())
	if adding {
		return conn.Password, changes, nil
	}
	return conn.Password, append(changes, tenant.Change{Kind: secretRestored, Detail: "restored the connection details in Secret " + key.String()}), nil
}

// createSecret creates the Secret with a fresh password. created is false when a Secret of that
// name turned out to exist.
func (r *AppDatabaseReconciler) createSecret(ctx context.Context, db *dbv1.AppDatabase, conn credentials.Connection, key client.ObjectKey, policy credentials.Policy, given string) (created bool, password string, err error) {
	if conn.Password, err = passwordOf(policy, given); err != nil {
		return false, "", err
	}
	data, labels, annotations, err := secretContent(db, conn)
	if err != nil {
		return false, "", err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: labels, Annotations: annotations},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
	start := time.Now()
	err = r.Client.Create(ctx, secret)
	metrics.ObserveStep(metrics.StepSecretWrite, start)
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, "", nil
	case err != nil:
		return false, "", fmt.Errorf("creating Secret %s: %w", key, err)
	}
	logf.FromContext(ctx).Info("Created Secret", "secret", key.String())
	if hadSecret(db, key.Name) {
		// The Secret existed and has been deleted. MySQL keeps only a hash, so the old password
		// cannot be recovered: the user is set to the new one.
		r.Recorder.Eventf(db, nil, corev1.EventTypeWarning, "PasswordRegenerated", "Reconcile",
			"Secret %s was deleted; the old password cannot be recovered, so a new one was generated and the MySQL user is being set to it; applications must restart to read it", key)
	}
	return true, conn.Password, nil
}

// passwordOf is the password given by the account's source, or else a new one.
func passwordOf(policy credentials.Policy, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	return policy.Generate()
}

// hadSecret reports whether the account whose Secret is name was provisioned before: the main
// one once the tenant has been Ready (only then is the connection string set), an extra one once
// status.accounts lists it. An account just added to the spec gets its first Secret.
func hadSecret(db *dbv1.AppDatabase, name string) bool {
	if name == db.Spec.EffectiveSecretName() {
		return db.Status.ConnectionString != ""
	}
	for _, a := range db.Status.Accounts {
		if a.SecretName == name {
			return true
		}
	}
	return false
}

func managedSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{dbv1.LabelManagedBy: dbv1.ManagedByValue})
}

func splitOwner(owner string) (namespace, name string, ok bool) {
	namespace, name, ok = strings.Cut(owner, "/")
	return namespace, name, ok && namespace != "" && name != ""
}

// secretHolds reports whether s holds exactly data and carries labels and annotations. It is the
// check every drift pass makes, so it compares in place rather than copying the Secret.
// onlyAdds reports whether s lacks some of data, labels and annotations, but holds no other value
// than they have.
func onlyAdds(s *corev1.Secret, data map[string][]byte, wantLabels, wantAnnotations map[string]string) bool {
	if len(s.StringData) != 0 {
		return false
	}
	for k, v := range s.Data {
		if want, ok := data[k]; !ok || !bytes.Equal(want, v) {
			return false
		}
	}
	for k, v := range wantLabels {
		if have, ok := s.Labels[k]; ok && have != v {
			return false
		}
	}
	for k, v := range wantAnnotations {
		if have, ok := s.Annotations[k]; ok && have != v {
			return false
		}
	}
	return true
}

// secretHolds reports whether s holds data, labels and annotations, but for the keys of
// credentials.LaterKeys it has never had.
func secretHolds(s *corev1.Secret, data map[string][]byte, wantLabels, wantAnnotations map[string]string) bool {
	if len(s.StringData) != 0 {
		return false
	}
	held := 0
	for k, v := range data {
		have, ok := s.Data[k]
		switch {
		case !ok && slices.Contains(credentials.LaterKeys, k):
			continue
		case !ok || !bytes.Equal(have, v):
			return false
		}
		held++
	}
	if held != len(s.Data) {
		return false
	}
	for k, v := range wantLabels {
		if s.Labels[k] != v {
			return false
		}
	}
	for k, v := range wantAnnotations {
		if s.Annotations[k] != v {
			return false
		}
	}
	return true
}
