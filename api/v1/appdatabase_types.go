package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy says what happens to the MySQL database and user when their AppDatabase is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionPolicyRetain keeps the database, the user and the Secret.
	DeletionPolicyRetain DeletionPolicy = "Retain"
	// DeletionPolicyDelete drops the database and the user; the Secret is kept.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// Phase is the one-word summary of an AppDatabase's state.
// +kubebuilder:validation:Enum=Pending;Creating;Ready;Failed
type Phase string

// The values of Phase.
const (
	PhasePending  Phase = "Pending"
	PhaseCreating Phase = "Creating"
	PhaseReady    Phase = "Ready"
	PhaseFailed   Phase = "Failed"
)

// AppDatabaseSpec is what an application asks for.
//
// +kubebuilder:validation:XValidation:rule="has(self.userName) || size(self.dbName) <= 28",message="dbName is longer than 28 characters, so the default userName (dbName + \"_app\") would exceed MySQL's 32-character limit: set spec.userName"
// +kubebuilder:validation:XValidation:rule="has(self.secretName) || !self.dbName.startsWith('_')",message="dbName starts with '_', so the default secretName would start with '-', which Kubernetes does not allow: set spec.secretName"
// +kubebuilder:validation:XValidation:rule="!has(self.charset) || !has(self.collation) || self.collation.startsWith(self.charset + '_') || self.collation.startsWith('uca1400_') || (self.charset == 'binary' && self.collation == 'binary') || (self.charset == 'utf8' && self.collation.startsWith('utf8mb3_'))",message="collation does not belong to charset (for example charset utf8mb4 goes with collation utf8mb4_unicode_ci): when you change charset, set collation too"
// +kubebuilder:validation:XValidation:rule="has(self.userName) == has(oldSelf.userName) && (!has(self.userName) || self.userName == oldSelf.userName)",message="userName is immutable: it cannot be set, changed or removed after creation"
// +kubebuilder:validation:XValidation:rule="has(self.secretName) == has(oldSelf.secretName) && (!has(self.secretName) || self.secretName == oldSelf.secretName)",message="secretName is immutable: it cannot be set, changed or removed after creation"
// +kubebuilder:validation:XValidation:rule="!has(self.users) || self.users.all(u, u.name.lowerAscii() != (has(self.userName) ? self.userName : self.dbName + '_app').lowerAscii())",message="users: an extra account has the name of the main user (userName, or dbName + \"_app\")"
// +kubebuilder:validation:XValidation:rule="!has(self.users) || self.users.all(u, !has(u.secretName) || u.secretName != (has(self.secretName) ? self.secretName : self.dbName.lowerAscii().replace('_', '-') + '-mysql-creds'))",message="users: an extra account's secretName is the main Secret's name"
// +kubebuilder:validation:XValidation:rule="has(self.appNamespace) == has(oldSelf.appNamespace) && (!has(self.appNamespace) || self.appNamespace == oldSelf.appNamespace)",message="appNamespace is immutable: it cannot be set, changed or removed after creation"
type AppDatabaseSpec struct {
	// clusterRef names the MySQL cluster to create the database on, as configured by the platform
	// team (the MYSQL_CLUSTER_NAME of the operator's admin Secret, by default "cluster1-haproxy").
	// Immutable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="clusterRef is immutable"
	ClusterRef string `json:"clusterRef"`

	// dbName is the name of the MySQL database: letters, digits and '_', at most 64 characters.
	// It also derives the defaults of userName and secretName. Immutable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_]+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="dbName is immutable"
	DBName string `json:"dbName"`

	// appNamespace is the namespace that receives the credentials Secret. An AppDatabase in the
	// application's own namespace may leave it out (it defaults to that namespace) or must name
	// that same namespace; only an AppDatabase in the platform namespace may target another one.
	// Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	AppNamespace string `json:"appNamespace,omitempty"`

	// secretName is the name of the credentials Secret in appNamespace. Defaults to dbName in lower
	// case with '_' replaced by '-', followed by "-mysql-creds" (myapp -> myapp-mysql-creds).
	// Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// userName is the MySQL user the application logs in as: letters, digits and '_', at most 32
	// characters. It is granted all privileges on this database and nothing else. Defaults to
	// dbName followed by "_app". Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_]+$`
	UserName string `json:"userName,omitempty"`

	// charset is the database's default character set. Changing it runs ALTER DATABASE, which
	// affects tables created afterwards, not existing ones.
	// +optional
	// +kubebuilder:default=utf8mb4
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_]+$`
	Charset string `json:"charset,omitempty"`

	// collation is the database's default collation; it must belong to charset.
	// +optional
	// +kubebuilder:default=utf8mb4_unicode_ci
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_]+$`
	Collation string `json:"collation,omitempty"`

	// deletionPolicy says what deleting this AppDatabase does to MySQL. Retain (the default) keeps
	// the database and the user; Delete drops both, with all their data. The Secret is kept either
	// way. May be changed at any time.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// maxUserConnections caps the simultaneous connections of the main user (userName). Unset,
	// the cluster's defaultMaxUserConnections applies; 0 sets no cap of the account's own (the
	// server's max_user_connections still applies).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	MaxUserConnections *int32 `json:"maxUserConnections,omitempty"`

	// users are extra accounts on the same database, besides the main user: a read-only account
	// for reporting, a DataOnly account for the application while migrations run as the main
	// user. Each gets its own Secret. Adding one creates only that account; removing one drops
	// the account (the database is untouched) and keeps its Secret.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(u, self.exists_one(v, v.name.lowerAscii() == u.name.lowerAscii()))",message="users: two accounts have the same name (names compare without regard to case)"
	// +kubebuilder:validation:XValidation:rule="self.all(u, !has(u.secretName) || self.exists_one(v, has(v.secretName) && v.secretName == u.secretName))",message="users: two accounts have the same secretName"
	Users []AppDatabaseUser `json:"users,omitempty"`

	// passwordFrom takes the main user's password from a key of a Secret in appNamespace that
	// the application team keeps (with External Secrets Operator or Vault, say), instead of a
	// generated one. The credentials Secret (secretName) still holds the connection details. A
	// new password in the source is applied as a rotation (see passwordRotation): the previous
	// one keeps logging in for the grace period.
	// +optional
	PasswordFrom *PasswordSource `json:"passwordFrom,omitempty"`

	// passwordRotation rotates the credentials of every account of this database: on a schedule
	// (every), and whenever the annotation db.stillwaters.io/rotate-password gets a new value.
	// On MySQL 8.0.14 and later each account keeps its previous password as a second one for
	// gracePeriod; elsewhere each account takes turns with a partner account of the same access
	// (its name followed by "_2"), and the previous one is locked after gracePeriod.
	// +optional
	PasswordRotation *PasswordRotation `json:"passwordRotation,omitempty"`

	// secretTemplate adds labels, annotations and keys to the Secret of every account.
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`

	// init runs SQL from a ConfigMap in appNamespace once, as the main user, right after the
	// database is created: tables and seed rows an application expects to find. It is not a
	// migration tool.
	// +optional
	Init *DatabaseInit `json:"init,omitempty"`
}

// DatabaseInit is SQL to run in a new database.
type DatabaseInit struct {
	// configMapRef names the ConfigMap key holding the SQL. The ConfigMap must carry the label
	// db.stillwaters.io/init-sql=true.
	ConfigMapRef ConfigMapKeyRef `json:"configMapRef"`
	// rerunOnChange runs the SQL again, on the existing database, whenever its content differs
	// from the last run's, and once when init is added to a database that already exists.
	// Without it the SQL runs only when the database is created.
	// +optional
	RerunOnChange bool `json:"rerunOnChange,omitempty"`
}

// ConfigMapKeyRef names a key of a ConfigMap in the AppDatabase's appNamespace.
type ConfigMapKeyRef struct {
	// name is the ConfigMap's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// key is the key holding the SQL.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// InitStatus is the last run of spec.init.
type InitStatus struct {
	// checksum is the SHA-256 of the SQL last run, in hex.
	Checksum string `json:"checksum"`
	// lastRunTime is when it started.
	LastRunTime metav1.Time `json:"lastRunTime"`
	// result is Running while it runs, then Succeeded or Failed. A run found Running was cut
	// short (the operator stopped): it is not repeated, since part of it may be done. SQL that
	// failed or was cut short runs again only once its content changes.
	Result InitResult `json:"result"`
	// message is, for a run that failed, the statement's error as the server gave it.
	// +optional
	Message string `json:"message,omitempty"`
}

// InitResult is how a run of spec.init ended.
// +kubebuilder:validation:Enum=Running;Succeeded;Failed
type InitResult string

// The results.
const (
	InitRunning   InitResult = "Running"
	InitSucceeded InitResult = "Succeeded"
	InitFailed    InitResult = "Failed"
)

// SecretTemplate is what an AppDatabase adds to its Secrets, beside the keys DB Concierge
// writes. The operator keeps them as it keeps its own: a key edited or deleted by hand is
// written again.
type SecretTemplate struct {
	// labels are added to each Secret (for tools that select Secrets by label). Keys under
	// db.stillwaters.io/ and app.kubernetes.io/managed-by are the operator's.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('db.stillwaters.io/') && k != 'app.kubernetes.io/managed-by')",message="labels under db.stillwaters.io/ and app.kubernetes.io/managed-by are the operator's"
	Labels map[string]string `json:"labels,omitempty"`
	// annotations are added to each Secret (for Reloader, Argo CD, backup tools). Keys under
	// db.stillwaters.io/ are the operator's.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('db.stillwaters.io/'))",message="annotations under db.stillwaters.io/ are the operator's"
	Annotations map[string]string `json:"annotations,omitempty"`
	// data are extra keys, each rendered from a Go text/template over the account's connection:
	// the fields .Host, .Port, .Username, .Password and .Database, and the functions urlencode
	// (RFC 3986 percent-encoding), urlquery (form encoding), shellquote, json, eq, ne, and, or
	// and not. A template may use if and with, but not range, define, template or printf.
	// +optional
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=16
	Data []SecretTemplateKey `json:"data,omitempty"`
}

// SecretTemplateKey is one key a template adds to a Secret.
type SecretTemplateKey struct {
	// key is the Secret key. The keys DB Concierge writes (host, port, username, password,
	// database, connection-string, jdbc-uri, go-dsn, pending-password) cannot be set here.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['host', 'port', 'username', 'password', 'database', 'connection-string', 'jdbc-uri', 'go-dsn', 'pending-password'])",message="this key is written by DB Concierge and cannot come from a template"
	Key string `json:"key"`
	// template renders the key's value, at most 16 KiB.
	// +kubebuilder:validation:MaxLength=4096
	Template string `json:"template"`
}

// PasswordSource is where an account's password comes from.
type PasswordSource struct {
	// secretKeyRef is a key of a Secret in appNamespace.
	SecretKeyRef PasswordSecretKeyRef `json:"secretKeyRef"`
}

// PasswordSecretKeyRef names one key of a Secret in the AppDatabase's appNamespace.
type PasswordSecretKeyRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// key within the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// PasswordRotation says when credentials are rotated, and how long the previous ones last.
//
// +kubebuilder:validation:XValidation:rule="!has(self.every) || duration(self.every) >= duration('1m')",message="passwordRotation.every must be at least 1m"
// +kubebuilder:validation:XValidation:rule="!has(self.every) || duration(has(self.gracePeriod) ? self.gracePeriod : '1h') < duration(self.every)",message="passwordRotation.gracePeriod must be shorter than every (gracePeriod defaults to 1h)"
type PasswordRotation struct {
	// every is the time between scheduled rotations, such as 2160h (90 days); at least 1m. Unset,
	// credentials rotate only on demand. The first is due every after the AppDatabase was
	// created.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s))+$`
	Every *metav1.Duration `json:"every,omitempty"`
	// gracePeriod is how long the previous credentials keep logging in after a rotation, so that
	// applications can restart with the new ones at any time within it; default 1h, at most 720h.
	// 0s locks them at once (a leaked password). A rotation asked for during a grace period
	// starts when it ends.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('720h')",message="passwordRotation.gracePeriod must be at most 720h"
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// Access is what an extra account may do in its database: one of a few presets.
// +kubebuilder:validation:Enum=ReadWrite;DataOnly;ReadOnly
type Access string

// The values of Access.
const (
	// AccessReadWrite: everything inside the database, DDL included, like the main user.
	AccessReadWrite Access = "ReadWrite"
	// AccessDataOnly: SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES and LOCK
	// TABLES; no CREATE, ALTER or DROP.
	AccessDataOnly Access = "DataOnly"
	// AccessReadOnly: SELECT, SHOW VIEW and EXECUTE.
	AccessReadOnly Access = "ReadOnly"
)

// AppDatabaseUser is an extra account on the AppDatabase's database.
type AppDatabaseUser struct {
	// name is the MySQL user: letters, digits and '_', at most 32 characters. It follows the
	// rules of userName: not another tenant's account, not a reserved or the admin account.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_]+$`
	Name string `json:"name"`

	// access is ReadWrite, DataOnly or ReadOnly; it may be changed at any time.
	Access Access `json:"access"`

	// secretName is the name of the account's credentials Secret in appNamespace. Defaults to the
	// main Secret's name without its "-mysql-creds" suffix, then "-", the user name in lower case
	// with '_' replaced by '-', and "-mysql-creds" (shop, user shop_ro -> shop-shop-ro-mysql-creds).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// maxUserConnections caps the account's simultaneous connections. Unset, the cluster's
	// defaultMaxUserConnections applies; 0 sets no cap of the account's own.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	MaxUserConnections *int32 `json:"maxUserConnections,omitempty"`

	// passwordFrom takes the account's password from a key of a Secret in appNamespace, as
	// spec.passwordFrom does for the main user.
	// +optional
	PasswordFrom *PasswordSource `json:"passwordFrom,omitempty"`
}

// AccountStatus is one account as provisioned.
type AccountStatus struct {
	// name is the MySQL user.
	Name string `json:"name"`
	// user is the MySQL account the Secret names: name, or after a rotation its partner.
	// +optional
	User string `json:"user,omitempty"`
	// previousValidUntil, after this account's credentials were rotated, is when the credentials
	// the Secret held before stop logging in: the account they name is locked then, or, with
	// second passwords, the previous password discarded.
	// +optional
	PreviousValidUntil *metav1.Time `json:"previousValidUntil,omitempty"`
	// access is the account's preset.
	Access Access `json:"access"`
	// secretName is the Secret, in appNamespace, holding the account's credentials.
	SecretName string `json:"secretName"`
}

// AppDatabaseStatus is what the operator observed and did.
type AppDatabaseStatus struct {
	// phase summarises the state: Pending, Creating, Ready or Failed. Ready means the application
	// user has been seen to log in with the Secret's password for the current spec.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// message explains the phase in words a developer can act on.
	// +optional
	Message string `json:"message,omitempty"`

	// userName is the MySQL user that was created.
	// +optional
	UserName string `json:"userName,omitempty"`

	// secretName is the name of the credentials Secret.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// accounts are the MySQL accounts of this database, the main user first, with their access
	// and the Secret holding each one's credentials.
	// +optional
	// +listType=map
	// +listMapKey=name
	Accounts []AccountStatus `json:"accounts,omitempty"`

	// appNamespace is the namespace that holds the credentials Secret.
	// +optional
	AppNamespace string `json:"appNamespace,omitempty"`

	// appNamespaceUID is the UID of appNamespace when the operator first found it, recorded for
	// AppDatabases that target another namespace. A namespace of the same name with another UID
	// was deleted and created again, perhaps by someone else: the operator writes no credentials
	// into it (reason NamespaceReplaced) until the platform team confirms the new UID with the
	// annotation db.stillwaters.io/accept-app-namespace-uid.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	AppNamespaceUID string `json:"appNamespaceUID,omitempty"`

	// connectionString is the URL the application connects to, without the password
	// (mysql://user@host:port/database).
	// +optional
	ConnectionString string `json:"connectionString,omitempty"`

	// lastReconcileTime is when the operator last changed something for this AppDatabase, or
	// handled a forced reconcile (the "reconcile" annotation). Routine checks that find nothing
	// to do leave it alone.
	// +optional
	LastReconcileTime *metav1.Time `json:"lastReconcileTime,omitempty"`

	// lastHandledReconcileAt is the value of the "reconcile" annotation the operator last acted on.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// observedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// passwordRotation says when credentials were last rotated, and what is due next.
	// +optional
	PasswordRotation *PasswordRotationStatus `json:"passwordRotation,omitempty"`

	// init is the last run of spec.init.
	// +optional
	Init *InitStatus `json:"init,omitempty"`

	// conditions hold the Ready condition, whose reason says why the AppDatabase is or is not ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PasswordRotationStatus is the state of an AppDatabase's credential rotation.
type PasswordRotationStatus struct {
	// lastRotationTime is when the Secrets last received new credentials by a rotation.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`
	// previousValidUntil is when the credentials the Secrets held before the last rotation stop
	// logging in: their accounts are locked, or their second passwords discarded, then.
	// +optional
	PreviousValidUntil *metav1.Time `json:"previousValidUntil,omitempty"`
	// nextRotationTime is when the next scheduled rotation is due.
	// +optional
	NextRotationTime *metav1.Time `json:"nextRotationTime,omitempty"`
	// lastHandledRotateAt is the value of the rotate-password annotation last acted on.
	// +optional
	LastHandledRotateAt string `json:"lastHandledRotateAt,omitempty"`
	// strategy is how the accounts rotate, chosen from what the server can do: SecondPassword
	// where it keeps two passwords per account (MySQL 8.0.14 and later), AlternatingAccounts
	// elsewhere.
	// +optional
	Strategy RotationStrategy `json:"strategy,omitempty"`
}

// RotationStrategy is how an AppDatabase's accounts keep their previous credentials working
// through a rotation's grace period.
// +kubebuilder:validation:Enum=SecondPassword;AlternatingAccounts
type RotationStrategy string

// The strategies.
const (
	// RotationSecondPassword gives each account its new password and keeps the previous one as
	// its second (ALTER USER ... RETAIN CURRENT PASSWORD), discarded when the grace period ends.
	RotationSecondPassword RotationStrategy = "SecondPassword"
	// RotationAlternatingAccounts sets the new password on each account's idle partner and points
	// the Secret at it; the previous account is locked when the grace period ends.
	RotationAlternatingAccounts RotationStrategy = "AlternatingAccounts"
)

// AppDatabase asks DB Concierge for a MySQL database on a configured cluster, a user that can
// use only that database, and a Secret holding the user's credentials in the application's
// namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=appdb
// +kubebuilder:printcolumn:name="Database",type=string,JSONPath=`.spec.dbName`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.appNamespace`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name must be at most 63 characters: the operator labels the Secret with it"
type AppDatabase struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   AppDatabaseSpec   `json:"spec"`
	Status AppDatabaseStatus `json:"status,omitempty"`
}

// AppDatabaseList is a list of AppDatabases.
//
// +kubebuilder:object:root=true
type AppDatabaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppDatabase `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AppDatabase{}, &AppDatabaseList{})
}
