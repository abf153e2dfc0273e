//go:build integration

package flow

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// On a server that keeps two passwords per account, a rotation gives each account its new
// password and keeps the old one as its second until the grace period ends: no partner account.
// A pass that stops at any step leaves the password applications use logging in, and the next
// pass finishes the rotation with the password it set aside, not another.
func TestRotationWithSecondPasswords(t *testing.T) {
	t.Parallel()
	crash := errors.New("tenanttest: the connection was lost")
	cases := []struct {
		name string
		// arm makes the rotation's first pass stop at one step.
		arm func(e *env, stale *staleStatus)
	}{
		{"no stop", func(*env, *staleStatus) {}},
		{"stop after the new password is set aside", func(e *env, _ *staleStatus) { e.engine.FailNext("Provision", crash) }},
		{"stop after the account took it", func(e *env, _ *staleStatus) {
			e.engine.SetStepHook(func(step string) error {
				if step != "account:rot_app" {
					return nil
				}
				e.engine.SetStepHook(nil)
				return crash
			})
		}},
		{"stop after the Secret was switched", func(_ *env, stale *staleStatus) { stale.failNextWrite() }},
		{"the server's policy refuses the new password", func(e *env, _ *staleStatus) {
			// Once: the platform team then sets a policy the server takes.
			refused := false
			e.engine.PolicyRefuses = func(string) bool {
				if refused {
					return false
				}
				refused = true
				return true
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stale := &staleStatus{}
			e := newEnv(t, envOptions{secondPasswords: true, wrap: func(c client.Client) client.Client {
				stale.Client = c
				return stale
			}})
			const secretName = "rot-mysql-creds" //nolint:gosec // G101: the name of a Secret, not a credential
			db := e.ready("rot", dbv1.AppDatabaseSpec{DBName: "rot",
				PasswordRotation: &dbv1.PasswordRotation{GracePeriod: &metav1.Duration{Duration: 2 * time.Second}}})
			if s := db.Status.PasswordRotation; s == nil || s.Strategy != dbv1.RotationSecondPassword {
				t.Fatalf("status.passwordRotation %+v, want strategy SecondPassword", s)
			}
			old := string(e.secret(secretName).Data[credentials.KeyPassword])

			e.update("rot", func(db *dbv1.AppDatabase) {
				metav1.SetMetaDataAnnotation(&db.ObjectMeta, dbv1.AnnotationRotatePassword, "1")
			})
			tc.arm(e, stale)
			_, err := e.reconcile("rot")
			if stopped := err != nil || e.get("rot").Status.Phase == dbv1.PhaseFailed; stopped == (tc.name == "no stop") {
				t.Fatalf("the pass stopped: %v (%v), want %v", stopped, err, tc.name != "no stop")
			}
			// Whatever the stop, the Secret's credentials log in, and so do the old ones.
			s := e.secret(secretName)
			for _, pw := range []string{old, string(s.Data[credentials.KeyPassword])} {
				if err := e.engine.VerifyLogin(e.ctx, "rot_app", pw, "rot"); err != nil {
					t.Errorf("after the stop: %v", err)
				}
			}
			// A password set aside is the one the rotation finishes with: drawing another would
			// take the account through a second change. One the server refused is not kept.
			setAside := string(s.Data[credentials.KeyPendingPassword])
			if refusedByPolicy := strings.Contains(tc.name, "policy"); refusedByPolicy && setAside != "" {
				t.Error("the password the server's policy refused is still set aside")
			}
			for range 3 {
				if _, err := e.reconcile("rot"); err == nil {
					break
				}
			}

			db = e.get("rot")
			e.expectReady(db)
			s = e.secret(secretName)
			current := string(s.Data[credentials.KeyPassword])
			a, _ := e.engine.Account("rot_app")
			switch {
			case current == old:
				t.Fatal("the Secret's password did not change")
			case setAside != "" && current != setAside:
				t.Error("the rotation drew another password than the one it had set aside")
			case a.Password != current || a.SecondPassword != old:
				t.Errorf("the account has passwords (%t, %t), want the Secret's and the one before as its second",
					a.Password == current, a.SecondPassword == old)
			case string(s.Data[credentials.KeyUsername]) != "rot_app" || s.Data[credentials.KeyPendingPassword] != nil:
				t.Errorf("Secret: user %s, password set aside %t", s.Data[credentials.KeyUsername], s.Data[credentials.KeyPendingPassword] != nil)
			}
			if _, ok := e.engine.Account(dbv1.RotationPartner("rot_app")); ok {
				t.Error("a partner account was created")
			}
			r := db.Status.PasswordRotation
			if r.LastRotationTime == nil || r.PreviousValidUntil == nil || r.LastHandledRotateAt != "1" || s.Annotations[dbv1.AnnotationCredentialsRotated] == "" {
				t.Fatalf("the rotation is not recorded: %+v, Secret annotations %v", r, s.Annotations)
			}
			e.expectLedger(owned(db, "rot_app"))

			// After the grace period only the new password logs in.
			time.Sleep(time.Until(r.PreviousValidUntil.Time))
			e.reconcileOK("rot")
			if a, _ := e.engine.Account("rot_app"); a.Password != current || a.SecondPassword != "" {
				t.Errorf("after the grace period: new password %t, second password kept %t", a.Password == current, a.SecondPassword != "")
			}
			if err := e.engine.VerifyLogin(e.ctx, "rot_app", old, "rot"); err == nil {
				t.Error("the old password still logs in after the grace period")
			}
			e.expectReady(e.get("rot"))
		})
	}
}

// With a grace period of 0s (a leaked password) the previous password stops at the rotation.
func TestSecondPasswordWithoutGracePeriod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{secondPasswords: true})
	e.ready("cut", dbv1.AppDatabaseSpec{DBName: "cut",
		PasswordRotation: &dbv1.PasswordRotation{GracePeriod: &metav1.Duration{}}})
	old := string(e.secret("cut-mysql-creds").Data[credentials.KeyPassword])
	e.update("cut", func(db *dbv1.AppDatabase) {
		metav1.SetMetaDataAnnotation(&db.ObjectMeta, dbv1.AnnotationRotatePassword, "leaked")
	})
	e.reconcileOK("cut")
	current := string(e.secret("cut-mysql-creds").Data[credentials.KeyPassword])
	if a, _ := e.engine.Account("cut_app"); current == old || a.Password != current || a.SecondPassword != "" {
		t.Errorf("rotated %v, the account takes the new password %v, keeps a second %v", current != old, a.Password == current, a.SecondPassword != "")
	}
	if err := e.engine.VerifyLogin(e.ctx, "cut_app", old, "cut"); err == nil {
		t.Error("the leaked password still logs in")
	}
}
