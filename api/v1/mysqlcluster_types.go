package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Endpoint is a MySQL server address.
type Endpoint struct {
	// host is a DNS name or IP address.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// port defaults to 3306.
	// +optional
	// +kubebuilder:default=3306
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// SecretKeyRef points at one key of a Secret in the platform namespace.
type SecretKeyRef struct {
	// name of the Secret, in the operator's platform namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// key within the Secret.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// AdminCredentials says where the operator's admin account is kept.
type AdminCredentials struct {
	// secretName is a Secret in the operator's platform namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
	// usernameKey is the key holding the user name; default MYSQL_ADMIN_USER, so the seed's admin
	// Secret can be reused as it is.
	// +optional
	// +kubebuilder:default=MYSQL_ADMIN_USER
	UsernameKey string `json:"usernameKey,omitempty"`
	// passwordKey is the key holding the password; default MYSQL_ADMIN_PASSWORD.
	// +optional
	// +kubebuilder:default=MYSQL_ADMIN_PASSWORD
	PasswordKey string `json:"passwordKey,omitempty"`
}

// TLSMode says how the operator's connections to the cluster use TLS.
// +kubebuilder:validation:Enum=Disabled;Required;VerifyCA;VerifyFull
type TLSMode string

// The values of TLSMode, from the least to the most checked.
const (
	// TLSDisabled: plain connections.
	TLSDisabled TLSMode = "Disabled"
	// TLSRequired: encrypted, the server's certificate not checked.
	TLSRequired TLSMode = "Required"
	// TLSVerifyCA: encrypted, the certificate must be signed by the CA; its name is not checked.
	TLSVerifyCA TLSMode = "VerifyCA"
	// TLSVerifyFull: encrypted, signed by the CA, and issued for the host connected to.
	TLSVerifyFull TLSMode = "VerifyFull"
)

// TLSSpec configures TLS to the cluster.
type TLSSpec struct {
	// mode defaults to VerifyFull.
	// +optional
	// +kubebuilder:default=VerifyFull
	Mode TLSMode `json:"mode,omitempty"`
	// ca is the CA certificate (PEM) that signs the servers' certificates; key defaults to ca.crt.
	// Required for VerifyCA and VerifyFull.
	// +optional
	CA *SecretKeyRef `json:"ca,omitempty"`
	// clientCertificateSecret names a kubernetes.io/tls Secret (tls.crt, tls.key) in the platform
	// namespace, for servers that ask for a client certificate.
	// +optional
	ClientCertificateSecret string `json:"clientCertificateSecret,omitempty"`
	// serverName is the name to verify the certificate against, when it differs from the host.
	// +optional
	ServerName string `json:"serverName,omitempty"`
}

// MySQLClusterSpec is how the operator reaches one MySQL cluster, and what it tells applications.
//
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || self.tls.mode == 'Disabled' || self.tls.mode == 'Required' || has(self.tls.ca)",message="tls.ca is required for tls.mode VerifyCA and VerifyFull"
// +kubebuilder:validation:XValidation:rule="!has(self.maxUserConnections) || !has(self.defaultMaxUserConnections) || (self.defaultMaxUserConnections >= 1 && self.defaultMaxUserConnections <= self.maxUserConnections)",message="defaultMaxUserConnections must be between 1 and maxUserConnections"
// +kubebuilder:validation:XValidation:rule="!has(self.requireTLSForApplications) || !self.requireTLSForApplications || (has(self.tls) && self.tls.mode != 'Disabled')",message="requireTLSForApplications needs tls: applications cannot be required to use TLS the operator does not use itself"
type MySQLClusterSpec struct {
	// adminEndpoints are where the operator connects as the admin account, tried in order: the
	// first that answers is used, and the next one when it fails (a Galera or PXC node, an
	// HAProxy or ProxySQL in front of them).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	AdminEndpoints []Endpoint `json:"adminEndpoints"`
	// adminCredentials is the Secret with the admin account's user name and password.
	AdminCredentials AdminCredentials `json:"adminCredentials"`
	// applicationEndpoint is the host and port written into application Secrets, when
	// applications reach the cluster through another address than the operator (a Service name).
	// Defaults to the first admin endpoint.
	// +optional
	ApplicationEndpoint *Endpoint `json:"applicationEndpoint,omitempty"`
	// tls configures TLS for the operator's connections.
	// +optional
	TLS *TLSSpec `json:"tls,omitempty"`
	// requireTLSForApplications creates application users with REQUIRE SSL: they cannot log in
	// without TLS.
	// +optional
	RequireTLSForApplications bool `json:"requireTLSForApplications,omitempty"`
	// maxConnections caps the admin connections the operator opens to this cluster. Defaults to
	// the operator's --max-conns-per-cluster (4 unless the platform team changed it).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// defaultMaxUserConnections caps the simultaneous connections of every account of every
	// AppDatabase on this cluster that sets no maxUserConnections of its own. Unset or 0, such
	// accounts get no cap of their own (the server's max_user_connections still applies).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	DefaultMaxUserConnections *int32 `json:"defaultMaxUserConnections,omitempty"`
	// maxUserConnections is the most simultaneous connections any account on this cluster may
	// have, so that no application can take all of the server's max_connections. An account that
	// asks for more, or for no cap (0), is refused with InvalidSpec and left as it was (a Ready
	// AppDatabase keeps its limits, with a Warning Event, until its spec changes); one that asks
	// for nothing gets defaultMaxUserConnections, or this maximum when that is unset.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxUserConnections *int32 `json:"maxUserConnections,omitempty"`
	// passwordPolicy says what the passwords the operator generates for this cluster's accounts
	// are made of, and what a password an application team brings must meet. The default (32
	// characters, at least two upper-case letters, two lower-case, two digits and two of "-._~")
	// satisfies MySQL's validate_password at STRONG and MariaDB's simple_password_check and
	// cracklib_password_check at their default settings; a server with stricter settings needs a
	// policy to match them.
	// +optional
	PasswordPolicy *PasswordPolicy `json:"passwordPolicy,omitempty"`
	// allowedNamespaces says which namespaces may have databases on this cluster: those it names
	// and those its selector matches. Unset, every namespace may; set but empty, none may. An
	// AppDatabase of the platform namespace is checked for the namespace it provisions into
	// (appNamespace). Taking a namespace out drops nothing: its AppDatabases keep working as
	// they are, and changes to them are refused.
	// +optional
	AllowedNamespaces *NamespaceAccess `json:"allowedNamespaces,omitempty"`
	// maxDatabasesPerNamespace caps the databases each namespace may have on this cluster,
	// counted from the operator's ownership records on the server: a database whose AppDatabase
	// was deleted with deletionPolicy Retain counts until it is released (docs/ownership.md).
	// AppDatabases of the platform namespace count toward maxDatabases only. Lowering it drops
	// nothing: only new databases are refused (QuotaExceeded).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxDatabasesPerNamespace *int32 `json:"maxDatabasesPerNamespace,omitempty"`
	// maxDatabases caps the databases of all namespaces on this cluster, counted the same way.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxDatabases *int32 `json:"maxDatabases,omitempty"`
}

// NamespaceAccess names namespaces, by name and by label.
type NamespaceAccess struct {
	// names lists namespaces by name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=63
	Names []string `json:"names,omitempty"`
	// selector matches namespaces by their labels.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// PasswordPolicy is the make-up of generated passwords.
//
// +kubebuilder:validation:XValidation:rule="(has(self.minUppercase) ? self.minUppercase : 2) + (has(self.minLowercase) ? self.minLowercase : 2) + (has(self.minDigits) ? self.minDigits : 2) + (has(self.minSpecial) ? self.minSpecial : 2) <= (has(self.length) ? self.length : 32)",message="the minimum numbers of characters add up to more than length"
type PasswordPolicy struct {
	// length of a generated password; default 32.
	// +optional
	// +kubebuilder:validation:Minimum=16
	// +kubebuilder:validation:Maximum=128
	Length int32 `json:"length,omitempty"`
	// minUppercase is the least number of upper-case letters; default 2.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	MinUppercase *int32 `json:"minUppercase,omitempty"`
	// minLowercase is the least number of lower-case letters; default 2.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	MinLowercase *int32 `json:"minLowercase,omitempty"`
	// minDigits is the least number of digits; default 2.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	MinDigits *int32 `json:"minDigits,omitempty"`
	// minSpecial is the least number of special characters; default 2.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	MinSpecial *int32 `json:"minSpecial,omitempty"`
	// specialCharacters are the special characters a generated password may hold: some of
	// "-._~", the characters that need no escaping in a URL, a DSN, YAML or a shell line. Default
	// all four.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:Pattern=`^[-._~]+$`
	SpecialCharacters string `json:"specialCharacters,omitempty"`
}

// MySQLClusterStatus is what the operator last found when it checked the cluster.
type MySQLClusterStatus struct {
	// reachable says whether the operator could log in as the admin account at the last check.
	// +optional
	Reachable bool `json:"reachable"`
	// flavor is the server's kind: MySQL, PerconaServer, PerconaXtraDBCluster, MariaDB or
	// MariaDBGalera.
	// +optional
	Flavor string `json:"flavor,omitempty"`
	// version is the server's version, as it reports it.
	// +optional
	Version string `json:"version,omitempty"`
	// endpoint is the admin endpoint that answered.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// serverIdentity identifies the server (or Galera cluster) behind the admin endpoints: a
	// UUID the operator keeps with its ownership records on the server, so that it travels with
	// the data (a restored backup keeps it) and not with a node or a host name. Once recorded, a
	// server with another identity is not provisioned until the platform team accepts it with
	// the annotation db.stillwaters.io/accept-server-identity.
	// +optional
	ServerIdentity string `json:"serverIdentity,omitempty"`
	// message explains the last check's outcome.
	// +optional
	Message string `json:"message,omitempty"`
	// lastCheckTime is when the operator last checked the cluster.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`
	// observedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions hold Ready: the cluster answers the admin account.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MySQLCluster is one MySQL cluster that AppDatabases can name in spec.clusterRef: its name is
// the clusterRef. A MySQLCluster takes precedence over the legacy admin Secret for the same name.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mysqlc
// +kubebuilder:printcolumn:name="Reachable",type=boolean,JSONPath=`.status.reachable`
// +kubebuilder:printcolumn:name="Flavor",type=string,JSONPath=`.status.flavor`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.version`
// +kubebuilder:printcolumn:name="Checked",type=date,JSONPath=`.status.lastCheckTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MySQLCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   MySQLClusterSpec   `json:"spec"`
	Status MySQLClusterStatus `json:"status,omitempty"`
}

// MySQLClusterList is a list of MySQLClusters.
//
// +kubebuilder:object:root=true
type MySQLClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MySQLCluster `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MySQLCluster{}, &MySQLClusterList{})
}
