//go:build integration

package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

// The operator, holding only the shipped RBAC, provisions and deletes end to end: both ways of
// asking, a Secret in another namespace, Events, the finalizer, leader election.
func TestOperatorRunsWithItsServiceAccount(t *testing.T) {
	installBase(t)
	logStart := len(operatorLog.String())
	ensureOperator(t)
	ensureNamespace(t, "sa-target")
	ctx := context.Background()

	fromPlatform := &dbv1.AppDatabase{}
	fromPlatform.Namespace, fromPlatform.Name = platformNS, "sa-platform"
	fromPlatform.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "sa_platform", AppNamespace: "sa-target", DeletionPolicy: dbv1.DeletionPolicyDelete}
	selfService := &dbv1.AppDatabase{}
	selfService.Namespace, selfService.Name = "sa-target", "sa-self"
	selfService.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "sa_self"}
	for _, db := range []*dbv1.AppDatabase{fromPlatform, selfService} {
		if err := k8s.Create(ctx, db); err != nil {
			t.Fatal(err)
		}
		stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	}
	if err := k8s.Delete(ctx, fromPlatform); err != nil {
		t.Fatal(err)
	}
	stack.Eventually(t, "the Delete-policy AppDatabase to be gone and its database dropped", func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(fromPlatform), fromPlatform); !apierrors.IsNotFound(err) {
			return errString("still there")
		}
		if databaseExists(t, "sa_platform") {
			return errString("database still there")
		}
		return nil
	})
	stack.Eventually(t, "leader election to hold a Lease", func() error {
		out, err := kubectl(kube.Kubeconfig, nil, "get", "lease", "-n", platformNS, "db-concierge-operator.db.stillwaters.io")
		if err != nil {
			return errString(out)
		}
		return nil
	})
	assertNoForbidden(t, logStart)
}

// A developer bound by dev-rbac.yaml in team-a gets what the seed's security model promises, and
// no more.
func TestDeveloperAccess(t *testing.T) {
	installBase(t)
	ensureOperator(t)
	ensureNamespace(t, "team-a")
	ensureNamespace(t, "team-b")
	ctx := context.Background()

	// The example RoleBinding of dev-rbac.yaml binds namespace default; bind team-a instead.
	out := mustKubectl(t, nil, "create", "--dry-run=client", "-o", "yaml", "-f", "deploy/dev-rbac.yaml")
	mustKubectl(t, []byte(strings.ReplaceAll(out, "namespace: default", "namespace: team-a")), "apply", "-f", "-")
	dev, err := kube.AddUser("developer@example.com", "developers")
	if err != nil {
		t.Fatal(err)
	}
	teamBSecret := &corev1.Secret{}
	teamBSecret.Namespace, teamBSecret.Name = "team-b", "team-b-private"
	teamBSecret.StringData = map[string]string{"token": "x"}
	if err := k8s.Create(ctx, teamBSecret); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	// Allowed: an AppDatabase in team-a, and reading the Secret it produces.
	db := &dbv1.AppDatabase{}
	db.Namespace, db.Name = "team-a", "orders"
	db.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "team_a_orders"}
	if err := dev.Client.Create(ctx, db); err != nil {
		t.Fatalf("developer cannot create an AppDatabase in team-a: %v", err)
	}
	stack.WaitForAppDatabase(t, dev.Client, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	var creds corev1.Secret
	if err := dev.Client.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "team-a-orders-mysql-creds"}, &creds); err != nil {
		t.Fatalf("developer cannot read the credentials: %v", err)
	}
	// Allowed: changing the spec of their own AppDatabase, such as adding a read-only account;
	// what is immutable stays so for them as for anyone.
	patch := client.MergeFrom(db.DeepCopy())
	db.Spec.Users = []dbv1.AppDatabaseUser{{Name: "team_a_reports", Access: dbv1.AccessReadOnly}}
	if err := dev.Client.Patch(ctx, db, patch); err != nil {
		t.Fatalf("developer cannot add an account to their AppDatabase: %v", err)
	}
	stack.Eventually(t, "the added account's Secret, readable by the developer", func() error {
		return dev.Client.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "team-a-orders-team-a-reports-mysql-creds"}, &creds)
	})
	retained := db.DeepCopy()
	retained.Spec.DeletionPolicy = dbv1.DeletionPolicyRetain
	if err := dev.Client.Patch(ctx, retained, client.MergeFrom(db)); err != nil {
		t.Errorf("developer cannot change the deletion policy of their AppDatabase: %v", err)
	}
	adoptLater := retained.DeepCopy()
	metav1.SetMetaDataAnnotation(&adoptLater.ObjectMeta, dbv1.AnnotationAdopt, "true")
	if err := dev.Client.Patch(ctx, adoptLater, client.MergeFrom(retained)); err == nil ||
		!strings.Contains(err.Error(), "annotation db.stillwaters.io/adopt is honoured only on AppDatabases in the platform namespace") {
		t.Errorf("the adoption annotation added to an existing AppDatabase outside the platform namespace was not refused: %v", err)
	}
	renamed := db.DeepCopy()
	renamed.Spec.DBName = "team_b_orders"
	if err := dev.Client.Patch(ctx, renamed, client.MergeFrom(db)); err == nil || !strings.Contains(err.Error(), "dbName is immutable") {
		t.Errorf("developer could rename the database: %v", err)
	}

	// Refused: the rest.
	var s corev1.Secret
	refused := []struct {
		what string
		do   func() error
	}{
		{"read a Secret in team-b", func() error {
			return dev.Client.Get(ctx, client.ObjectKeyFromObject(teamBSecret), &s)
		}},
		{"read the admin Secret", func() error {
			return dev.Client.Get(ctx, client.ObjectKey{Namespace: platformNS, Name: cluster.LegacySecretName}, &s)
		}},
		{"list Secrets in team-a", func() error { return dev.Client.List(ctx, &corev1.SecretList{}, client.InNamespace("team-a")) }},
		{"create an AppDatabase in team-b", func() error {
			other := &dbv1.AppDatabase{}
			other.Namespace, other.Name = "team-b", "sneaky"
			other.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "sneaky"}
			return dev.Client.Create(ctx, other)
		}},
		{"write an AppDatabase's status", func() error {
			patch := client.MergeFrom(db.DeepCopy())
			db.Status.Phase = dbv1.PhaseFailed
			return dev.Client.Status().Patch(ctx, db, patch)
		}},
	}
	for _, r := range refused {
		if err := r.do(); !apierrors.IsForbidden(err) {
			t.Errorf("developer could %s (error: %v)", r.what, err)
		}
	}

	// Targeting team-b from team-a: RBAC allows the create, the admission policy refuses it, and
	// says why.
	across := &dbv1.AppDatabase{}
	across.Namespace, across.Name = "team-a", "across"
	across.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "across", AppNamespace: "team-b"}
	err = dev.Client.Create(ctx, across)
	if err == nil || !strings.Contains(err.Error(), "only AppDatabases in the platform namespace db-concierge may set spec.appNamespace") {
		t.Errorf("cross-namespace AppDatabase was not refused by the admission policy: %v", err)
	}
	adopting := &dbv1.AppDatabase{}
	adopting.Namespace, adopting.Name = "team-a", "adopting"
	adopting.Annotations = map[string]string{dbv1.AnnotationAdopt: "true"}
	adopting.Spec = dbv1.AppDatabaseSpec{ClusterRef: dbv1.DefaultClusterName, DBName: "someone_elses"}
	err = dev.Client.Create(ctx, adopting)
	if err == nil || !strings.Contains(err.Error(), "annotation db.stillwaters.io/adopt is honoured only on AppDatabases in the platform namespace") {
		t.Errorf("an adoption annotation outside the platform namespace was not refused by the admission policy: %v", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
