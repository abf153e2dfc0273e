// Package cluster knows the MySQL clusters the operator serves: it reads their configuration from
// the platform namespace, keeps one admin connection pool per cluster, rebuilds a pool when its
// configuration changes, and notices when an unreachable cluster comes back.
package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/mysql"
)

// LegacySecretName is the seed's admin Secret in the platform namespace. It defines one cluster.
const LegacySecretName = "db-concierge-mysql-admin"

// Keys of the legacy admin Secret.
const (
	KeyAdminHost     = "MYSQL_ADMIN_HOST"
	KeyAdminPort     = "MYSQL_ADMIN_PORT"
	KeyAdminUser     = "MYSQL_ADMIN_USER"
	KeyAdminPassword = "MYSQL_ADMIN_PASSWORD" //nolint:gosec // G101: the name of a Secret key, not a credential
	KeyClusterName   = "MYSQL_CLUSTER_NAME"
	KeyAppHost       = "MYSQL_APP_HOST"
	KeyAppPort       = "MYSQL_APP_PORT"
	// KeyAllowedNamespaces and KeyAllowedNamespaceSelector are allowedNamespaces for the legacy
	// Secret: a comma-separated list of names, and a label selector as kubectl -l takes it.
	KeyAllowedNamespaces        = "ALLOWED_NAMESPACES"
	KeyAllowedNamespaceSelector = "ALLOWED_NAMESPACE_SELECTOR"
)

const defaultPort = 3306

// AcceptanceOf is the value of the annotation db.stillwaters.io/accept-server-identity that
// accepts the server of identity found in place of the one recorded: found itself, or, for a
// server without DB Concierge's records, "none-instead-of-" and the identity it replaces, so
// that an acceptance left on the object never accepts a later, unrelated server.
func AcceptanceOf(found, recorded string) string {
	if found == "" {
		return "none-instead-of-" + recorded
	}
	return found
}

// Endpoint is a server address: host and port.
type Endpoint = mysql.Endpoint

// Config is everything the operator needs to serve one cluster.
type Config struct {
	// Name is what AppDatabases put in spec.clusterRef.
	Name string
	// Source names where the configuration comes from, for messages.
	Source string
	// Admin are the endpoints the operator connects to as AdminUser, in order of preference.
	Admin         []mysql.Endpoint
	AdminUser     string
	AdminPassword string
	// App is the host and port written into application Secrets; it defaults to the first admin
	// endpoint, and differs when applications reach the cluster through another address.
	App mysql.Endpoint
	// TLS secures the operator's connections; nil for plain connections.
	TLS *mysql.TLS
	// RequireTLSForApplications creates application users with REQUIRE SSL.
	RequireTLSForApplications bool
	// MaxConns caps the admin pool; 0 takes the operator's default.
	MaxConns int
	// DefaultMaxUserConnections is the connection limit of every application account on this
	// cluster that sets none of its own; 0 sets no limit of the account's own.
	DefaultMaxUserConnections int
	// MaxUserConnections is the most connections an account may have; 0 sets no maximum.
	MaxUserConnections int
	// PasswordPolicy is the make-up of the passwords generated for this cluster's accounts; the
	// zero Policy is credentials.DefaultPolicy.
	PasswordPolicy credentials.Policy
	// Allowed are the namespaces that may have databases here; nil allows every namespace.
	Allowed *NamespaceAccess
	// MaxDatabasesPerNamespace and MaxDatabases cap the databases recorded on the cluster, per
	// namespace and in all; nil sets no cap.
	MaxDatabasesPerNamespace, MaxDatabases *int
	// ExpectedServer is the identity of the server the cluster's records must be on, from the
	// MySQLCluster's status or its acceptance annotation; "" checks nothing.
	ExpectedServer string
}

// NamespaceAccess is a set of namespaces: those named, and those the selector matches.
type NamespaceAccess struct {
	Names    []string
	Selector labels.Selector
	// Field names the setting in messages: "spec.allowedNamespaces of MySQLCluster prod", say.
	Field string
}

// Allows reports whether the namespace of that name and labels may use the cluster.
func (c Config) Allows(namespace string, nsLabels map[string]string) bool {
	a := c.Allowed
	if a == nil {
		return true
	}
	return slices.Contains(a.Names, namespace) || a.Selector != nil && a.Selector.Matches(labels.Set(nsLabels))
}

// ConfigFromLegacySecret reads the seed's admin Secret. Errors name the key at fault and never
// carry a value.
func ConfigFromLegacySecret(secret *corev1.Secret) (Config, error) {
	get := func(key string) string { return strings.TrimSpace(string(secret.Data[key])) }
	where := fmt.Sprintf("Secret %s/%s", secret.Namespace, secret.Name)

	cfg := Config{
		Name:          get(KeyClusterName),
		Source:        where,
		AdminUser:     get(KeyAdminUser),
		AdminPassword: string(secret.Data[KeyAdminPassword]),
	}
	if cfg.Name == "" {
		cfg.Name = dbv1.DefaultClusterName
	}
	admin, err := endpoint(get(KeyAdminHost), get(KeyAdminPort), KeyAdminHost, KeyAdminPort)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", where, err)
	}
	cfg.Admin = []mysql.Endpoint{admin}
	if cfg.AdminUser == "" {
		return Config{}, fmt.Errorf("%s: key %s is missing or empty", where, KeyAdminUser)
	}
	if names, selector := get(KeyAllowedNamespaces), get(KeyAllowedNamespaceSelector); names != "" || selector != "" {
		cfg.Allowed = &NamespaceAccess{Field: fmt.Sprintf("keys %s and %s of %s", KeyAllowedNamespaces, KeyAllowedNamespaceSelector, where)}
		for _, n := range strings.Split(names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Allowed.Names = append(cfg.Allowed.Names, n)
			}
		}
		if selector != "" {
			if cfg.Allowed.Selector, err = labels.Parse(selector); err != nil {
				return Config{}, fmt.Errorf("%s: key %s is not a label selector: %w", where, KeyAllowedNamespaceSelector, err)
			}
		}
	}
	cfg.App = admin
	if host := get(KeyAppHost); host != "" {
		cfg.App.Host = host
	}
	if port := get(KeyAppPort); port != "" {
		if cfg.App.Port, err = parsePort(port, KeyAppPort); err != nil {
			return Config{}, fmt.Errorf("%s: %w", where, err)
		}
	}
	return cfg, nil
}

func intOrNil(v *int32) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

func endpoint(host, port, hostKey, portKey string) (mysql.Endpoint, error) {
	if host == "" {
		return mysql.Endpoint{}, fmt.Errorf("key %s is missing or empty", hostKey)
	}
	e := mysql.Endpoint{Host: host, Port: defaultPort}
	if port != "" {
		p, err := parsePort(port, portKey)
		if err != nil {
			return mysql.Endpoint{}, err
		}
		e.Port = p
	}
	return e, nil
}

func parsePort(value, key string) (int, error) {
	p, err := strconv.Atoi(value)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("key %s is not a port number between 1 and 65535", key)
	}
	return p, nil
}

// Keys of a kubernetes.io/tls Secret and of a CA Secret.
const (
	keyTLSCert = "tls.crt"
	keyTLSKey  = "tls.key"
	keyCA      = "ca.crt"
)

// ConfigFromCluster reads a MySQLCluster, with secret fetching the Secrets it names from the
// platform namespace. Errors name the object and key at fault and never carry a value.
func ConfigFromCluster(c *dbv1.MySQLCluster, secret func(name string) (*corev1.Secret, error)) (Config, error) {
	where := "MySQLCluster " + c.Name
	cfg := Config{Name: c.Name, Source: where, RequireTLSForApplications: c.Spec.RequireTLSForApplications, MaxConns: int(c.Spec.MaxConnections)}
	if limit := c.Spec.DefaultMaxUserConnections; limit != nil {
		cfg.DefaultMaxUserConnections = int(*limit)
	}
	if limit := c.Spec.MaxUserConnections; limit != nil {
		cfg.MaxUserConnections = int(*limit)
		if cfg.DefaultMaxUserConnections == 0 {
			cfg.DefaultMaxUserConnections = cfg.MaxUserConnections
		}
	}
	cfg.MaxDatabasesPerNamespace, cfg.MaxDatabases = intOrNil(c.Spec.MaxDatabasesPerNamespace), intOrNil(c.Spec.MaxDatabases)
	// Accepting another server moves the status (the MySQLCluster's check); the engine follows it.
	cfg.ExpectedServer = c.Status.ServerIdentity
	if a := c.Spec.AllowedNamespaces; a != nil {
		cfg.Allowed = &NamespaceAccess{Names: a.Names, Field: "spec.allowedNamespaces of " + where}
		if a.Selector != nil {
			selector, err := metav1.LabelSelectorAsSelector(a.Selector)
			if err != nil {
				return Config{}, fmt.Errorf("%s: spec.allowedNamespaces.selector: %w", where, err)
			}
			cfg.Allowed.Selector = selector
		}
	}
	if p := c.Spec.PasswordPolicy; p != nil {
		cfg.PasswordPolicy = passwordPolicyOf(p)
		if err := cfg.PasswordPolicy.Validate(); err != nil {
			return Config{}, fmt.Errorf("%s: spec.passwordPolicy: %w", where, err)
		}
	}
	for _, e := range c.Spec.AdminEndpoints {
		cfg.Admin = append(cfg.Admin, mysql.Endpoint{Host: e.Host, Port: portOrDefault(e.Port)})
	}
	if len(cfg.Admin) == 0 {
		return Config{}, fmt.Errorf("%s: spec.adminEndpoints is empty", where)
	}
	cfg.App = cfg.Admin[0]
	if e := c.Spec.ApplicationEndpoint; e != nil {
		cfg.App = mysql.Endpoint{Host: e.Host, Port: portOrDefault(e.Port)}
	}

	creds := c.Spec.AdminCredentials
	s, err := secret(creds.SecretName)
	if err != nil {
		return Config{}, fmt.Errorf("%s: admin credentials: %w", where, err)
	}
	userKey, passwordKey := orDefault(creds.UsernameKey, KeyAdminUser), orDefault(creds.PasswordKey, KeyAdminPassword)
	cfg.AdminUser = strings.TrimSpace(string(s.Data[userKey]))
	cfg.AdminPassword = string(s.Data[passwordKey])
	if cfg.AdminUser == "" {
		return Config{}, fmt.Errorf("%s: Secret %s has no key %s", where, creds.SecretName, userKey)
	}
	if _, ok := s.Data[passwordKey]; !ok {
		return Config{}, fmt.Errorf("%s: Secret %s has no key %s", where, creds.SecretName, passwordKey)
	}

	if t := c.Spec.TLS; t != nil && t.Mode != dbv1.TLSDisabled {
		cfg.TLS = &mysql.TLS{Mode: mysql.TLSMode(orDefault(string(t.Mode), string(dbv1.TLSVerifyFull))), ServerName: t.ServerName}
		if t.CA != nil {
			ca, err := secret(t.CA.Name)
			if err != nil {
				return Config{}, fmt.Errorf("%s: tls.ca: %w", where, err)
			}
			key := orDefault(t.CA.Key, keyCA)
			if cfg.TLS.CA = ca.Data[key]; len(cfg.TLS.CA) == 0 {
				return Config{}, fmt.Errorf("%s: tls.ca: Secret %s has no key %s", where, t.CA.Name, key)
			}
		}
		if t.ClientCertificateSecret != "" {
			pair, err := secret(t.ClientCertificateSecret)
			if err != nil {
				return Config{}, fmt.Errorf("%s: tls.clientCertificateSecret: %w", where, err)
			}
			cfg.TLS.ClientCert, cfg.TLS.ClientKey = pair.Data[keyTLSCert], pair.Data[keyTLSKey]
		}
	}
	return cfg, nil
}

func portOrDefault(p int32) int {
	if p == 0 {
		return defaultPort
	}
	return int(p)
}

func orDefault(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// passwordPolicyOf fills what a MySQLCluster's passwordPolicy leaves out from the default.
func passwordPolicyOf(p *dbv1.PasswordPolicy) credentials.Policy {
	policy := credentials.DefaultPolicy
	if p.Length != 0 {
		policy.Length = int(p.Length)
	}
	for _, m := range []struct {
		set  *int32
		into *int
	}{{p.MinUppercase, &policy.MinUpper}, {p.MinLowercase, &policy.MinLower}, {p.MinDigits, &policy.MinDigits}, {p.MinSpecial, &policy.MinSpecial}} {
		if m.set != nil {
			*m.into = int(*m.set)
		}
	}
	if p.SpecialCharacters != "" {
		policy.Specials = p.SpecialCharacters
	}
	return policy
}
