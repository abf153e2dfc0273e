//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/test/stack"
)

// rotationGrace is the grace period of the rotation tests: long enough for the assertions made
// within it, short enough for five rotations in a test.
const rotationGrace = 6 * time.Second

// rotateAndWait asks for a rotation with the annotation and waits until the operator has recorded
// it, Ready.
func rotateAndWait(t *testing.T, db *dbv1.AppDatabase) *dbv1.AppDatabase {
	t.Helper()
	stamp := randomString()
	setAnnotation(t, db, dbv1.AnnotationRotatePassword, stamp)
	var got dbv1.AppDatabase
	stack.Eventually(t, "the rotation "+stamp, func() error {
		if err := k8s.Get(context.Background(), clientKey(db), &got); err != nil {
			return err
		}
		if r := got.Status.PasswordRotation; r == nil || r.LastHandledRotateAt != stamp || got.Status.Phase != dbv1.PhaseReady {
			return fmt.Errorf("phase %s, rotation %+v", got.Status.Phase, got.Status.PasswordRotation)
		}
		return nil
	})
	return &got
}

// credentialsIn reads the user and password a Secret holds, and remembers the password for the
// leak check.
func credentialsIn(t *testing.T, namespace, name string) (user, password string) {
	t.Helper()
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	secrets.Store(string(s.Data["password"]), namespace+"/"+name)
	return string(s.Data["username"]), string(s.Data["password"])
}

// Five rotations on demand while a client logs in every 50 ms with whatever the Secret holds:
// no login fails, each rotation switches the Secret to the other account of the pair, the
// previous credentials work through the grace period and are refused after it, and no more
// than the two accounts of each pair ever exist.
func TestRotationWithoutDowntime(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "rotation")
	grace := metav1.Duration{Duration: rotationGrace}
	db := newAppDB("rotation", "rotation", dbv1.AppDatabaseSpec{DBName: "rotation_db",
		Users:            []dbv1.AppDatabaseUser{{Name: "rotation_ro", Access: dbv1.AccessReadOnly}},
		PasswordRotation: &dbv1.PasswordRotation{GracePeriod: &grace}})
	create(t, db)
	db = waitReady(t, db)
	rootDB := root(t)
	for _, partner := range []string{"rotation_db_app_2", "rotation_ro_2"} {
		if !userExists(t, partner) {
			t.Fatalf("partner %s was not created", partner)
		}
		if !accountLocked(t, partner) {
			t.Errorf("partner %s is not locked before any rotation", partner)
		}
	}

	mainSecret := db.Spec.EffectiveSecretName()
	probe := stack.StartLoginProber(k8s, client.ObjectKey{Namespace: "rotation", Name: mainSecret}, 50*time.Millisecond,
		func(ctx context.Context, user, password string) error {
			return canLogin(ctx, user, password, "rotation_db")
		})
	start := time.Now()
	const rotations = 5
	for i := range rotations {
		oldUser, oldPassword := credentialsIn(t, "rotation", mainSecret)
		db = rotateAndWait(t, db)
		user, password := credentialsIn(t, "rotation", mainSecret)
		if user == oldUser || password == oldPassword {
			t.Fatalf("rotation %d: the Secret still names %s, or holds the same password", i+1, oldUser)
		}
		if want := map[string]string{"rotation_db_app": "rotation_db_app_2", "rotation_db_app_2": "rotation_db_app"}[oldUser]; user != want {
			t.Errorf("rotation %d: the Secret names %s after %s, want %s", i+1, user, oldUser, want)
		}
		if err := canLogin(ctx, oldUser, oldPassword, "rotation_db"); err != nil {
			t.Errorf("rotation %d: the previous credentials no longer log in during the grace period: %v", i+1, err)
		}
		eventually(t, "the previous credentials refused after the grace period", func() error {
			if err := canLogin(ctx, oldUser, oldPassword, "rotation_db"); err == nil {
				return fmt.Errorf("%s still logs in", oldUser)
			}
			return nil
		})
		if !accountLocked(t, oldUser) {
			t.Errorf("rotation %d: %s is refused but not locked", i+1, oldUser)
		}
		roUser, roPassword := credentialsIn(t, "rotation", db.Status.Accounts[1].SecretName)
		if err := canLogin(ctx, roUser, roPassword, "rotation_db"); err != nil {
			t.Errorf("rotation %d: the read-only account's new credentials: %v", i+1, err)
		}
	}
	attempts, failures := probe.Stop()
	t.Logf("%d rotations in %s: %d logins with the Secret's credentials, %d failed", rotations, time.Since(start).Round(time.Second), attempts, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d of %d logins failed during the rotations; the first: %s", len(failures), attempts, strings.Join(failures[:min(5, len(failures))], "; "))
	}
	if attempts < 100 {
		t.Errorf("only %d logins were tried", attempts)
	}

	var s corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "rotation", Name: mainSecret}, &s); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, s.Annotations[dbv1.AnnotationCredentialsRotated]); err != nil {
		t.Errorf("annotation %s: %v", dbv1.AnnotationCredentialsRotated, err)
	}
	if n := countOn(t, rootDB, "SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'rotation%'"); n != 4 {
		t.Errorf("%d accounts named rotation…, want the two pairs", n)
	}
	// Rotations and the locks at the ends of grace periods are planned, not repairs.
	if notes := driftEvents(t, "rotation", "rotation"); len(notes) > 0 {
		t.Errorf("DriftRepaired Events during rotations: %v", notes)
	}
	assertNoPasswordsIn(t, "rotation")
	deleteAndWait(t, db)
	if leaks := passwordLeaks(ctx); len(leaks) > 0 {
		t.Errorf("passwords in the operator's output: %v", leaks)
	}
}

// accountLocked reports whether MariaDB holds the account user@% as locked.
func accountLocked(t *testing.T, user string) bool {
	t.Helper()
	var locked string
	err := root(t).QueryRow("SELECT COALESCE(JSON_VALUE(Priv, '$.account_locked'), '0') FROM mysql.global_priv WHERE User = ? AND Host = '%'", user).Scan(&locked)
	if err != nil {
		t.Fatalf("reading whether %s is locked: %v", user, err)
	}
	return locked == "1"
}

// The operator is killed right after each step of a rotation in turn: once the partners have
// their new passwords, and once the first of two Secrets is switched. A restarted operator
// finishes the rotation without switching an account twice: every Secret's credentials log in,
// so do the ones they held before (the grace period runs), and each pair is two accounts.
func TestCrashDuringRotation(t *testing.T) {
	ensureNamespace(t, "rotation-crash")
	for _, step := range []string{"after-rotation-provision", "after-rotated-secret"} {
		t.Run(step, func(t *testing.T) {
			ctx := ctxFor(t)
			name := strings.ReplaceAll(strings.TrimPrefix(step, "after-"), "-", "_")
			db := newAppDB("rotation-crash", strings.ReplaceAll(name, "_", "-"), dbv1.AppDatabaseSpec{DBName: name,
				Users:            []dbv1.AppDatabaseUser{{Name: name + "_ro", Access: dbv1.AccessReadOnly}},
				PasswordRotation: &dbv1.PasswordRotation{}, DeletionPolicy: dbv1.DeletionPolicyDelete})
			create(t, db)
			db = waitReady(t, db)
			secretNames := []string{db.Status.Accounts[0].SecretName, db.Status.Accounts[1].SecretName}
			type credentials struct{ user, password string }
			var before []credentials
			for _, s := range secretNames {
				user, password := credentialsIn(t, "rotation-crash", s)
				before = append(before, credentials{user, password})
			}

			restartOperator(t, failpoint.EnvVar+"="+step)
			crashed := operator
			stamp := randomString()
			setAnnotation(t, db, dbv1.AnnotationRotatePassword, stamp)
			select {
			case <-crashed.Exited():
			case <-time.After(timeout):
				t.Fatalf("the operator did not reach failpoint %s", step)
			}

			restartOperator(t)
			var current dbv1.AppDatabase
			stack.Eventually(t, "the rotation finished after the crash", func() error {
				if err := k8s.Get(ctx, clientKey(db), &current); err != nil {
					return err
				}
				if r := current.Status.PasswordRotation; r == nil || r.LastHandledRotateAt != stamp || current.Status.Phase != dbv1.PhaseReady {
					return fmt.Errorf("phase %s, rotation %+v", current.Status.Phase, current.Status.PasswordRotation)
				}
				return nil
			})
			for i, s := range secretNames {
				user, password := credentialsIn(t, "rotation-crash", s)
				if user == before[i].user {
					t.Errorf("Secret %s still names %s", s, user)
				}
				if err := canLogin(ctx, user, password, name); err != nil {
					t.Errorf("Secret %s: %v", s, err)
				}
				if err := canLogin(ctx, before[i].user, before[i].password, name); err != nil {
					t.Errorf("Secret %s's previous credentials, during the grace period: %v", s, err)
				}
			}
			if n := countOn(t, root(t), "SELECT COUNT(*) FROM mysql.user WHERE User LIKE ?", name+"%"); n != 4 {
				t.Errorf("%d accounts named %s…, want the two pairs", n, name)
			}
			deleteAndWait(t, &current)
			if n := countOn(t, root(t), "SELECT COUNT(*) FROM mysql.user WHERE User LIKE ?", name+"%"); n != 0 {
				t.Errorf("%d accounts left after deletion with deletionPolicy Delete", n)
			}
		})
	}
}

// An account's password from a Secret the application team keeps: refused until the Secret
// carries the password-source label, then provisioned with it; a new password in the source is
// applied as a rotation without downtime; a password the cluster's policy refuses changes nothing.
func TestPasswordFromSecret(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "byo")
	first := "Brought-Own.Password-0001-abcdEFGH"
	secrets.Store(first, "byo source password")
	source := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "byo", Name: "byo-source"}, Data: map[string][]byte{"db-password": []byte(first)}}
	create(t, source)
	grace := metav1.Duration{Duration: rotationGrace}
	db := newAppDB("byo", "byo", dbv1.AppDatabaseSpec{DBName: "byo_db",
		PasswordFrom:     &dbv1.PasswordSource{SecretKeyRef: dbv1.PasswordSecretKeyRef{Name: "byo-source", Key: "db-password"}},
		PasswordRotation: &dbv1.PasswordRotation{GracePeriod: &grace}})
	create(t, db)
	failed := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonPasswordSourceNotFound)
	if !strings.Contains(failed.Status.Message, dbv1.LabelPasswordSource) {
		t.Errorf("message does not name the label: %s", failed.Status.Message)
	}
	if userExists(t, "byo_db_app") {
		t.Error("an account was created before the password source could be read")
	}

	setSource := func(change func(*corev1.Secret)) {
		t.Helper()
		if err := k8s.Get(ctx, clientKey(source), source); err != nil {
			t.Fatal(err)
		}
		change(source)
		if err := k8s.Update(ctx, source); err != nil {
			t.Fatal(err)
		}
	}
	setSource(func(s *corev1.Secret) { s.Labels = map[string]string{dbv1.LabelPasswordSource: "true"} })
	db = waitReady(t, db)
	user, password := credentialsIn(t, "byo", db.Spec.EffectiveSecretName())
	if user != "byo_db_app" || password != first {
		t.Errorf("the credentials Secret holds %s and not the source's password", user)
	}
	if err := canLogin(ctx, user, password, "byo_db"); err != nil {
		t.Fatal(err)
	}

	second := "Brought-Own.Password-0002-abcdEFGH"
	secrets.Store(second, "byo source password")
	probe := stack.StartLoginProber(k8s, client.ObjectKey{Namespace: "byo", Name: db.Spec.EffectiveSecretName()}, 50*time.Millisecond,
		func(ctx context.Context, user, password string) error { return canLogin(ctx, user, password, "byo_db") })
	setSource(func(s *corev1.Secret) { s.Data["db-password"] = []byte(second) })
	eventually(t, "the source's new password in the credentials Secret", func() error {
		if u, p := credentialsIn(t, "byo", db.Spec.EffectiveSecretName()); u != "byo_db_app_2" || p != second {
			return fmt.Errorf("the Secret names %s", u)
		}
		return nil
	})
	if err := canLogin(ctx, "byo_db_app", first, "byo_db"); err != nil {
		t.Errorf("the previous password no longer logs in during the grace period: %v", err)
	}
	eventually(t, "the previous password refused after the grace period", func() error {
		if canLogin(ctx, "byo_db_app", first, "byo_db") == nil {
			return fmt.Errorf("byo_db_app still logs in")
		}
		return nil
	})
	if attempts, failures := probe.Stop(); len(failures) > 0 {
		t.Errorf("%d of %d logins failed while the source's password was applied; the first: %s", len(failures), attempts, strings.Join(failures[:min(5, len(failures))], "; "))
	}

	secrets.Store("weakpassword", "byo refused source password")
	setSource(func(s *corev1.Secret) { s.Data["db-password"] = []byte("weakpassword") })
	refused := waitFor(t, clientKey(db), dbv1.PhaseFailed, dbv1.ReasonPasswordRejected)
	if !strings.Contains(refused.Status.Message, "password policy") || strings.Contains(refused.Status.Message, "weakpassword") {
		t.Errorf("message: %s", refused.Status.Message)
	}
	if err := canLogin(ctx, "byo_db_app_2", second, "byo_db"); err != nil {
		t.Errorf("a refused source password changed the account in use: %v", err)
	}
	assertNoPasswordsIn(t, "byo")
	deleteAndWait(t, db)
	if leaks := passwordLeaks(ctx); len(leaks) > 0 {
		t.Errorf("passwords in the operator's output: %v", leaks)
	}
}

// A schedule of one minute: status says when the first rotation is due, it happens then without
// being asked for, and the next one is scheduled a period later.
func TestScheduledRotation(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "rotation-schedule")
	db := newAppDB("rotation-schedule", "scheduled", dbv1.AppDatabaseSpec{DBName: "scheduled",
		PasswordRotation: &dbv1.PasswordRotation{Every: &metav1.Duration{Duration: time.Minute}, GracePeriod: &metav1.Duration{Duration: 5 * time.Second}},
		DeletionPolicy:   dbv1.DeletionPolicyDelete})
	create(t, db)
	db = waitReady(t, db)
	r := db.Status.PasswordRotation
	if r == nil || r.NextRotationTime == nil || !r.NextRotationTime.Time.Equal(db.CreationTimestamp.Add(time.Minute)) || r.LastRotationTime != nil {
		t.Fatalf("before the first rotation: %+v, want the next one a minute after creation (%s)", r, db.CreationTimestamp)
	}
	user, _ := credentialsIn(t, "rotation-schedule", db.Spec.EffectiveSecretName())
	var current dbv1.AppDatabase
	stack.Eventually(t, "the scheduled rotation", func() error {
		if err := k8s.Get(ctx, clientKey(db), &current); err != nil {
			return err
		}
		if r := current.Status.PasswordRotation; r == nil || r.LastRotationTime == nil {
			return fmt.Errorf("not rotated yet: %+v", r)
		}
		return nil
	})
	r = current.Status.PasswordRotation
	if r.LastRotationTime.Time.Before(db.CreationTimestamp.Add(time.Minute)) {
		t.Errorf("rotated at %s, before it was due", r.LastRotationTime)
	}
	if !r.NextRotationTime.Time.Equal(r.LastRotationTime.Add(time.Minute)) {
		t.Errorf("next rotation at %s, want a minute after %s", r.NextRotationTime, r.LastRotationTime)
	}
	newUser, password := credentialsIn(t, "rotation-schedule", db.Spec.EffectiveSecretName())
	if newUser == user {
		t.Errorf("the Secret still names %s", user)
	}
	if err := canLogin(ctx, newUser, password, "scheduled"); err != nil {
		t.Error(err)
	}
	deleteAndWait(t, &current)
}

// assertNoPasswordsIn checks the Events and AppDatabase statuses of a namespace for every password
// the suite has seen.
func assertNoPasswordsIn(t *testing.T, namespace string) {
	t.Helper()
	ctx := context.Background()
	var events eventsv1.EventList
	if err := k8s.List(ctx, &events, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var dbs dbv1.AppDatabaseList
	if err := k8s.List(ctx, &dbs, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range events.Items {
		texts = append(texts, e.Note)
	}
	for _, db := range dbs.Items {
		texts = append(texts, db.Status.Message, db.Status.ConnectionString)
	}
	all := strings.Join(texts, "\n")
	secrets.Range(func(k, v any) bool {
		if pw := k.(string); pw != "" && strings.Contains(all, pw) {
			t.Errorf("a password (%v) is in an Event or a status of namespace %s", v, namespace)
		}
		return true
	})
}

// A rotation asked for by annotation, whose pass ends after switching the Secret and before
// recording the rotation, and whose annotation is then removed: the tenant still rotates, so the
// account the Secret names is kept, and both it and the previous one log in.
func TestRotationConfigurationRemovedBeforeRecorded(t *testing.T) {
	ctx := ctxFor(t)
	ensureNamespace(t, "rotation-removed")
	db := newAppDB("rotation-removed", "removed", dbv1.AppDatabaseSpec{DBName: "removed", DeletionPolicy: dbv1.DeletionPolicyDelete})
	create(t, db)
	db = waitReady(t, db)
	oldUser, oldPassword := credentialsIn(t, "rotation-removed", db.Spec.EffectiveSecretName())

	restartOperator(t, failpoint.EnvVar+"=after-rotated-secret")
	crashed := operator
	setAnnotation(t, db, dbv1.AnnotationRotatePassword, "once")
	select {
	case <-crashed.Exited():
	case <-time.After(timeout):
		t.Fatal("the operator did not reach failpoint after-rotated-secret")
	}
	setAnnotation(t, db, dbv1.AnnotationRotatePassword, "")

	restartOperator(t)
	forceReconcile(t, db)
	db = waitReady(t, db)
	user, password := credentialsIn(t, "rotation-removed", db.Spec.EffectiveSecretName())
	if user != "removed_app_2" {
		t.Errorf("the Secret names %s, want the partner it was switched to", user)
	}
	if err := canLogin(ctx, user, password, "removed"); err != nil {
		t.Errorf("the Secret's credentials: %v", err)
	}
	if err := canLogin(ctx, oldUser, oldPassword, "removed"); err != nil {
		t.Errorf("the previous credentials, during the grace period: %v", err)
	}
	if db.Status.PasswordRotation == nil || db.Status.PasswordRotation.LastRotationTime == nil {
		t.Errorf("the rotation was not recorded: %+v", db.Status.PasswordRotation)
	}
	deleteAndWait(t, db)
}
