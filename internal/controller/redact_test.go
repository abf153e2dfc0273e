package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
)

func TestRedact(t *testing.T) {
	cfg := cluster.Config{
		Admin:     []cluster.Endpoint{{Host: "127.0.0.1", Port: 3306}, {Host: "pxc-1.pxc.svc", Port: 33060}, {Host: "::1", Port: 3307}},
		App:       cluster.Endpoint{Host: "127.0.0.1", Port: 3306},
		AdminUser: "concierge_admin",
	}
	cases := []struct {
		name, in, want string
	}{
		{"connecting",
			`connecting as "concierge_admin": 127.0.0.1:3306: dial tcp 127.0.0.1:3306: connect: connection refused`,
			`connecting as the operator's admin account: the cluster's admin endpoint: dial tcp the cluster's admin endpoint: connect: connection refused`},
		{"access denied, account with host",
			`Error 1045 (28000): Access denied for user 'concierge_admin'@'10.1.2.3' (using password: YES)`,
			`Error 1045 (28000): Access denied for user the operator's admin account (using password: YES)`},
		{"unquoted account", "logged in as concierge_admin@10.1.2.3, denied",
			"logged in as the operator's admin account, denied"},
		{"backticks", "GRANT to `concierge_admin` refused", "GRANT to the operator's admin account refused"},
		{"a host only the operator uses, alone", "dial tcp: lookup pxc-1.pxc.svc: no such host",
			"dial tcp: lookup the cluster's admin endpoint: no such host"},
		{"a longer port is another endpoint", "127.0.0.1:33060 and pxc-1.pxc.svc:3306", "127.0.0.1:33060 and the cluster's admin endpoint:3306"},
		{"IPv6", "dial tcp [::1]:3307: refused", "dial tcp the cluster's admin endpoint: refused"},
		{"the application's host is the tenant's to know", "host 127.0.0.1 answers", "host 127.0.0.1 answers"},
		{"the name inside a longer one", "user 'concierge_admin2' and xconcierge_admin@h", "user 'concierge_admin2' and xconcierge_admin@h"},
		{"nothing to hide", "Database orders is ready", "Database orders is ready"},
	}
	for _, c := range cases {
		if got := redact(c.in, cfg); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	if got := redact("user 'x' at 127.0.0.1:3306", cluster.Config{}); got != "user 'x' at 127.0.0.1:3306" {
		t.Errorf("an empty configuration changed the message: %s", got)
	}
}

// Events about an AppDatabase are redacted after formatting, so details passed as arguments are
// caught too; Events about other objects are left alone.
func TestRedactingRecorder(t *testing.T) {
	fake := events.NewFakeRecorder(4)
	r := redactingRecorder{EventRecorder: fake, redact: func(_ *dbv1.AppDatabase, note string) string {
		return strings.ReplaceAll(note, "10.0.0.9:3306", redactedEndpoint)
	}}
	db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "orders"}}
	r.Eventf(db, nil, corev1.EventTypeWarning, "Reason", "Action", "cannot reach %s", "10.0.0.9:3306")
	r.AnnotatedEventf(db, nil, nil, corev1.EventTypeWarning, "Reason", "Action", "100%% sure: %s", "10.0.0.9:3306")
	r.Eventf(&corev1.Secret{}, nil, corev1.EventTypeNormal, "Reason", "Action", "about %s", "10.0.0.9:3306")
	for _, want := range []string{"cannot reach " + redactedEndpoint, "100% sure: " + redactedEndpoint, "about 10.0.0.9:3306"} {
		if got := <-fake.Events; !strings.Contains(got, want) {
			t.Errorf("Event %q, want it to say %q", got, want)
		}
	}
}
