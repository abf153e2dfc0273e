package cluster

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestConfigFromLegacySecret(t *testing.T) {
	base := map[string]string{
		KeyAdminHost: "cluster1-haproxy.default.svc.cluster.local", KeyAdminUser: "root", KeyAdminPassword: "s3cret",
	}
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
			Admin: Endpoint{"cluster1-haproxy.default.svc.cluster.local", 3306}, App: Endpoint{"cluster1-haproxy.default.svc.cluster.local", 3306},
		}, ""},
		{"named cluster, app endpoint", with(map[string]string{KeyClusterName: "prod", KeyAdminPort: "3307", KeyAppHost: "prod.example", KeyAppPort: "6033"}), Config{
			Name: "prod", AdminUser: "root", AdminPassword: "s3cret", Admin: Endpoint{"cluster1-haproxy.default.svc.cluster.local", 3307}, App: Endpoint{"prod.example", 6033},
		}, ""},
		{"app host only keeps the admin port", with(map[string]string{KeyAppHost: "app.example"}), Config{
			Name: "cluster1-haproxy", AdminUser: "root", AdminPassword: "s3cret", Admin: Endpoint{"cluster1-haproxy.default.svc.cluster.local", 3306}, App: Endpoint{"app.example", 3306},
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
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, c.want)
			}
		})
	}
}
