// Package cli is the bootstrap-mysql-schema command (also kubectl concierge): it asks for a
// database by creating an AppDatabase, watches it until the operator reports Ready or a failure
// that needs a person, and prints how to connect.
package cli

import (
	"fmt"
	"regexp"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
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
	DryRun            bool
	Output            string
	Timeout           time.Duration
}

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
	if o.OutputEnv && (o.Output != "" || o.NoWait) {
		return usageErrorf("--output-env cannot be combined with -o or --no-wait: it prints the credentials of a Ready database")
	}
	if o.Timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	return nil
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
	return diffs
}
