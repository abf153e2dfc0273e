// Package cluster knows the MySQL clusters the operator serves: it reads their configuration from
// the platform namespace, keeps one admin connection pool per cluster, rebuilds a pool when its
// configuration changes, and notices when an unreachable cluster comes back.
package cluster

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// LegacySecretName is the seed's admin Secret in the platform namespace. It defines one cluster.
const LegacySecretName = "db-concierge-mysql-admin"

// Keys of the legacy admin Secret.
const (
	KeyAdminHost     = "MYSQL_ADMIN_HOST"
	KeyAdminPort     = "MYSQL_ADMIN_PORT"
	KeyAdminUser     = "MYSQL_ADMIN_USER"
	KeyAdminPassword = "MYSQL_ADMIN_PASSWORD"
	KeyClusterName   = "MYSQL_CLUSTER_NAME"
	KeyAppHost       = "MYSQL_APP_HOST"
	KeyAppPort       = "MYSQL_APP_PORT"
)

const defaultPort = 3306

// Endpoint is a host and port.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Config is everything the operator needs to serve one cluster. It is comparable, so a changed
// configuration is detected with ==.
type Config struct {
	// Name is what AppDatabases put in spec.clusterRef.
	Name string
	// Admin is where the operator connects as AdminUser.
	Admin         Endpoint
	AdminUser     string
	AdminPassword string
	// App is the host and port written into application Secrets; it defaults to Admin, and
	// differs when applications reach the cluster through another address than the operator.
	App Endpoint
}

// ConfigFromLegacySecret reads the seed's admin Secret. Errors name the key at fault and never
// carry a value.
func ConfigFromLegacySecret(secret *corev1.Secret) (Config, error) {
	get := func(key string) string { return strings.TrimSpace(string(secret.Data[key])) }
	where := fmt.Sprintf("Secret %s/%s", secret.Namespace, secret.Name)

	cfg := Config{
		Name:          get(KeyClusterName),
		AdminUser:     get(KeyAdminUser),
		AdminPassword: string(secret.Data[KeyAdminPassword]),
	}
	if cfg.Name == "" {
		cfg.Name = dbv1.DefaultClusterName
	}
	var err error
	if cfg.Admin, err = endpoint(get(KeyAdminHost), get(KeyAdminPort), KeyAdminHost, KeyAdminPort); err != nil {
		return Config{}, fmt.Errorf("%s: %w", where, err)
	}
	if cfg.AdminUser == "" {
		return Config{}, fmt.Errorf("%s: key %s is missing or empty", where, KeyAdminUser)
	}
	cfg.App = cfg.Admin
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

func endpoint(host, port, hostKey, portKey string) (Endpoint, error) {
	if host == "" {
		return Endpoint{}, fmt.Errorf("key %s is missing or empty", hostKey)
	}
	e := Endpoint{Host: host, Port: defaultPort}
	if port != "" {
		p, err := parsePort(port, portKey)
		if err != nil {
			return Endpoint{}, err
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
