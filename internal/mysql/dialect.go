package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// The flavors DB Concierge knows, as tenant.ServerInfo.Flavor names them. MariaDB and MariaDB
// Galera are tested live; MySQL 8, Percona Server and Percona XtraDB Cluster cannot be started on
// the project's test machines, so their statements are covered by unit tests against the
// documented syntax.
const (
	FlavorMySQL         = "MySQL"
	FlavorPercona       = "PerconaServer"
	FlavorPXC           = "PerconaXtraDBCluster"
	FlavorMariaDB       = "MariaDB"
	FlavorMariaDBGalera = "MariaDBGalera"
)

// detectFlavor tells the flavor from VERSION(), @@version_comment and whether wsrep is on.
func detectFlavor(version, comment string, wsrepOn bool) string {
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
func (a *Admin) Inspect(ctx context.Context) (info tenant.ServerInfo, err error) {
	defer func() { err = a.settle(ctx, err) }()
	if info, err = a.inspect(ctx); err != nil {
		return info, err
	}
	info.Identity, err = a.serverIdentity(ctx)
	return info, err
}

func (a *Admin) inspect(ctx context.Context) (tenant.ServerInfo, error) {
	var version, comment string
	var lowerCaseNames int
	if err := a.scanRow(ctx, selectServerInfo, &version, &comment, &lowerCaseNames); err != nil {
		a.observe(opRead, err)
		return tenant.ServerInfo{}, fmt.Errorf("asking the server's version: %w", err)
	}
	var name, value string
	err := a.scanRow(ctx, showWsrepOn, &name, &value)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return tenant.ServerInfo{}, fmt.Errorf("asking whether the server runs Galera: %w", err)
	}
	return tenant.ServerInfo{
		Flavor:              detectFlavor(version, comment, strings.EqualFold(value, "ON")),
		Version:             version,
		Endpoint:            a.address(),
		LowerCaseTableNames: lowerCaseNames,
	}, nil
}

// dialect writes the statements whose syntax differs between flavors, and knows how the server
// compares names.
type dialect struct {
	flavor string
	// requireTLS gives application users REQUIRE SSL (and the others REQUIRE NONE).
	requireTLS bool
	names      nameComparison
	// secondPasswords says that accounts keep a second password (RETAIN CURRENT PASSWORD).
	secondPasswords bool
}

// keepsSecondPasswords reports whether a server keeps two passwords per account: MySQL and its
// Percona builds from 8.0.14 on. MariaDB has no such thing.
func keepsSecondPasswords(flavor, version string) bool {
	if flavor != FlavorMySQL && flavor != FlavorPercona && flavor != FlavorPXC {
		return false
	}
	return versionAtLeast(version, 8, 0, 14)
}

// SecondPasswords reports whether the server keeps a second password per account; it is asked
// once per pool, with the flavor.
func (a *Admin) SecondPasswords(ctx context.Context) (keeps bool, err error) {
	defer func() { err = a.settle(ctx, err) }()
	d, err := a.dialectFor(ctx)
	return d.secondPasswords, err
}

func (d dialect) mysqlFamily() bool {
	return d.flavor == FlavorMySQL || d.flavor == FlavorPercona || d.flavor == FlavorPXC
}

// passwordForm says how a statement hands the server a password.
type passwordForm int

const (
	// hashed sends MariaDB the mysql_native_password hash (IDENTIFIED BY PASSWORD '*…'): the
	// password never travels as SQL text, so it cannot be read back from the binary log, the
	// general log or the processlist, and no byte of it can change the statement's meaning.
	hashed passwordForm = iota
	// inClear sends the password itself, for servers that must see it: MySQL 8 (which writes
	// CREATE USER and ALTER USER to its logs with the password rewritten) and a MariaDB whose
	// password validation plugin refuses hashes (strict_password_validation).
	inClear
)

// wantedTLS is the REQUIRE clause application users get.
func (d dialect) wantedTLS() tlsRequirement {
	if d.requireTLS {
		return tlsSSL
	}
	return tlsNone
}

// dialectFor detects the flavor once per pool; the statements depend on it.
func (a *Admin) dialectFor(ctx context.Context) (dialect, error) {
	a.dialectMu.Lock()
	defer a.dialectMu.Unlock()
	if a.dialect != nil {
		return *a.dialect, nil
	}
	info, err := a.inspect(ctx)
	if err != nil {
		return dialect{}, err
	}
	a.dialect = &dialect{flavor: info.Flavor, requireTLS: a.opts.RequireTLSForApplications, names: namesAsWritten,
		secondPasswords: keepsSecondPasswords(info.Flavor, info.Version)}
	if info.LowerCaseTableNames != 0 {
		a.dialect.names = namesFolded
	}
	return *a.dialect, nil
}
