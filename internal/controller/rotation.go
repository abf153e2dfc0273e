package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/failpoint"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// A rotation gives every account of an AppDatabase new credentials without a moment in which
// the application cannot log in. MariaDB has no second password per account, so each account
// takes turns with a partner of the same access: a rotation sets a new password on the idle one,
// then switches the Secret to it — user name and password in one write, so that no reader sees
// one without the other. The account the Secret named before keeps logging in for the grace
// period, then is locked, until the next rotation gives it a new password in turn.
//
// The Secret says which account of a pair is in use, and status.accounts which one was when the
// last rotation was recorded: a Secret that names the other one while a rotation is due was
// switched by a pass that ended before recording it, and is not switched back.
//
// MySQL 8.0.14 and later keep a second password per account, and there each account rotates
// alone (dbv1.RotationSecondPassword): the new password is first set aside in the Secret, then
// given to the account with ALTER USER ... RETAIN CURRENT PASSWORD, then written into the
// Secret's password in place of the old one; the old one is discarded when the grace period ends.
// The password set aside lets a pass that ends before the Secret is switched be finished with the
// same password: drawing another would retain the new one and lose the one applications use. A
// Secret whose rotation time is later than the status's was switched by a pass that ended before
// recording it.

// defaultGracePeriod is how long previous credentials last when passwordRotation sets none.
const defaultGracePeriod = time.Hour

// rotates reports whether an AppDatabase's accounts have partners: rotation is configured, asked
// for, or happened before (the partners are kept once they exist), or a password comes from a
// Secret whose changes are applied as rotations.
func rotates(db *dbv1.AppDatabase) bool {
	if db.Spec.PasswordRotation != nil || db.Annotations[dbv1.AnnotationRotatePassword] != "" || db.Status.PasswordRotation != nil || db.Spec.PasswordFrom != nil {
		return true
	}
	for _, u := range db.Spec.Users {
		if u.PasswordFrom != nil {
			return true
		}
	}
	return false
}

// secondPasswordsFor reports whether a rotating AppDatabase keeps previous passwords as second
// ones: its server keeps them, and its accounts do not take turns with partners already (status
// records a partner in use, or the grace period of an alternating rotation runs). A Secret naming
// a partner is checked once read (secretsNamePartners).
func secondPasswordsFor(db *dbv1.AppDatabase, serverKeeps bool, now time.Time) bool {
	if !serverKeeps {
		return false
	}
	if s := db.Status.PasswordRotation; s != nil && s.Strategy != dbv1.RotationSecondPassword && inGrace(db, now) {
		return false
	}
	for _, a := range db.Status.Accounts {
		if a.User != "" && a.User != a.Name {
			return false
		}
	}
	return true
}

// strategyOf names the strategy of a tenant that rotates (or not: "").
func strategyOf(rotating, dual bool) dbv1.RotationStrategy {
	switch {
	case dual:
		return dbv1.RotationSecondPassword
	case rotating:
		return dbv1.RotationAlternatingAccounts
	}
	return ""
}

// recordedStrategy is the strategy the last pass recorded; what a drift sweep expects.
func recordedStrategy(db *dbv1.AppDatabase) dbv1.RotationStrategy {
	if s := db.Status.PasswordRotation; s != nil && s.Strategy == dbv1.RotationSecondPassword {
		return dbv1.RotationSecondPassword
	}
	return dbv1.RotationAlternatingAccounts
}

// useSecondPasswords makes the accounts rotate alone, and reads from each one's Secret (nil for
// none) the password a rotation set aside and when the Secret was last rotated.
func useSecondPasswords(accounts []account, secrets []*corev1.Secret) {
	for i := range accounts {
		accounts[i].dual, accounts[i].partner = true, ""
		if secrets != nil {
			accounts[i].readRotation(secrets[i])
		}
	}
}

// readRotation reads from the account's Secret (nil for none) the password a rotation set aside
// and when the Secret was last rotated.
func (a *account) readRotation(s *corev1.Secret) {
	a.pending, a.rotatedAt = "", nil
	if s == nil {
		return
	}
	a.pending = string(s.Data[credentials.KeyPendingPassword])
	if at, err := time.Parse(time.RFC3339, s.Annotations[dbv1.AnnotationCredentialsRotated]); err == nil {
		rotated := metav1.NewTime(at)
		a.rotatedAt = &rotated
	}
}

// gracePeriod is how long the previous credentials last after a rotation.
func gracePeriod(db *dbv1.AppDatabase) time.Duration {
	if r := db.Spec.PasswordRotation; r != nil && r.GracePeriod != nil {
		return r.GracePeriod.Duration
	}
	return defaultGracePeriod
}

// rotationRequested returns the value of an annotation not yet acted on, or "".
func rotationRequested(db *dbv1.AppDatabase) string {
	v := db.Annotations[dbv1.AnnotationRotatePassword]
	if s := db.Status.PasswordRotation; v != "" && s != nil && s.LastHandledRotateAt == v {
		return ""
	}
	return v
}

// nextScheduled is when the next scheduled rotation is due after the rotations s records (the
// status's, or the one a pass is about to write); nil without a schedule.
func nextScheduled(db *dbv1.AppDatabase, s *dbv1.PasswordRotationStatus) *metav1.Time {
	r := db.Spec.PasswordRotation
	if r == nil || r.Every == nil || r.Every.Duration <= 0 {
		return nil
	}
	base := db.CreationTimestamp
	if s != nil && s.LastRotationTime != nil {
		base = *s.LastRotationTime
	}
	next := metav1.NewTime(base.Add(r.Every.Duration))
	return &next
}

// inGrace reports whether the previous credentials still log in at now.
func inGrace(db *dbv1.AppDatabase, now time.Time) bool {
	s := db.Status.PasswordRotation
	return s != nil && s.PreviousValidUntil != nil && now.Before(s.PreviousValidUntil.Time)
}

// rotationDue reports whether a pass at now rotates: one was asked for or is scheduled, the
// tenant was provisioned before (a new one gets fresh credentials anyway), and no grace period
// runs (a rotation then would take away credentials that applications may still use).
func rotationDue(db *dbv1.AppDatabase, now time.Time) bool {
	if db.Status.ConnectionString == "" || inGrace(db, now) {
		return false
	}
	if rotationRequested(db) != "" {
		return true
	}
	next := nextScheduled(db, db.Status.PasswordRotation)
	return next != nil && !now.Before(next.Time)
}

// rotationWake is how long until a Ready tenant's next rotation step (a rotation due, or the end
// of a grace period); 0 when it has none.
func rotationWake(db *dbv1.AppDatabase, now time.Time) time.Duration {
	var wake time.Duration
	consider := func(t *metav1.Time) {
		if t == nil || !t.After(now) {
			return
		}
		if d := t.Sub(now); wake == 0 || d < wake {
			wake = d
		}
	}
	if s := db.Status.PasswordRotation; s != nil {
		consider(s.PreviousValidUntil)
	}
	consider(nextScheduled(db, db.Status.PasswordRotation))
	return wake
}

// rotationStatus is status.passwordRotation after a pass at now that rotated or not, by
// strategy; nil for a tenant that does not rotate (no strategy).
func rotationStatus(db *dbv1.AppDatabase, now time.Time, strategy dbv1.RotationStrategy, rotated bool) *dbv1.PasswordRotationStatus {
	if strategy == "" {
		return nil
	}
	s := &dbv1.PasswordRotationStatus{}
	if db.Status.PasswordRotation != nil {
		s = db.Status.PasswordRotation.DeepCopy()
	}
	s.Strategy = strategy
	requested := db.Annotations[dbv1.AnnotationRotatePassword]
	switch {
	case rotated:
		at := metav1.NewTime(now.Truncate(time.Second))
		s.LastRotationTime, s.PreviousValidUntil = &at, graceEnd(db, now)
		s.LastHandledRotateAt = requested
	case db.Status.ConnectionString == "":
		// The first credentials are new: a rotation asked for before them is done.
		s.LastHandledRotateAt = requested
	}
	s.NextRotationTime = nextScheduled(db, s)
	return s
}

// graceEnd is when the accounts a rotation at now switched away from stop logging in.
func graceEnd(db *dbv1.AppDatabase, now time.Time) *metav1.Time {
	until := metav1.NewTime(now.Truncate(time.Second).Add(gracePeriod(db)))
	return &until
}

// secretsNamePartners reports whether a Secret names its account's partner: a tenant whose
// rotation configuration went away before its first rotation was recorded still rotates.
func secretsNamePartners(accounts []account, secrets []*corev1.Secret) bool {
	for i, a := range accounts {
		if secretUser(secrets[i]) == dbv1.RotationPartner(a.Name) {
			return true
		}
	}
	return false
}

// withPartners gives each account of a rotating AppDatabase its partner.
func withPartners(accounts []account) {
	for i := range accounts {
		accounts[i].partner = dbv1.RotationPartner(accounts[i].Name)
	}
}

// checkPartners refuses a partner named like another account of the tenant, or two accounts
// sharing one (their names agree on the first 30 characters).
func checkPartners(accounts []account) error {
	names := map[string]string{}
	for _, a := range accounts {
		names[strings.ToLower(a.Name)] = a.Name
	}
	for _, a := range accounts {
		if a.partner == "" {
			continue
		}
		key := strings.ToLower(a.partner)
		if other, taken := names[key]; taken {
			return fmt.Errorf("account %q takes turns with an account named %q across password rotations, "+
				"which is another account of this AppDatabase (%q): rename one of them", a.Name, a.partner, other)
		}
		names[key] = a.Name
	}
	return nil
}

// activeUser is the account of a's pair that its Secret names; a's own name when the Secret is new
// or names neither.
func activeUser(a account, secretUser string) string {
	if a.partner != "" && secretUser == a.partner {
		return a.partner
	}
	return a.Name
}

// switchedSince reports whether a's Secret holds credentials that no recorded rotation gave it:
// it names another account than status.accounts recorded, or (second passwords) it was rotated
// after the last rotation recorded. While a rotation is due, the pass that switched it ended
// before recording the rotation.
func switchedSince(db *dbv1.AppDatabase, a account) bool {
	if a.dual {
		var last *metav1.Time
		if s := db.Status.PasswordRotation; s != nil {
			last = s.LastRotationTime
		}
		return a.rotatedAt != nil && (last == nil || a.rotatedAt.After(last.Time))
	}
	for _, s := range db.Status.Accounts {
		if s.Name == a.Name {
			recorded := s.User
			if recorded == "" {
				recorded = s.Name
			}
			return recorded != a.user
		}
	}
	return false
}

// idleLogsIn reports whether the idle account of a's pair may log in: it is the one the Secret
// named before a rotation of this account — one switching now, one switched by a pass that ended
// before recording it, or one recorded whose grace period has not ended. A grace period of 0s
// locks it at once.
func idleLogsIn(db *dbv1.AppDatabase, a account, switchingNow bool, now time.Time) bool {
	if switchingNow || switchedSince(db, a) {
		return gracePeriod(db) > 0
	}
	return a.previousValidUntil != nil && now.Before(a.previousValidUntil.Time)
}

// idle is the account of a's pair that the Secret does not name.
func (a account) idle() string {
	if a.user == a.partner {
		return a.Name
	}
	return a.partner
}

// engineSpec is what the engine provisions for the accounts, whose user and password are those of
// their Secrets: each account in use, then, for a rotating tenant, each idle partner, locked
// unless its own grace period runs (idleLogsIn). The accounts in switching take over from their
// partners with the new passwords given (by index). throwaway draws the password an idle account
// is created with, if it must be.
func engineSpec(db *dbv1.AppDatabase, accounts []account, switching map[int]string, now time.Time, throwaway func() (string, error)) (tenant.Spec, error) {
	spec := tenantOf(db, accounts)
	var standby []tenant.Account
	for i, a := range accounts {
		spec.Accounts[i].Name = a.user
		if a.dual {
			password, switchingNow := switching[i]
			second := &spec.Accounts[i]
			switch {
			case switchingNow && gracePeriod(db) == 0:
				// No grace period: the previous password is not kept at all.
				second.Password, second.Second = password, tenant.SecondDiscarded
			case switchingNow:
				second.Password, second.Previous, second.Second = password, a.Password, tenant.SecondRetained
			case idleLogsIn(db, a, false, now):
				second.Second = tenant.SecondKept
			default:
				second.Second = tenant.SecondDiscarded
			}
			continue
		}
		if a.partner == "" {
			continue
		}
		password, switchingNow := switching[i]
		idle := tenant.Account{Name: a.idle(), Access: a.Access, MaxUserConnections: a.MaxUserConnections, Standby: true,
			Locked: !idleLogsIn(db, a, switchingNow, now)}
		if switchingNow {
			spec.Accounts[i].Name, spec.Accounts[i].Password = a.idle(), password
			idle.Name = a.user
		}
		// A password for creating the idle account, never stored: nobody logs in with it.
		var err error
		if idle.Password, err = throwaway(); err != nil {
			return tenant.Spec{}, err
		}
		standby = append(standby, idle)
	}
	spec.Accounts = append(spec.Accounts, standby...)
	return spec, nil
}

// noPassword stands in for throwaway passwords where a spec only names accounts (a claim, a
// sweep's comparison).
func noPassword() (string, error) { return "", nil }

// secretUser is the user name a Secret holds; "" for none.
func secretUser(s *corev1.Secret) string {
	if s == nil {
		return ""
	}
	return string(s.Data[credentials.KeyUsername])
}

// newPasswords returns, by index, the accounts that switch to their partners in this pass, with
// their new passwords: when a rotation is due, a drawn one for each account that has not switched
// yet; and the password of its source for an account whose source (given) holds another than its
// Secret, unless a grace period runs. An account whose password comes from a source is rotated
// by its source alone.
func newPasswords(db *dbv1.AppDatabase, accounts []account, given []string, due, grace bool, policy credentials.Policy) (map[int]string, error) {
	switching := map[int]string{}
	for i, a := range accounts {
		switch {
		case recordedAccount(db, a.Name) == nil:
			// Never provisioned: its credentials are new anyway.
		case given[i] != "":
			if sourceChanged(db, a, given[i], grace) {
				switching[i] = given[i]
			}
		case a.dual && a.pending != "" && a.pending != a.Password:
			// Set aside by a rotation that ended before the Secret took it: the account may
			// already log in with it, and must not be given another.
			switching[i] = a.pending
		case due && !switchedSince(db, a):
			password, err := policy.Generate()
			if err != nil {
				return nil, err
			}
			switching[i] = password
		}
	}
	return switching, nil
}

// sourceChanged reports whether an account's source holds another password than its Secret, to
// be applied now: not during a grace period, nor while a switch of the account waits to be
// recorded (its previous credentials would get none).
func sourceChanged(db *dbv1.AppDatabase, a account, given string, grace bool) bool {
	return given != "" && given != a.Password && !grace && !switchedSince(db, a) && recordedAccount(db, a.Name) != nil
}

// switchSecrets points the Secret of each account in switching at its partner, which now logs in
// with the new password, and records the switch in accounts.
func (r *AppDatabaseReconciler) switchSecrets(ctx context.Context, db *dbv1.AppDatabase, accounts []account, switching map[int]string, conn credentials.Connection, at time.Time) error {
	for i := range accounts {
		password, ok := switching[i]
		if !ok {
			continue
		}
		a := &accounts[i]
		next := conn
		next.User, next.Password = a.idle(), password
		if a.dual {
			next.User = a.user
		}
		if err := r.writeRotatedSecret(ctx, db, a.secretName, next, at); err != nil {
			return err
		}
		failpoint.Hit("after-rotated-secret")
		a.user, a.Password, a.previousValidUntil = next.User, password, graceEnd(db, at)
	}
	if len(switching) > 0 {
		r.Recorder.Eventf(db, nil, corev1.EventTypeNormal, eventPasswordRotated, "Rotate",
			"New credentials in the Secrets of %d account(s); the previous ones log in until %s", len(switching),
			at.Add(gracePeriod(db)).UTC().Format(time.RFC3339))
	}
	return nil
}

// setPasswordsAside writes the new password of each account in switching that rotates with a
// second password into its Secret's pending key, unless it is there already: the account does
// not take it before it is kept (see the top of this file).
func (r *AppDatabaseReconciler) setPasswordsAside(ctx context.Context, db *dbv1.AppDatabase, accounts []account, switching map[int]string) error {
	for i, password := range switching {
		a := accounts[i]
		if !a.dual || a.pending == password {
			continue
		}
		key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: a.secretName}
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, key, &s); err != nil {
			return fmt.Errorf("reading Secret %s to set its new password aside: %w", key, err)
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[credentials.KeyPendingPassword] = []byte(password)
		start := time.Now()
		err := r.Client.Update(ctx, &s)
		metrics.ObserveStep(metrics.StepSecretWrite, start)
		if err != nil {
			return fmt.Errorf("setting the new password aside in Secret %s: %w", key, err)
		}
		failpoint.Hit("after-pending-password")
	}
	return nil
}

// dropPasswordAside removes from user's Secret the new password set aside for it, which the
// server's password policy refused: the account never took it, and the next pass draws another
// (under the cluster's passwordPolicy, which the platform team may have changed meanwhile).
func (r *AppDatabaseReconciler) dropPasswordAside(ctx context.Context, db *dbv1.AppDatabase, accounts []account, switching map[int]string, user string) error {
	for i, a := range accounts {
		if _, ok := switching[i]; !ok || !a.dual || !strings.EqualFold(a.user, user) {
			continue
		}
		key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: a.secretName}
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, key, &s); err != nil {
			return fmt.Errorf("reading Secret %s to drop the refused password: %w", key, err)
		}
		if _, ok := s.Data[credentials.KeyPendingPassword]; !ok {
			return nil
		}
		delete(s.Data, credentials.KeyPendingPassword)
		if err := r.Client.Update(ctx, &s); err != nil {
			return fmt.Errorf("dropping the refused password from Secret %s: %w", key, err)
		}
	}
	return nil
}

// writeRotatedSecret writes conn into the Secret name, user name and password in one update,
// with the time of the rotation.
func (r *AppDatabaseReconciler) writeRotatedSecret(ctx context.Context, db *dbv1.AppDatabase, name string, conn credentials.Connection, at time.Time) error {
	key := client.ObjectKey{Namespace: db.EffectiveAppNamespace(), Name: name}
	// Read past the cache: this pass may have written the Secret a moment ago.
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, key, &s); err != nil {
		return fmt.Errorf("reading Secret %s to rotate its credentials: %w", key, err)
	}
	data, labels, annotations, err := secretContent(db, conn)
	if err != nil {
		return err
	}
	s.Data = data
	for k, v := range labels {
		metav1.SetMetaDataLabel(&s.ObjectMeta, k, v)
	}
	for k, v := range annotations {
		metav1.SetMetaDataAnnotation(&s.ObjectMeta, k, v)
	}
	metav1.SetMetaDataAnnotation(&s.ObjectMeta, dbv1.AnnotationCredentialsRotated, at.UTC().Format(time.RFC3339))
	start := time.Now()
	err = r.Client.Update(ctx, &s)
	metrics.ObserveStep(metrics.StepSecretWrite, start)
	if err != nil {
		return fmt.Errorf("writing rotated credentials into Secret %s: %w", key, err)
	}
	logf.FromContext(ctx).Info("Rotated credentials", "secret", key.String(), "user", conn.User)
	return nil
}

// eventPasswordRotated is the Event reason of a rotation.
const eventPasswordRotated = "PasswordRotated"

// splitPlanned tells the changes a pass made because something drifted from those it made on
// schedule: everything a rotation did, and a lock taken or lifted or a second password discarded
// as grace periods begin and end.
func splitPlanned(changes []tenant.Change, rotated bool) (drift, planned []tenant.Change) {
	for _, c := range changes {
		if rotated || c.Kind == tenant.AccountLocked || c.Kind == tenant.AccountUnlocked || c.Kind == tenant.DiscardedPassword {
			planned = append(planned, c)
		} else {
			drift = append(drift, c)
		}
	}
	return drift, planned
}
