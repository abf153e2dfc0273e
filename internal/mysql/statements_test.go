package mysql

import (
	"slices"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

func TestStatements(t *testing.T) {
	cases := []struct {
		got    statement
		query  string
		secret bool
	}{
		{createDatabase("my_app", "utf8mb4", "utf8mb4_unicode_ci"), "CREATE DATABASE IF NOT EXISTS `my_app` CHARACTER SET `utf8mb4` COLLATE `utf8mb4_unicode_ci`", false},
		{alterDatabase("my_app", "latin1", "latin1_bin"), "ALTER DATABASE `my_app` CHARACTER SET `latin1` COLLATE `latin1_bin`", false},
		{dropDatabase("my_app"), "DROP DATABASE IF EXISTS `my_app`", false},
		{dropUser("my_app_app"), "DROP USER IF EXISTS `my_app_app`@`%`", false},
		{grantAllOnDatabase("my_app", "my_app_app"), "GRANT ALL PRIVILEGES ON `my\\_app`.* TO `my_app_app`@`%`", false},
		{showGrants("u"), "SHOW GRANTS FOR `u`@`%`", false},
		{grantOnDatabase("my_app", "ro", presetPrivileges[tenant.ReadOnly]), "GRANT SELECT, SHOW VIEW, EXECUTE ON `my\\_app`.* TO `ro`@`%`", false},
		{grantOnDatabase("my_app", "dw", presetPrivileges[tenant.DataOnly]),
			"GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES ON `my\\_app`.* TO `dw`@`%`", false},
		{alterUserConnectionLimit("ro", 5), "ALTER USER `ro`@`%` WITH MAX_USER_CONNECTIONS 5", false},
		{alterUserRetainingPassword("app", "s3cret"), "ALTER USER `app`@`%` IDENTIFIED BY ? RETAIN CURRENT PASSWORD", true},
		{discardOldPassword("app"), "ALTER USER `app`@`%` DISCARD OLD PASSWORD", false},
		{selectHasSecondPassword("app"), "SELECT COALESCE(JSON_UNQUOTE(JSON_EXTRACT(User_attributes, '$.additional_password')), '') <> '' " +
			"FROM mysql.user WHERE User = ? AND Host = ?", false},
		{alterUserConnectionLimit("ro", 0), "ALTER USER `ro`@`%` WITH MAX_USER_CONNECTIONS 0", false},
		{selectAccountOptions("ro"), "SELECT ssl_type, max_user_connections FROM mysql.user WHERE User = ? AND Host = ?", false},
		{deleteOwnership(tenant.ObjectUser, "ro", "uid"), "DELETE FROM `db_concierge`.`ownership` WHERE kind = ? AND name = ? AND owner_uid = ?", false},
		{selectExistingNames("shop", []string{"shop_app", "shop_ro"}), "SELECT ?, CAST(SCHEMA_NAME AS BINARY) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ? " +
			"UNION ALL SELECT DISTINCT ?, CAST(u.User AS BINARY) FROM (SELECT DISTINCT Host FROM mysql.user) h JOIN (SELECT ? AS name UNION ALL SELECT ?) n " +
			"JOIN mysql.user u ON u.Host = h.Host AND u.User = n.name", false},
		{selectUserName("shop_ro"), "SELECT u.User FROM (SELECT DISTINCT Host FROM mysql.user) h JOIN (SELECT ? AS name) n JOIN mysql.user u ON u.Host = h.Host AND u.User = n.name LIMIT 1", false},
	}
	for _, c := range cases {
		if c.got.query != c.query {
			t.Errorf("got  %s\nwant %s", c.got.query, c.query)
		}
		if c.got.secret != c.secret {
			t.Errorf("%s: secret = %v, want %v", c.query, c.got.secret, c.secret)
		}
	}
}

// A new account gets its connection limit and lock with CREATE USER, after REQUIRE as both
// servers want them; none is written when it has no limit of its own.
func TestCreateUserOptions(t *testing.T) {
	cases := []struct {
		d      dialect
		limit  int
		locked bool
		want   string
	}{
		{dialect{flavor: FlavorMariaDB}, 0, false, "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD ?"},
		{dialect{flavor: FlavorMariaDB}, 7, false, "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD ? WITH MAX_USER_CONNECTIONS 7"},
		{dialect{flavor: FlavorMariaDB, requireTLS: true}, 7, false, "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD ? REQUIRE SSL WITH MAX_USER_CONNECTIONS 7"},
		{dialect{flavor: FlavorMySQL, requireTLS: true}, 2, false, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ? REQUIRE SSL WITH MAX_USER_CONNECTIONS 2"},
		{dialect{flavor: FlavorMariaDB}, 0, true, "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD ? ACCOUNT LOCK"},
		{dialect{flavor: FlavorMySQL, requireTLS: true}, 2, true, "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY ? REQUIRE SSL WITH MAX_USER_CONNECTIONS 2 ACCOUNT LOCK"},
	}
	for _, c := range cases {
		if got := c.d.createUser("app", "pw", hashed, c.limit, c.locked).query; got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

// Every account of the tenant, and the admin account, are left out of the search for other
// accounts' grants: one placeholder each, in each of the four reads.
func TestSelectForeignGrantExcludesEveryAccount(t *testing.T) {
	st := selectForeignGrant("my_app", []string{"app", "app_ro", "admin"})
	if n := strings.Count(st.query, "User NOT IN (?, ?, ?)"); n != 4 {
		t.Errorf("%d exclusions of three accounts in %s", n, st.query)
	}
	want := []any{"my_app", "app", "app_ro", "admin"}
	if len(st.args) != 16 || !slices.Equal(st.args[:4], want) || !slices.Equal(st.args[12:], want) {
		t.Errorf("arguments %v", st.args)
	}
}

// A claim reads the records of the database, of every account, and every record of its owner in
// one statement.
func TestSelectOwnershipForClaim(t *testing.T) {
	st := selectOwnershipForClaim("uid", "my_app", []string{"app", "app_ro"})
	if !strings.HasSuffix(st.query, " WHERE owner_uid = ? OR (kind = ? AND name = ?) OR (kind = ? AND name IN (?, ?))") {
		t.Errorf("query %s", st.query)
	}
	want := []any{"uid", tenant.ObjectDatabase, "my_app", tenant.ObjectUser, "app", "app_ro"}
	if !slices.Equal(st.args, want) {
		t.Errorf("arguments %v, want %v", st.args, want)
	}
}
