// Package cli is the bootstrap-mysql-schema command (also kubectl concierge): it asks for a
// database by creating an AppDatabase, watches it until the operator reports Ready or a failure
// that needs a person, and prints how to connect.
package cli

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// Options are the command's flags.
type Options struct {
	Name              string
	Namespace         string
	Cluster           string
	DeletionPolicy    string
	DBName            string
	UserName          string
	SecretName        string
	Charset           string
	Collation         string
	PlatformNamespace string
	NoWait            bool
	OutputEnv         bool
	OutputEnvFormat   string
	DryRun            bool
	Output            string
	Timeout           time.Duration
	// Users are the --user values (NAME:ACCESS), ReadOnlyUsers the --read-only-user names, both in
	// the order given; the spec lists the --user accounts first.
	Users         []string
	ReadOnlyUsers []string
	// MaxUserConnections is --max-user-connections, nil when the flag is not given (the cluster's
	// default applies).
	MaxUserConnections *int32
}

// Limits the API server applies to the extra accounts and the connection caps.
const (
	maxExtraUsers         = 16
	maxUserConnectionsCap = 100000
)

// accessNames maps the spellings --user accepts, in lower case, to the Access they stand for.
var accessNames = map[string]dbv1.Access{
	"readwrite": dbv1.AccessReadWrite, "read-write": dbv1.AccessReadWrite,
	"dataonly": dbv1.AccessDataOnly, "data-only": dbv1.AccessDataOnly,
	"readonly": dbv1.AccessReadOnly, "read-only": dbv1.AccessReadOnly,
}

// accessValues are the Access values in the order help and completion show them.
var accessValues = []dbv1.Access{dbv1.AccessReadWrite, dbv1.AccessDataOnly, dbv1.AccessReadOnly}

var mysqlName = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)

// validate checks the flags before any API call, with the same limits the API server applies.
func (o *Options) validate() error {
	if o.Name == "" {
		return usageErrorf("--name is required")
	}
	if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 {
		return usageErrorf("--name %q is not a valid name: %s (lower-case letters, digits and '-', at most 63 characters)", o.Name, errs[0])
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return usageErrorf("--namespace %q is not a valid namespace: %s", o.Namespace, errs[0])
		}
	}
	dbName := o.dbName()
	switch {
	case !mysqlName.MatchString(dbName) || len(dbName) > 64:
		return usageErrorf("database name %q may contain only letters, digits and '_', at most 64 characters", dbName)
	case o.UserName != "" && (!mysqlName.MatchString(o.UserName) || len(o.UserName) > 32):
		return usageErrorf("--user-name %q may contain only letters, digits and '_', at most 32 characters", o.UserName)
	case o.UserName == "" && len(dbv1.DefaultUserName(dbName)) > 32:
		return usageErrorf("the default user name %q would be longer than MySQL's 32 characters: pass --user-name", dbv1.DefaultUserName(dbName))
	}
	if o.SecretName != "" {
		if errs := validation.IsDNS1123Subdomain(o.SecretName); len(errs) > 0 {
			return usageErrorf("--secret-name %q is not a valid Secret name: %s", o.SecretName, errs[0])
		}
	}
	switch dbv1.DeletionPolicy(o.DeletionPolicy) {
	case dbv1.DeletionPolicyRetain, dbv1.DeletionPolicyDelete:
	default:
		return usageErrorf("--deletion-policy must be Retain or Delete, not %q", o.DeletionPolicy)
	}
	switch o.Output {
	case "", "json", "yaml":
	default:
		return usageErrorf("-o must be json or yaml, not %q", o.Output)
	}
	switch o.OutputEnvFormat {
	case "", string(credentials.EnvShell), string(credentials.EnvDotenv):
	default:
		return usageErrorf("--output-env-format must be shell or dotenv, not %q", o.OutputEnvFormat)
	}
	if o.OutputEnv && (o.Output != "" || o.NoWait) {
		return usageErrorf("--output-env cannot be combined with -o or --no-wait: it prints the credentials of a Ready database")
	}
	if o.Timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if n := o.MaxUserConnections; n != nil && (*n < 0 || *n > maxUserConnectionsCap) {
		return usageErrorf("--max-user-connections must be between 0 (no cap of the user's own) and %d, not %d", maxUserConnectionsCap, *n)
	}
	_, err := o.extraUsers()
	return err
}

// extraUsers parses --user and --read-only-user into spec.users, checking each account as the
// API server and the operator would: its name, its access, that no two accounts share a name
// (without regard to case, as the API server compares them), and that its Secret's default name
// is a valid one.
func (o *Options) extraUsers() ([]dbv1.AppDatabaseUser, error) {
	if n := len(o.Users) + len(o.ReadOnlyUsers); n > maxExtraUsers {
		return nil, usageErrorf("a database has at most %d extra accounts (--user, --read-only-user), not %d: ask for fewer", maxExtraUsers, n)
	}
	spec := dbv1.AppDatabaseSpec{DBName: o.dbName(), UserName: o.UserName, SecretName: o.SecretName}
	main := spec.EffectiveUserName()
	taken := map[string]string{} // lower-case name -> the flag that asked for it
	var users []dbv1.AppDatabaseUser
	add := func(flag, value string, u dbv1.AppDatabaseUser) error {
		if !mysqlName.MatchString(u.Name) || len(u.Name) > 32 {
			return usageErrorf("%s %q: the user name may contain only letters, digits and '_', at most 32 characters", flag, value)
		}
		if strings.EqualFold(u.Name, main) {
			return usageErrorf("%s %q: %q is the main user (--user-name, by default the database name + '_app'): give the extra account another name", flag, value, main)
		}
		if other, dup := taken[strings.ToLower(u.Name)]; dup {
			return usageErrorf("%s %q: %s already asks for an account of that name (names compare without regard to case): give each account its own name", flag, value, other)
		}
		if secret := u.EffectiveSecretName(&spec); len(validation.IsDNS1123Subdomain(secret)) > 0 {
			return usageErrorf("%s %q: the account's Secret would be named %q, which is not a valid Secret name: %s (pass a shorter --secret-name)",
				flag, value, secret, validation.IsDNS1123Subdomain(secret)[0])
		}
		taken[strings.ToLower(u.Name)] = fmt.Sprintf("%s %q", flag, value)
		users = append(users, u)
		return nil
	}
	for _, v := range o.Users {
		parts := strings.Split(v, ":")
		switch {
		case len(parts) > 2:
			return nil, usageErrorf("--user %q: --user takes NAME:ACCESS only; set an account's connection limit or Secret name in a manifest (spec.users)", v)
		case len(parts) < 2 || parts[0] == "" || parts[1] == "":
			example := parts[0]
			if !mysqlName.MatchString(example) {
				example = "reports"
			}
			return nil, usageErrorf("--user %q must be NAME:ACCESS, for example --user %s:ReadOnly (ACCESS is ReadWrite, DataOnly or ReadOnly)", v, example)
		}
		access, ok := accessNames[strings.ToLower(parts[1])]
		if !ok {
			return nil, usageErrorf("--user %q: access must be ReadWrite, DataOnly or ReadOnly (or read-write, data-only, read-only), not %q", v, parts[1])
		}
		if err := add("--user", v, dbv1.AppDatabaseUser{Name: parts[0], Access: access}); err != nil {
			return nil, err
		}
	}
	for _, v := range o.ReadOnlyUsers {
		if err := add("--read-only-user", v, dbv1.AppDatabaseUser{Name: v, Access: dbv1.AccessReadOnly}); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// dbName is --db-name, or --name with '-' mapped to '_'.
func (o *Options) dbName() string {
	if o.DBName != "" {
		return o.DBName
	}
	return dbv1.DBNameFor(o.Name)
}

// appDatabase is the object the command asks for, in namespace targetNamespace's terms: in the
// application's namespace itself (self-service), or in the platform namespace naming the target.
func (o *Options) appDatabase(targetNamespace string) *dbv1.AppDatabase {
	db := &dbv1.AppDatabase{
		TypeMeta:   metav1.TypeMeta{APIVersion: dbv1.GroupVersion.String(), Kind: "AppDatabase"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: targetNamespace},
		Spec: dbv1.AppDatabaseSpec{
			ClusterRef:     o.Cluster,
			DBName:         o.dbName(),
			UserName:       o.UserName,
			SecretName:     o.SecretName,
			Charset:        o.Charset,
			Collation:      o.Collation,
			DeletionPolicy: dbv1.DeletionPolicy(o.DeletionPolicy),
		},
	}
	if o.MaxUserConnections != nil {
		n := *o.MaxUserConnections
		db.Spec.MaxUserConnections = &n
	}
	// validate has checked the accounts: an error cannot happen here.
	db.Spec.Users, _ = o.extraUsers()
	if o.PlatformNamespace != "" && o.PlatformNamespace != targetNamespace {
		db.Namespace = o.PlatformNamespace
		db.Spec.AppNamespace = targetNamespace
	}
	return db
}

// specDifferences lists how an existing AppDatabase differs from the one asked for, comparing
// effective values (defaults filled in).
func specDifferences(existing, wanted *dbv1.AppDatabase) []string {
	var diffs []string
	compare := func(field, have, want string) {
		if have != want {
			diffs = append(diffs, fmt.Sprintf("%s is %q, you asked for %q", field, have, want))
		}
	}
	e, w := &existing.Spec, &wanted.Spec
	compare("clusterRef", e.ClusterRef, w.ClusterRef)
	compare("dbName", e.DBName, w.DBName)
	compare("appNamespace", existing.EffectiveAppNamespace(), wanted.EffectiveAppNamespace())
	compare("userName", e.EffectiveUserName(), w.EffectiveUserName())
	compare("secretName", e.EffectiveSecretName(), w.EffectiveSecretName())
	compare("charset", e.EffectiveCharset(), w.EffectiveCharset())
	compare("collation", e.EffectiveCollation(), w.EffectiveCollation())
	compare("deletionPolicy", string(e.EffectiveDeletionPolicy()), string(w.EffectiveDeletionPolicy()))
	compareLimit := func(field string, have, want *int32) {
		if limitString(have) != limitString(want) {
			diffs = append(diffs, fmt.Sprintf("%s is %s, you asked for %s", field, limitString(have), limitString(want)))
		}
	}
	compareLimit("maxUserConnections", e.MaxUserConnections, w.MaxUserConnections)

	// Extra accounts are compared by name, in any order.
	existingUsers := map[string]*dbv1.AppDatabaseUser{}
	for i := range e.Users {
		existingUsers[e.Users[i].Name] = &e.Users[i]
	}
	asked := map[string]bool{}
	for i := range w.Users {
		wu := &w.Users[i]
		asked[wu.Name] = true
		eu, ok := existingUsers[wu.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("users has no account %q, you asked for one (%s)", wu.Name, wu.Access))
			continue
		}
		field := fmt.Sprintf("users[%s].", wu.Name)
		compare(field+"access", string(eu.Access), string(wu.Access))
		compare(field+"secretName", eu.EffectiveSecretName(e), wu.EffectiveSecretName(w))
		compareLimit(field+"maxUserConnections", eu.MaxUserConnections, wu.MaxUserConnections)
	}
	for i := range e.Users {
		if eu := &e.Users[i]; !asked[eu.Name] {
			diffs = append(diffs, fmt.Sprintf("users has account %q (%s), you did not ask for it", eu.Name, eu.Access))
		}
	}
	return diffs
}

// limitString says what a connection limit is set to.
func limitString(n *int32) string {
	switch {
	case n == nil:
		return "unset (the cluster's default)"
	case *n == 0:
		return "0 (no cap)"
	}
	return fmt.Sprint(*n)
}
