package v1

// ConditionReady is the one condition type of an AppDatabase. It is True exactly when
// status.phase is Ready for the current generation.
const ConditionReady = "Ready"

// Reasons of the Ready condition. A failure reason is either terminal (a person has to change
// something: the spec, the cluster configuration, another object) or retrying (the operator keeps
// trying with backoff and recovers by itself once the cause is gone). Clients such as the CLI stop
// waiting on a terminal reason only.
const (
	// ReasonProvisioned: the database, user, grant and Secret exist and the user logs in.
	ReasonProvisioned = "Provisioned"
	// ReasonProvisioning: work is in progress.
	ReasonProvisioning = "Provisioning"
	// ReasonDeleting: the AppDatabase is being deleted and its database and user are being dropped.
	ReasonDeleting = "Deleting"

	// ReasonInvalidSpec: the spec passed the API's validation but cannot be served, for instance a
	// reserved name or a charset the server does not know.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonNamespaceNotAllowed: the AppDatabase targets a namespace other than its own and does
	// not live in the platform namespace.
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	// ReasonOwnershipConflict: the database or user exists and belongs to another AppDatabase, or
	// was not created by DB Concierge.
	ReasonOwnershipConflict = "OwnershipConflict"
	// ReasonSecretConflict: a Secret of the same name exists and is not this AppDatabase's.
	ReasonSecretConflict = "SecretConflict"
	// ReasonUnknownCluster: clusterRef names no configured cluster.
	ReasonUnknownCluster = "UnknownCluster"
	// ReasonClusterNotAllowed: the cluster's allowedNamespaces does not include the namespace the
	// AppDatabase provisions into.
	ReasonClusterNotAllowed = "ClusterNotAllowed"
	// ReasonQuotaExceeded: the namespace, or the cluster, has as many databases as the cluster's
	// maxDatabasesPerNamespace or maxDatabases allows.
	ReasonQuotaExceeded = "QuotaExceeded"
	// ReasonNamespaceReplaced: the target namespace was deleted and created again (it has another
	// UID than the one recorded in status.appNamespaceUID). Whoever created it may not be the
	// application the database belongs to, so no credentials are written into it until the
	// platform team confirms the new namespace.
	ReasonNamespaceReplaced = "NamespaceReplaced"
	// ReasonDatabaseMissing: the database was provisioned, then dropped outside DB Concierge. The
	// operator does not silently recreate an empty database under an application that had data.
	ReasonDatabaseMissing = "DatabaseMissing"
	// ReasonPasswordRejected: the password in the Secret is outside the characters DB Concierge
	// accepts, or the server's password policy refused it.
	ReasonPasswordRejected = "PasswordRejected"
	// ReasonPasswordSourceNotFound: a passwordFrom names a Secret or key that does not exist, or
	// a Secret that does not carry the label db.stillwaters.io/password-source=true.
	ReasonPasswordSourceNotFound = "PasswordSourceNotFound"
	// ReasonInitSQLNotFound: spec.init names a ConfigMap or key that does not exist, or a
	// ConfigMap that does not carry the label db.stillwaters.io/init-sql=true.
	ReasonInitSQLNotFound = "InitSQLNotFound"
	// ReasonInitFailed: the server refused a statement of spec.init's SQL. It runs again once the
	// SQL changes.
	ReasonInitFailed = "InitFailed"

	// ReasonClusterUnreachable: the operator cannot connect to the cluster's admin endpoint.
	ReasonClusterUnreachable = "ClusterUnreachable"
	// ReasonAdminCredentialsInvalid: the cluster rejects the operator's admin login or lacks a
	// privilege the operator needs.
	ReasonAdminCredentialsInvalid = "AdminCredentialsInvalid"
	// ReasonNamespaceNotFound: the target namespace does not exist (yet).
	ReasonNamespaceNotFound = "NamespaceNotFound"
	// ReasonProvisioningError: any other error from MySQL or the Kubernetes API; retried.
	ReasonProvisioningError = "ProvisioningError"
)

// Reasons of a MySQLCluster's Ready condition. A cluster that cannot be used for one of the
// causes an AppDatabase also reports gives the same reason: ReasonClusterUnreachable or
// ReasonAdminCredentialsInvalid.
const (
	// ReasonReachable: the operator logs in with the admin account and the server answers.
	ReasonReachable = "Reachable"
	// ReasonInvalidConfiguration: a Secret the MySQLCluster names is missing or incomplete.
	ReasonInvalidConfiguration = "InvalidConfiguration"
	// ReasonServerChanged: the admin endpoints lead to another server than the one recorded in
	// status.serverIdentity (a MySQLCluster repointed by mistake, say). Nothing is provisioned
	// there until the platform team accepts it.
	ReasonServerChanged = "ServerChanged"
	// ReasonCheckFailed: the check itself failed, not the cluster: the API server did not return a
	// Secret it names, or the server answered with an error of no known class. Retried at the
	// next check.
	ReasonCheckFailed = "CheckFailed"
)

var terminalReasons = map[string]bool{
	ReasonInvalidSpec:         true,
	ReasonNamespaceNotAllowed: true,
	ReasonOwnershipConflict:   true,
	ReasonSecretConflict:      true,
	ReasonUnknownCluster:      true,
	ReasonClusterNotAllowed:   true,
	ReasonQuotaExceeded:       true,
	ReasonDatabaseMissing:     true,
	ReasonNamespaceReplaced:   true,
	ReasonPasswordRejected:    true,

	ReasonPasswordSourceNotFound: true,
	ReasonInitSQLNotFound:        true,
	ReasonInitFailed:             true,
}

// IsTerminalReason reports whether a failure with this reason needs a person to act; every other
// failure reason is retried by the operator.
func IsTerminalReason(reason string) bool { return terminalReasons[reason] }
