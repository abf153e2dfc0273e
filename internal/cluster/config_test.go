package cluster

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/mysql"
)

func TestConfigFromLegacySecret(t *testing.T) {
	const host = "cluster1-haproxy.default.svc.cluster.local"
	base := map[string]string{KeyAdminHost: host, KeyAdminUser: "root", KeyAdminPassword: "s3cret"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name    string
		data    map[string]string
		want    Config
		wantErr string
	}{
		{"seed's keys, defaults", base, Config{
			Name: "cluster1-haproxy", AdminUser: "root", AdminPassword: "s3cret",
			Admin: []mysql.Endpoint{{Host: host, Port: 3306}}, App: mysql.Endpoint{Host: host, Port: 3306},
		}, ""},
		{"named cluster, app endpoint", with(map[string]string{KeyClusterName: "prod", KeyAdminPort: "3307", KeyAppHost: "prod.example", KeyAppPort: "6033"}), Config{
			Name: "prod", AdminUser: "root", AdminPassword: "s3cret", Admin: []mysql.Endpoint{{Host: host, Port: 3307}}, App: mysql.Endpoint{Host: "prod.example", Port: 6033},
		}, ""},
		{"app host only keeps the admin port", with(map[string]string{KeyAppHost: "app.example"}), Config{
			Name: "cluster1-haproxy", AdminUser: "root", AdminPassword: "s3cret", Admin: []mysql.Endpoint{{Host: host, Port: 3306}}, App: mysql.Endpoint{Host: "app.example", Port: 3306},
		}, ""},
		{"missing host", with(map[string]string{KeyAdminHost: ""}), Config{}, KeyAdminHost},
		{"missing user", with(map[string]string{KeyAdminUser: ""}), Config{}, KeyAdminUser},
		{"bad port", with(map[string]string{KeyAdminPort: "33o6"}), Config{}, KeyAdminPort},
		{"port out of range", with(map[string]string{KeyAppPort: "70000"}), Config{}, KeyAppPort},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "db-concierge", Name: LegacySecretName}, Data: map[string][]byte{}}
			for k, v := range c.data {
				s.Data[k] = []byte(v)
			}
			got, err := ConfigFromLegacySecret(s)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatal("error carries the password")
				}
				return
			}
			c.want.Source = "Secret db-concierge/" + LegacySecretName
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, c.want)
			}
		})
	}
}

func TestConfigFromCluster(t *testing.T) {
	secrets := map[string]*corev1.Secret{
		"admin":  {Data: map[string][]byte{KeyAdminUser: []byte("root"), KeyAdminPassword: []byte("s3cret"), "user": []byte("ops"), "pass": []byte("p")}},
		"ca":     {Data: map[string][]byte{"ca.crt": []byte("PEM")}},
		"client": {Data: map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")}},
	}
	get := func(name string) (*corev1.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		return nil, errors.New("Secret " + name + " not found")
	}
	cluster := func(change func(*dbv1.MySQLClusterSpec)) *dbv1.MySQLCluster {
		c := &dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints:   []dbv1.Endpoint{{Host: "n1", Port: 3306}, {Host: "n2"}},
			AdminCredentials: dbv1.AdminCredentials{SecretName: "admin"},
		}}
		change(&c.Spec)
		return c
	}
	cases := []struct {
		name    string
		cluster *dbv1.MySQLCluster
		check   func(Config) bool
		wantErr string
	}{
		{"endpoints in order, default port, app endpoint = first admin", cluster(func(*dbv1.MySQLClusterSpec) {}), func(c Config) bool {
			return reflect.DeepEqual(c.Admin, []mysql.Endpoint{{Host: "n1", Port: 3306}, {Host: "n2", Port: 3306}}) && c.App == c.Admin[0] &&
				c.AdminUser == "root" && c.AdminPassword == "s3cret" && c.TLS == nil
		}, ""},
		{"custom keys, application endpoint", cluster(func(s *dbv1.MySQLClusterSpec) {
			s.AdminCredentials.UsernameKey, s.AdminCredentials.PasswordKey = "user", "pass"
			s.ApplicationEndpoint = &dbv1.Endpoint{Host: "prod-haproxy", Port: 6033}
		}), func(c Config) bool {
			return c.AdminUser == "ops" && c.AdminPassword == "p" && c.App == mysql.Endpoint{Host: "prod-haproxy", Port: 6033}
		}, ""},
		{"TLS with CA and client certificate", cluster(func(s *dbv1.MySQLClusterSpec) {
			s.TLS = &dbv1.TLSSpec{CA: &dbv1.SecretKeyRef{Name: "ca"}, ClientCertificateSecret: "client"}
			s.RequireTLSForApplications = true
		}), func(c Config) bool {
			return c.TLS != nil && c.TLS.Mode == mysql.TLSVerifyFull && string(c.TLS.CA) == "PEM" && string(c.TLS.ClientKey) == "KEY" && c.RequireTLSForApplications
		}, ""},
		{"TLS disabled", cluster(func(s *dbv1.MySQLClusterSpec) { s.TLS = &dbv1.TLSSpec{Mode: dbv1.TLSDisabled} }), func(c Config) bool { return c.TLS == nil }, ""},
		{"no default connection limit", cluster(func(*dbv1.MySQLClusterSpec) {}), func(c Config) bool { return c.DefaultMaxUserConnections == 0 }, ""},
		{"a default connection limit", cluster(func(s *dbv1.MySQLClusterSpec) {
			limit := int32(25)
			s.DefaultMaxUserConnections = &limit
		}), func(c Config) bool { return c.DefaultMaxUserConnections == 25 }, ""},
		{"missing admin Secret", cluster(func(s *dbv1.MySQLClusterSpec) { s.AdminCredentials.SecretName = "nope" }), nil, "admin credentials"},
		{"missing key", cluster(func(s *dbv1.MySQLClusterSpec) { s.AdminCredentials.PasswordKey = "absent" }), nil, "has no key absent"},
		{"CA without the key", cluster(func(s *dbv1.MySQLClusterSpec) {
			s.TLS = &dbv1.TLSSpec{CA: &dbv1.SecretKeyRef{Name: "ca", Key: "other"}}
		}), nil, "has no key other"},
	}
	for _, c := range cases {
		got, err := ConfigFromCluster(c.cluster, get)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.wantErr)
			}
		case err != nil || !c.check(got):
			t.Errorf("%s: %+v, %v", c.name, got, err)
		}
	}
}

// A tenant who names a cluster that does not exist learns what to do, not which clusters exist.
func TestUnknownClusterErrorNamesNoOtherCluster(t *testing.T) {
	err := &UnknownClusterError{Name: "nowhere", Known: []string{"prod-eu", "payments"}, Secret: "db-concierge/db-concierge-mysql-admin"} //nolint:gosec // G101: a Secret's name, not a credential
	msg := err.Error()
	for _, other := range err.Known {
		if strings.Contains(msg, other) {
			t.Errorf("the message names cluster %s: %s", other, msg)
		}
	}
	if !strings.Contains(msg, `"nowhere"`) || !strings.Contains(msg, "spec.clusterRef") || !strings.Contains(msg, "platform team") {
		t.Errorf("the message does not say what to do: %s", msg)
	}
}

// allowedNamespaces, from a MySQLCluster and from the legacy Secret's keys, allows the namespaces
// it names and those its selector matches, and no other; unset, it allows every namespace.
func TestAllowedNamespaces(t *testing.T) {
	legacy := func(names, selector string) (Config, error) {
		return ConfigFromLegacySecret(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "db-concierge", Name: LegacySecretName},
			Data: map[string][]byte{KeyAdminHost: []byte("db"), KeyAdminUser: []byte("root"), KeyAdminPassword: []byte("pw"),
				KeyAllowedNamespaces: []byte(names), KeyAllowedNamespaceSelector: []byte(selector)}})
	}
	fromLegacy, err := legacy(" team-a , team-b ", "environment in (production),team")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		namespace string
		labels    map[string]string
		want      bool
	}{
		{"team-a", nil, true},
		{"team-b", map[string]string{"environment": "staging"}, true},
		{"team-c", map[string]string{"environment": "production", "team": "c"}, true},
		{"team-d", map[string]string{"environment": "production"}, false},
		{"team-e", nil, false},
	}
	for _, c := range cases {
		if got := fromLegacy.Allows(c.namespace, c.labels); got != c.want {
			t.Errorf("%s %v: allowed %v, want %v", c.namespace, c.labels, got, c.want)
		}
	}
	if open, err := legacy("", ""); err != nil || !open.Allows("anything", nil) {
		t.Errorf("without the keys every namespace is allowed: %v", err)
	}
	if _, err := legacy("", "environment in (production"); err == nil || !strings.Contains(err.Error(), KeyAllowedNamespaceSelector) {
		t.Errorf("a selector that does not parse: %v", err)
	}
}
