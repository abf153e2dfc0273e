package controller

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// account is one MySQL account of an AppDatabase, with the Secret that holds its credentials.
type account struct {
	tenant.Account
	// secretName is the account's Secret in the AppDatabase's appNamespace.
	secretName string
	// partner is the account it takes turns with across password rotations; "" for a tenant
	// that does not rotate.
	partner string
	// user is the account of the pair the Secret names (see activeUser); Password is its.
	user string
	// passwordFrom, when set, is where the account's password comes from.
	passwordFrom *dbv1.PasswordSource
	// previousValidUntil is when the idle account of the pair stops logging in, or the second
	// password is discarded, after the account's last rotation
	// (status.accounts[].previousValidUntil).
	previousValidUntil *metav1.Time
	// dual says the account rotates alone, keeping its previous password as a second one
	// (dbv1.RotationSecondPassword); it has no partner then.
	dual bool
	// pending is a new password a rotation set aside in the Secret before the account took it
	// (credentials.KeyPendingPassword); rotatedAt is when the Secret last received rotated
	// credentials. Both are read for dual accounts only.
	pending   string
	rotatedAt *metav1.Time
}

// rotates reports whether the account keeps its previous credentials through rotations, with a
// partner or a second password.
func (a account) rotates() bool { return a.partner != "" || a.dual }

// accountsOf lists an AppDatabase's accounts, the main user first. An account that sets no
// connection limit gets the cluster's default.
func accountsOf(db *dbv1.AppDatabase, defaultMaxUserConnections int) []account {
	limit := func(set *int32) int {
		if set == nil {
			return defaultMaxUserConnections
		}
		return int(*set)
	}
	accounts := make([]account, 0, 1+len(db.Spec.Users))
	accounts = append(accounts, account{
		Account:      tenant.Account{Name: db.Spec.EffectiveUserName(), Access: tenant.ReadWrite, MaxUserConnections: limit(db.Spec.MaxUserConnections)},
		secretName:   db.Spec.EffectiveSecretName(),
		user:         db.Spec.EffectiveUserName(),
		passwordFrom: db.Spec.PasswordFrom,
	})
	for i := range db.Spec.Users {
		u := &db.Spec.Users[i]
		accounts = append(accounts, account{
			Account:      tenant.Account{Name: u.Name, Access: tenant.Access(u.Access), MaxUserConnections: limit(u.MaxUserConnections)},
			secretName:   u.EffectiveSecretName(&db.Spec),
			user:         u.Name,
			passwordFrom: u.PasswordFrom,
		})
	}
	for i := range accounts {
		if s := recordedAccount(db, accounts[i].Name); s != nil {
			accounts[i].previousValidUntil = s.PreviousValidUntil
		}
	}
	return accounts
}

// checkConnectionLimits refuses an account that asks for more connections than the cluster's
// maxUserConnections allows, or for no cap at all where there is a maximum.
func checkConnectionLimits(accounts []account, cfg cluster.Config) error {
	if cfg.MaxUserConnections == 0 {
		return nil
	}
	for _, a := range accounts {
		if a.MaxUserConnections == 0 || a.MaxUserConnections > cfg.MaxUserConnections {
			asked := "no cap (0)"
			if a.MaxUserConnections > 0 {
				asked = strconv.Itoa(a.MaxUserConnections)
			}
			return fmt.Errorf("account %q asks for maxUserConnections %s, but cluster %q allows each account at most %d: ask for %d or fewer",
				a.Name, asked, cfg.Name, cfg.MaxUserConnections, cfg.MaxUserConnections)
		}
	}
	return nil
}

// recordedAccount is status.accounts' entry for the account name; nil for an account never
// provisioned.
func recordedAccount(db *dbv1.AppDatabase, name string) *dbv1.AccountStatus {
	for i := range db.Status.Accounts {
		if db.Status.Accounts[i].Name == name {
			return &db.Status.Accounts[i]
		}
	}
	return nil
}

// tenantOf is what an AppDatabase asks of its cluster's engine. accounts carry the passwords when
// the engine is to provision them.
func tenantOf(db *dbv1.AppDatabase, accounts []account) tenant.Spec {
	spec := tenant.Spec{
		Database:  db.Spec.DBName,
		Charset:   db.Spec.EffectiveCharset(),
		Collation: db.Spec.EffectiveCollation(),
		Owner:     tenant.Owner{UID: string(db.UID), Namespace: db.Namespace, Name: db.Name},
		Accounts:  make([]tenant.Account, len(accounts)),
	}
	for i, a := range accounts {
		spec.Accounts[i] = a.Account
	}
	return spec
}

// checkSecretNames refuses two accounts whose credentials would go to one Secret: an explicit
// secretName can equal another account's default. The CRD's rules catch the plainer cases.
func checkSecretNames(accounts []account) error {
	seen := map[string]string{}
	for _, a := range accounts {
		if other, taken := seen[a.secretName]; taken {
			return fmt.Errorf("accounts %q and %q would both keep their credentials in Secret %q: set another secretName in spec.users", other, a.Name, a.secretName)
		}
		seen[a.secretName] = a.Name
	}
	return nil
}

// accountStatus is what status.accounts says of the accounts.
func accountStatus(accounts []account) []dbv1.AccountStatus {
	s := make([]dbv1.AccountStatus, len(accounts))
	for i, a := range accounts {
		s[i] = dbv1.AccountStatus{Name: a.Name, Access: dbv1.Access(a.Access), SecretName: a.secretName}
		switch {
		case a.partner != "":
			s[i].User, s[i].PreviousValidUntil = a.user, a.previousValidUntil
		case a.dual:
			s[i].PreviousValidUntil = a.previousValidUntil
		}
	}
	return s
}
