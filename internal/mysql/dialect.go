package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Flavor is the kind of server a cluster runs.
type Flavor string

// The flavors DB Concierge knows. MariaDB and MariaDB Galera are tested live; MySQL 8, Percona
// Server and Percona XtraDB Cluster cannot be started on the project's test machines, so their
// statements are covered by unit tests against the documented syntax.
const (
	FlavorMySQL         Flavor = "MySQL"
	FlavorPercona       Flavor = "PerconaServer"
	FlavorPXC           Flavor = "PerconaXtraDBCluster"
	FlavorMariaDB       Flavor = "MariaDB"
	FlavorMariaDBGalera Flavor = "MariaDBGalera"
)

// ServerInfo is what a cluster says about itself.
type ServerInfo struct {
	Flavor   Flavor
	Version  string
	Endpoint string
}

// detectFlavor tells the flavor from VERSION(), @@version_comment and whether wsrep is on.
func detectFlavor(version, comment string, wsrepOn bool) Flavor {
	mariadb := strings.Contains(strings.ToLower(version), "mariadb")
	lowerComment := strings.ToLower(comment)
	switch {
	case mariadb && wsrepOn:
		return FlavorMariaDBGalera
	case mariadb:
		return FlavorMariaDB
	case strings.Contains(lowerComment, "xtradb cluster") || wsrepOn:
		return FlavorPXC
	case strings.Contains(lowerComment, "percona"):
		return FlavorPercona
	}
	return FlavorMySQL
}

// Inspect asks the cluster what it runs.
func (a *Admin) Inspect(ctx context.Context) (ServerInfo, error) {
	var version, comment string
	if err := a.db.QueryRowContext(ctx, "SELECT VERSION(), @@version_comment").Scan(&version, &comment); err != nil {
		a.observe(opRead, err)
		return ServerInfo{}, fmt.Errorf("asking the server's version: %w", err)
	}
	var name, value string
	err := a.db.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'").Scan(&name, &value)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ServerInfo{}, fmt.Errorf("asking whether the server runs Galera: %w", err)
	}
	return ServerInfo{
		Flavor:   detectFlavor(version, comment, strings.EqualFold(value, "ON")),
		Version:  version,
		Endpoint: a.Address(),
	}, nil
}

// dialect writes the statements whose syntax differs between flavors.
type dialect struct {
	flavor Flavor
	// requireTLS adds REQUIRE SSL to application users.
	requireTLS bool
}

func (d dialect) mysqlFamily() bool {
	return d.flavor == FlavorMySQL || d.flavor == FlavorPercona || d.flavor == FlavorPXC
}

// identifiedBy is the authentication clause. MySQL 8 is given caching_sha2_password explicitly,
// its default and the one that survives 8.4, where mysql_native_password is off; MariaDB's
// IDENTIFIED BY uses mysql_native_password, which every client library speaks.
func (d dialect) identifiedBy() string {
	if d.mysqlFamily() {
		return " IDENTIFIED WITH caching_sha2_password BY ?"
	}
	return " IDENTIFIED BY ?"
}

func (d dialect) createUser(user, password string) statement {
	query := "CREATE USER " + quoteAccount(user, anyHost) + d.identifiedBy()
	if d.requireTLS {
		query += " REQUIRE SSL"
	}
	return statement{op: opCreateUser, query: query, args: []any{password}, secret: true}
}

func (d dialect) alterUserPassword(user, password string) statement {
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) + d.identifiedBy(), args: []any{password}, secret: true}
}

// dialectFor detects the flavor once per pool; the statements depend on it.
func (a *Admin) dialectFor(ctx context.Context) (dialect, error) {
	a.dialectMu.Lock()
	defer a.dialectMu.Unlock()
	if a.dialect != nil {
		return *a.dialect, nil
	}
	info, err := a.Inspect(ctx)
	if err != nil {
		return dialect{}, err
	}
	a.dialect = &dialect{flavor: info.Flavor, requireTLS: a.opts.RequireTLSForApplications}
	return *a.dialect, nil
}
