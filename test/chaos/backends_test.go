//go:build integration

package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	adminUser = "chaos_admin"
	// galeraAdmin names the Secret holding the Galera cluster's admin account.
	galeraAdmin = "galera-admin"
)

// server is one mariadbd the checks visit: the single MariaDB, or one Galera node. Sessions and
// replication state are per server, so checks that concern them look at each.
type server struct {
	name string
	port int
}

// backend is the MySQL side of a run: its servers, the objects that tell the operator about it,
// and how to crash and recover one of its servers.
type backend struct {
	name       string
	clusterRef string
	servers    []server
	config     []client.Object
	crash      func(i int)
	recover    func(ctx context.Context, i int) error
	close      func()
}

// backends start a backend whose admin account has adminPassword.
var backends = map[string]func(ctx context.Context, adminPassword string) (*backend, error){
	"mariadb": startMariaDB,
	"galera":  startGalera,
}

// startMariaDB is a single MariaDB, configured through the legacy admin Secret.
func startMariaDB(ctx context.Context, adminPassword string) (*backend, error) {
	m, err := stack.StartMariaDB()
	if err != nil {
		return nil, err
	}
	if err := m.CreateAdmin(ctx, adminUser, adminPassword); err != nil {
		m.Close()
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: cluster.LegacySecretName},
		StringData: map[string]string{
			cluster.KeyAdminHost: "127.0.0.1", cluster.KeyAdminPort: strconv.Itoa(m.Port),
			cluster.KeyAdminUser: adminUser, cluster.KeyAdminPassword: adminPassword,
		},
	}
	return &backend{
		name: "mariadb", clusterRef: dbv1.DefaultClusterName,
		servers: []server{{name: "mariadbd", port: m.Port}},
		config:  []client.Object{secret},
		crash:   func(int) { m.Kill() },
		recover: func(context.Context, int) error { return m.Start() },
		close:   m.Close,
	}, nil
}

// startGalera is a 3-node Galera cluster, configured through a MySQLCluster naming every node.
func startGalera(ctx context.Context, adminPassword string) (*backend, error) {
	g, err := stack.StartGalera(3)
	if err != nil {
		return nil, err
	}
	if err := g.CreateAdmin(ctx, adminUser, adminPassword); err != nil {
		g.Close()
		return nil, err
	}
	b := &backend{
		name: "galera", clusterRef: "chaos-galera",
		crash:   g.Kill,
		recover: g.Restart,
		close:   g.Close,
	}
	var endpoints []dbv1.Endpoint
	for _, n := range g.Nodes {
		b.servers = append(b.servers, server{name: n.Name, port: n.Port})
		endpoints = append(endpoints, dbv1.Endpoint{Host: "127.0.0.1", Port: int32(n.Port)}) //nolint:gosec // G115: a TCP port fits in int32
	}
	b.config = []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platformNS, Name: galeraAdmin},
			StringData: map[string]string{"MYSQL_ADMIN_USER": adminUser, "MYSQL_ADMIN_PASSWORD": adminPassword}},
		&dbv1.MySQLCluster{ObjectMeta: metav1.ObjectMeta{Name: b.clusterRef}, Spec: dbv1.MySQLClusterSpec{
			AdminEndpoints: endpoints, AdminCredentials: dbv1.AdminCredentials{SecretName: galeraAdmin},
		}},
	}
	return b, nil
}

// connect opens a pool for user on 127.0.0.1:port (or host:port).
func connect(host string, port int, user, password, database string) (*sql.DB, error) {
	cfg := gomysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = fmt.Sprintf("%s:%d", host, port)
	cfg.User, cfg.Passwd, cfg.DBName = user, password, database
	cfg.Timeout = 5 * time.Second
	cfg.ReadTimeout, cfg.WriteTimeout = 30*time.Second, 30*time.Second
	cfg.InterpolateParams = true
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// root opens a root pool on the server (root has an empty password on the test servers).
func (s server) root() (*sql.DB, error) { return connect("127.0.0.1", s.port, "root", "", "") }
