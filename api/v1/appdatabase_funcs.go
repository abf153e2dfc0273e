package v1

import "strings"

// Defaults for what a spec or the seed's admin Secret leaves out.
const (
	// DefaultClusterName is the clusterRef the seed's admin Secret stands for when it has no
	// MYSQL_CLUSTER_NAME key.
	DefaultClusterName = "cluster1-haproxy"
	// DefaultCharset and DefaultCollation mirror the CRD's defaults.
	DefaultCharset   = "utf8mb4"
	DefaultCollation = "utf8mb4_unicode_ci"

	defaultUserSuffix = "_app"
	// partnerSuffix ends the name of an account's rotation partner.
	partnerSuffix       = "_2"
	defaultSecretSuffix = "-mysql-creds" //nolint:gosec // G101: part of a Secret's name, no credential
)

// Labels and annotations the operator reads or writes.
const (
	// LabelManagedBy marks every Secret the operator created; only Secrets carrying it are cached,
	// watched, or ever updated.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "db-concierge-operator"
	// LabelAppDatabaseName and LabelAppDatabaseNamespace name the AppDatabase a Secret belongs to,
	// for selectors such as kubectl get secret -l db.stillwaters.io/appdatabase-name=myapp.
	LabelAppDatabaseName      = "db.stillwaters.io/appdatabase-name"
	LabelAppDatabaseNamespace = "db.stillwaters.io/appdatabase-namespace"
	// AnnotationOwner names the AppDatabase ("namespace/name") a Secret was created for; a Secret
	// carrying another owner is never taken over.
	AnnotationOwner = "db.stillwaters.io/appdatabase"
	// AnnotationOwnerUID records the UID of the AppDatabase a Secret was created for. A name can
	// be reused after a Retain delete: the UID tells the new AppDatabase from the one whose
	// password the Secret holds.
	AnnotationOwnerUID = "db.stillwaters.io/appdatabase-uid"
	// AnnotationAcceptAppNamespaceUID, set on an AppDatabase in the platform namespace to the UID
	// of its target namespace, confirms that a namespace deleted and created again may receive the
	// credentials (reason NamespaceReplaced). The platform team's step; ignored elsewhere.
	AnnotationAcceptAppNamespaceUID = "db.stillwaters.io/accept-app-namespace-uid"
	// AnnotationReconcile is the seed's force-reconcile annotation: any new value makes the operator
	// run a full reconcile and record it in status.lastReconcileTime.
	AnnotationReconcile = "reconcile"
	// AnnotationAdopt, set to "true" on an AppDatabase in the platform namespace, lets it take a
	// database and user that exist without being recorded for it: created by hand or by the
	// seed's operator, or recorded for an AppDatabase that no longer exists. The platform team's
	// deliberate step; it changes no password (an existing user must log in with the Secret's).
	AnnotationAdopt = "db.stillwaters.io/adopt"
	// AnnotationRotatePassword: any new value rotates the credentials of every account of the
	// AppDatabase once (see spec.passwordRotation), as `bootstrap-mysql-schema rotate` does.
	AnnotationRotatePassword = "db.stillwaters.io/rotate-password"
	// AnnotationCredentialsRotated, on a credentials Secret, is when a rotation wrote the
	// credentials it holds (RFC 3339); absent before the first rotation.
	AnnotationCredentialsRotated = "db.stillwaters.io/credentials-rotated-at"
	// LabelPasswordSource, set to "true" on a Secret, lets AppDatabases of its namespace take a
	// password from it (passwordFrom): whoever writes the Secret agrees to that, and the operator
	// watches only Secrets so labelled.
	LabelPasswordSource = "db.stillwaters.io/password-source"

	// AnnotationAcceptServerIdentity, on a MySQLCluster, accepts the server whose identity it
	// holds as the cluster's, after its admin endpoints came to lead to another server; for a
	// server without DB Concierge's records, "none-instead-of-" and the identity it replaces. The
	// MySQLCluster's ServerChanged message gives the value.
	AnnotationAcceptServerIdentity = "db.stillwaters.io/accept-server-identity"

	// LabelInitSQL, set to "true" on a ConfigMap, lets AppDatabases of its namespace run SQL from
	// it (spec.init); the operator watches only ConfigMaps so labelled.
	LabelInitSQL = "db.stillwaters.io/init-sql"
	// Finalizer holds an AppDatabase with deletionPolicy Delete until its database and user are dropped.
	Finalizer = "db.stillwaters.io/drop-database"
)

// DefaultUserName is the MySQL user name an AppDatabase gets when spec.userName is empty.
func DefaultUserName(dbName string) string { return dbName + defaultUserSuffix }

// DefaultSecretName is the Secret name an AppDatabase gets when spec.secretName is empty:
// MySQL names allow '_' and upper case, Kubernetes names do not.
func DefaultSecretName(dbName string) string {
	return strings.ReplaceAll(strings.ToLower(dbName), "_", "-") + defaultSecretSuffix
}

// DefaultUserSecretName is the Secret name of an extra account that sets no secretName: the main
// Secret's name without its "-mysql-creds" suffix, the user name as a Kubernetes name, and
// "-mysql-creds". It never equals the main Secret's name, and two accounts whose names differ
// other than in case never share one.
func DefaultUserSecretName(mainSecretName, user string) string {
	stem := strings.TrimSuffix(mainSecretName, defaultSecretSuffix)
	return stem + "-" + strings.ReplaceAll(strings.ToLower(user), "_", "-") + defaultSecretSuffix
}

// RotationPartner is the name of the account that takes turns with user across password
// rotations: user with "_2" appended, cut to MySQL's 32 characters.
func RotationPartner(user string) string {
	const maxUserName = 32
	return user[:min(len(user), maxUserName-len(partnerSuffix))] + partnerSuffix
}

// DBNameFor maps a Kubernetes-style name (my-app) to the database name it stands for (my_app).
func DBNameFor(resourceName string) string { return strings.ReplaceAll(resourceName, "-", "_") }

// EffectiveUserName is spec.userName, or its default.
func (s *AppDatabaseSpec) EffectiveUserName() string {
	if s.UserName != "" {
		return s.UserName
	}
	return DefaultUserName(s.DBName)
}

// EffectiveSecretName is spec.secretName, or its default.
func (s *AppDatabaseSpec) EffectiveSecretName() string {
	if s.SecretName != "" {
		return s.SecretName
	}
	return DefaultSecretName(s.DBName)
}

// EffectiveCharset is spec.charset, or its default for objects that bypassed API defaulting.
func (s *AppDatabaseSpec) EffectiveCharset() string {
	if s.Charset != "" {
		return s.Charset
	}
	return DefaultCharset
}

// EffectiveCollation is spec.collation, or its default for objects that bypassed API defaulting.
func (s *AppDatabaseSpec) EffectiveCollation() string {
	if s.Collation != "" {
		return s.Collation
	}
	return DefaultCollation
}

// EffectiveDeletionPolicy is spec.deletionPolicy, Retain when empty.
func (s *AppDatabaseSpec) EffectiveDeletionPolicy() DeletionPolicy {
	if s.DeletionPolicy == "" {
		return DeletionPolicyRetain
	}
	return s.DeletionPolicy
}

// EffectiveAppNamespace is the namespace that receives the Secret: spec.appNamespace, or the
// AppDatabase's own namespace.
func (a *AppDatabase) EffectiveAppNamespace() string {
	if a.Spec.AppNamespace != "" {
		return a.Spec.AppNamespace
	}
	return a.Namespace
}

// EffectiveSecretName is the account's secretName, or its default next to the main Secret.
func (u *AppDatabaseUser) EffectiveSecretName(spec *AppDatabaseSpec) string {
	if u.SecretName != "" {
		return u.SecretName
	}
	return DefaultUserSecretName(spec.EffectiveSecretName(), u.Name)
}
