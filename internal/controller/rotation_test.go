package controller

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

func TestRotationDue(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(created.Add(d)); return &t }
	every := &metav1.Duration{Duration: 90 * 24 * time.Hour}
	cases := []struct {
		name string
		db   func(*dbv1.AppDatabase)
		now  time.Duration // after creation
		want bool
	}{
		{"no rotation configured", func(*dbv1.AppDatabase) {}, 100 * 24 * time.Hour, false},
		{"asked for", func(db *dbv1.AppDatabase) { db.Annotations = map[string]string{dbv1.AnnotationRotatePassword: "1"} }, time.Hour, true},
		{"asked for before the first credentials", func(db *dbv1.AppDatabase) {
			db.Annotations = map[string]string{dbv1.AnnotationRotatePassword: "1"}
			db.Status.ConnectionString = ""
		}, time.Hour, false},
		{"asked for and done", func(db *dbv1.AppDatabase) {
			db.Annotations = map[string]string{dbv1.AnnotationRotatePassword: "1"}
			db.Status.PasswordRotation = &dbv1.PasswordRotationStatus{LastHandledRotateAt: "1", LastRotationTime: at(time.Hour)}
		}, 2 * time.Hour, false},
		{"asked for during a grace period", func(db *dbv1.AppDatabase) {
			db.Annotations = map[string]string{dbv1.AnnotationRotatePassword: "2"}
			db.Status.PasswordRotation = &dbv1.PasswordRotationStatus{LastHandledRotateAt: "1", LastRotationTime: at(time.Hour), PreviousValidUntil: at(2 * time.Hour)}
		}, 90 * time.Minute, false},
		{"asked for after a grace period", func(db *dbv1.AppDatabase) {
			db.Annotations = map[string]string{dbv1.AnnotationRotatePassword: "2"}
			db.Status.PasswordRotation = &dbv1.PasswordRotationStatus{LastHandledRotateAt: "1", LastRotationTime: at(time.Hour), PreviousValidUntil: at(2 * time.Hour)}
		}, 2 * time.Hour, true},
		{"scheduled, not yet", func(db *dbv1.AppDatabase) { db.Spec.PasswordRotation = &dbv1.PasswordRotation{Every: every} }, 89 * 24 * time.Hour, false},
		{"scheduled, since creation", func(db *dbv1.AppDatabase) { db.Spec.PasswordRotation = &dbv1.PasswordRotation{Every: every} }, 90 * 24 * time.Hour, true},
		{"scheduled, since the last rotation", func(db *dbv1.AppDatabase) {
			db.Spec.PasswordRotation = &dbv1.PasswordRotation{Every: every}
			db.Status.PasswordRotation = &dbv1.PasswordRotationStatus{LastRotationTime: at(30 * 24 * time.Hour)}
		}, 100 * 24 * time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)},
				Status: dbv1.AppDatabaseStatus{ConnectionString: "mysql://shop_app@db:3306/shop"}}
			tc.db(db)
			if got := rotationDue(db, created.Add(tc.now)); got != tc.want {
				t.Errorf("rotationDue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRotationStatus(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	db := &dbv1.AppDatabase{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{dbv1.AnnotationRotatePassword: "x"}},
		Spec: dbv1.AppDatabaseSpec{PasswordRotation: &dbv1.PasswordRotation{
			Every: &metav1.Duration{Duration: 24 * time.Hour}, GracePeriod: &metav1.Duration{Duration: 10 * time.Minute}}},
		Status: dbv1.AppDatabaseStatus{ConnectionString: "mysql://shop_app@db:3306/shop"},
	}
	s := rotationStatus(db, now, dbv1.RotationAlternatingAccounts, true)
	if !s.LastRotationTime.Equal(&metav1.Time{Time: now}) || !s.PreviousValidUntil.Time.Equal(now.Add(10*time.Minute)) ||
		!s.NextRotationTime.Time.Equal(now.Add(24*time.Hour)) || s.LastHandledRotateAt != "x" {
		t.Errorf("after a rotation: %+v", s)
	}
	db.Status.PasswordRotation = s
	if again := rotationStatus(db, now.Add(time.Minute), dbv1.RotationAlternatingAccounts, false); !again.LastRotationTime.Equal(s.LastRotationTime) || !again.NextRotationTime.Equal(s.NextRotationTime) {
		t.Errorf("a pass that does not rotate changed the status: %+v", again)
	}
	if got := rotationWake(db, now.Add(time.Minute)); got != 9*time.Minute {
		t.Errorf("wake after %s, want the end of the grace period in 9m", got)
	}
	if got := rotationWake(db, now.Add(time.Hour)); got != 23*time.Hour {
		t.Errorf("wake after %s, want the next rotation in 23h", got)
	}
	if rotationStatus(&dbv1.AppDatabase{}, now, "", false) != nil {
		t.Error("a tenant that does not rotate has a rotation status")
	}
}

// The engine is given each account in use, then each idle partner: locked unless its own grace
// period runs, and during a rotation the switching accounts' partners take over with the new
// passwords while the other accounts' idle partners stay locked.
func TestEngineSpec(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	later := metav1.NewTime(now.Add(time.Minute))
	type acc struct {
		name, password  string
		standby, locked bool
	}
	cases := []struct {
		name      string
		grace     *metav1.Duration
		graceEnds *metav1.Time // of the read-only account's last rotation
		switching map[int]string
		want      []acc
	}{
		{"at rest", nil, nil, nil, []acc{
			{"shop_app", "main-password", false, false}, {"shop_ro_2", "ro-password", false, false},
			{"shop_app_2", "throwaway", true, true}, {"shop_ro", "throwaway", true, true}}},
		{"the read-only account in its grace period", nil, &later, nil, []acc{
			{"shop_app", "main-password", false, false}, {"shop_ro_2", "ro-password", false, false},
			{"shop_app_2", "throwaway", true, true}, {"shop_ro", "throwaway", true, false}}},
		{"rotating the main account alone", nil, nil, map[int]string{0: "new"}, []acc{
			{"shop_app_2", "new", false, false}, {"shop_ro_2", "ro-password", false, false},
			{"shop_app", "throwaway", true, false}, {"shop_ro", "throwaway", true, true}}},
		{"rotating with a grace period of 0s", &metav1.Duration{}, nil, map[int]string{0: "new"}, []acc{
			{"shop_app_2", "new", false, false}, {"shop_ro_2", "ro-password", false, false},
			{"shop_app", "throwaway", true, true}, {"shop_ro", "throwaway", true, true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{UID: "8d4c6a5e-0000-4000-8000-000000000001"}, Spec: dbv1.AppDatabaseSpec{DBName: "shop",
				Users: []dbv1.AppDatabaseUser{{Name: "shop_ro", Access: dbv1.AccessReadOnly}}, PasswordRotation: &dbv1.PasswordRotation{GracePeriod: tc.grace}}}
			accounts := accountsOf(db, 0)
			withPartners(accounts)
			accounts[0].Password, accounts[1].Password = "main-password", "ro-password"
			accounts[1].user, accounts[1].previousValidUntil = "shop_ro_2", tc.graceEnds
			spec, err := engineSpec(db, accounts, tc.switching, now, func() (string, error) { return "throwaway", nil })
			if err != nil {
				t.Fatal(err)
			}
			var got []acc
			for _, a := range spec.Accounts {
				got = append(got, acc{a.Name, a.Password, a.Standby, a.Locked})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("account %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if err := spec.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCheckPartners(t *testing.T) {
	cases := []struct {
		names []string
		want  string
	}{
		{[]string{"shop_app", "shop_ro"}, ""},
		{[]string{"shop_app", "shop_app_2"}, `account "shop_app" takes turns with an account named "shop_app_2"`},
		// Two names that agree on their first 30 characters would share a partner.
		{[]string{strings.Repeat("a", 30) + "_x", strings.Repeat("a", 30) + "_y"}, "another account"},
	}
	for _, tc := range cases {
		var accounts []account
		for _, n := range tc.names {
			accounts = append(accounts, account{Account: tenant.Account{Name: n}, partner: dbv1.RotationPartner(n)})
		}
		err := checkPartners(accounts)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.names, err, tc.want)
		}
	}
}

// A tenant rotates with second passwords where its server keeps them, unless its accounts already
// take turns with partners that applications may still use.
func TestSecondPasswordsFor(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	later := metav1.NewTime(now.Add(time.Hour))
	earlier := metav1.NewTime(now.Add(-time.Hour))
	cases := []struct {
		name        string
		serverKeeps bool
		status      dbv1.AppDatabaseStatus
		want        bool
	}{
		{"MariaDB", false, dbv1.AppDatabaseStatus{}, false},
		{"new tenant", true, dbv1.AppDatabaseStatus{}, true},
		{"partner in use", true, dbv1.AppDatabaseStatus{Accounts: []dbv1.AccountStatus{{Name: "app", User: "app_2"}}}, false},
		{"alternating grace period runs", true, dbv1.AppDatabaseStatus{
			PasswordRotation: &dbv1.PasswordRotationStatus{Strategy: dbv1.RotationAlternatingAccounts, PreviousValidUntil: &later},
			Accounts:         []dbv1.AccountStatus{{Name: "app", User: "app"}}}, false},
		{"alternating grace period over", true, dbv1.AppDatabaseStatus{
			PasswordRotation: &dbv1.PasswordRotationStatus{Strategy: dbv1.RotationAlternatingAccounts, PreviousValidUntil: &earlier},
			Accounts:         []dbv1.AccountStatus{{Name: "app", User: "app"}}}, true},
		{"second-password grace period runs", true, dbv1.AppDatabaseStatus{
			PasswordRotation: &dbv1.PasswordRotationStatus{Strategy: dbv1.RotationSecondPassword, PreviousValidUntil: &later}}, true},
	}
	for _, c := range cases {
		db := &dbv1.AppDatabase{Status: c.status}
		if got := secondPasswordsFor(db, c.serverKeeps, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// With second passwords, a Secret rotated after the last recorded rotation was switched by a pass
// that ended before recording it; the account then keeps its second password.
func TestSecondPasswordSwitchedSince(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	recorded := metav1.NewTime(now.Add(-time.Hour))
	db := &dbv1.AppDatabase{Status: dbv1.AppDatabaseStatus{
		PasswordRotation: &dbv1.PasswordRotationStatus{Strategy: dbv1.RotationSecondPassword, LastRotationTime: &recorded}}}
	secret := func(rotatedAt time.Time) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			dbv1.AnnotationCredentialsRotated: rotatedAt.UTC().Format(time.RFC3339)}}}
	}
	cases := []struct {
		name   string
		secret *corev1.Secret
		want   bool
		second tenant.SecondPassword
	}{
		{"never rotated", &corev1.Secret{}, false, tenant.SecondDiscarded},
		{"rotated as recorded", secret(recorded.Time), false, tenant.SecondDiscarded},
		{"rotated since", secret(now), true, tenant.SecondKept},
	}
	for _, c := range cases {
		accounts := []account{{Account: tenant.Account{Name: "app", Access: tenant.ReadWrite, Password: "pw"}, user: "app"}}
		useSecondPasswords(accounts, []*corev1.Secret{c.secret})
		if got := switchedSince(db, accounts[0]); got != c.want {
			t.Errorf("%s: switchedSince = %v, want %v", c.name, got, c.want)
		}
		spec, err := engineSpec(db, accounts, nil, now, noPassword)
		if err != nil || len(spec.Accounts) != 1 || spec.Accounts[0].Second != c.second {
			t.Errorf("%s: engine spec %+v (%v), want one account with second password %d", c.name, spec.Accounts, err, c.second)
		}
	}
	accounts := []account{{Account: tenant.Account{Name: "app", Access: tenant.ReadWrite, Password: "old"}, user: "app"}}
	useSecondPasswords(accounts, []*corev1.Secret{{}})
	spec, _ := engineSpec(db, accounts, map[int]string{0: "new"}, now, noPassword)
	if a := spec.Accounts[0]; a.Password != "new" || a.Previous != "old" || a.Second != tenant.SecondRetained {
		t.Errorf("a rotating account: %+v", a)
	}
}
