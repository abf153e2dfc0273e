package mysql

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

const (
	sweptUID      = "8d4c6a5e-0000-4000-8000-000000000001"
	otherUID      = "8d4c6a5e-0000-4000-8000-000000000002"
	sweptPassword = "Kq3vN8xZ2pL7wR4tY6uI9oA1sD5fG0hJ" //nolint:gosec // G101: a made-up password, whose hash the test compares
)

func sweptTenant() tenant.Spec {
	return tenant.Spec{Database: "my_app", Charset: "utf8mb4", Collation: "utf8mb4_unicode_ci",
		Accounts: []tenant.Account{{Name: "my_app_app", Access: tenant.ReadWrite, Password: sweptPassword}},
		Owner:    tenant.Owner{UID: sweptUID, Namespace: "apps", Name: "my-app"}}
}

var sweptWant = wanted{charset: "utf8mb4", collation: "utf8mb4_unicode_ci", tls: tlsNone}

// matchingInventory holds exactly what a full pass leaves behind for sweptTenant.
func matchingInventory(names nameComparison) *inventory {
	inv := newInventory(names, 1)
	inv.records[recordKey{tenant.ObjectDatabase, "my_app"}] = sweptRecord{name: "my_app", uid: sweptUID, committed: true}
	inv.records[recordKey{tenant.ObjectUser, "my_app_app"}] = sweptRecord{name: "my_app_app", uid: sweptUID, committed: true}
	inv.ownedUsers[sweptUID] = []string{"my_app_app"}
	inv.schemata["my_app"] = schemaFacts{name: "my_app", charset: "utf8mb4", collation: "utf8mb4_unicode_ci"}
	inv.accounts["my_app_app"] = accountFacts{plugin: nativePlugin, authString: nativePasswordHash(sweptPassword)}
	inv.databaseGrants["my_app_app"] = []databaseGrant{{pattern: `my\_app`, all: true}}
	return inv
}

func TestSweepJudge(t *testing.T) {
	cases := []struct {
		name  string
		names nameComparison
		drift func(inv *inventory)
		want  tenant.Finding
	}{
		{"matching", namesAsWritten, func(*inventory) {}, findingNone},
		{"hash printed in lower case", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.authString = strings.ToLower(nativePasswordHash(sweptPassword))
			inv.accounts["my_app_app"] = a
		}, findingNone},
		{"tables, columns and routines of its own database", namesAsWritten, func(inv *inventory) {
			inv.objectGrants["my_app_app"] = []objectGrant{{database: "my_app"}, {database: "my_app"}}
		}, findingNone},
		{"database record of another owner", namesAsWritten, func(inv *inventory) {
			inv.records[recordKey{tenant.ObjectDatabase, "my_app"}] = sweptRecord{name: "my_app", uid: otherUID, committed: true}
		}, FindingOwnershipRecord},
		{"user record missing", namesAsWritten, func(inv *inventory) {
			delete(inv.records, recordKey{tenant.ObjectUser, "my_app_app"})
		}, FindingOwnershipRecord},
		{"record still pending", namesAsWritten, func(inv *inventory) {
			inv.records[recordKey{tenant.ObjectUser, "my_app_app"}] = sweptRecord{name: "my_app_app", uid: sweptUID}
		}, FindingOwnershipRecord},
		{"record spelled in another case", namesAsWritten, func(inv *inventory) {
			inv.records[recordKey{tenant.ObjectDatabase, "my_app"}] = sweptRecord{name: "My_App", uid: sweptUID, committed: true}
		}, FindingOwnershipRecord},
		{"database dropped", namesAsWritten, func(inv *inventory) { delete(inv.schemata, "my_app") }, FindingDatabaseMissing},
		{"only a database differing in case, names as written", namesAsWritten, func(inv *inventory) {
			delete(inv.schemata, "my_app")
			inv.schemata["My_app"] = schemaFacts{name: "My_app", charset: "utf8mb4", collation: "utf8mb4_unicode_ci"}
		}, FindingDatabaseMissing},
		{"charset changed", namesAsWritten, func(inv *inventory) {
			inv.schemata["my_app"] = schemaFacts{name: "my_app", charset: "latin1", collation: "latin1_swedish_ci"}
		}, FindingCharset},
		{"collation changed", namesAsWritten, func(inv *inventory) {
			inv.schemata["my_app"] = schemaFacts{name: "my_app", charset: "utf8mb4", collation: "utf8mb4_bin"}
		}, FindingCharset},
		{"user dropped", namesAsWritten, func(inv *inventory) { delete(inv.accounts, "my_app_app") }, FindingUserMissing},
		{"user differing in case", namesAsWritten, func(inv *inventory) {
			inv.accounts["My_app_app"] = inv.accounts["my_app_app"]
			delete(inv.accounts, "my_app_app")
		}, FindingUserMissing},
		{"password changed", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.authString = nativePasswordHash("changed-by-hand")
			inv.accounts["my_app_app"] = a
		}, FindingPassword},
		{"password removed", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.authString = ""
			inv.accounts["my_app_app"] = a
		}, FindingPassword},
		{"another authentication plugin", namesAsWritten, func(inv *inventory) {
			inv.accounts["my_app_app"] = accountFacts{plugin: "ed25519", authString: "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY"}
		}, FindingUnverifiable},
		{"a second way to authenticate", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.alternatives = true
			inv.accounts["my_app_app"] = a
		}, FindingUnverifiable},
		{"account row unreadable", namesAsWritten, func(inv *inventory) {
			inv.accounts["my_app_app"] = accountFacts{unreadable: true}
		}, FindingUnverifiable},
		{"grant revoked", namesAsWritten, func(inv *inventory) { delete(inv.databaseGrants, "my_app_app") }, FindingGrantMissing},
		{"grant reduced", namesAsWritten, func(inv *inventory) {
			inv.databaseGrants["my_app_app"] = []databaseGrant{{pattern: `my\_app`, all: false}}
		}, FindingGrantMissing},
		{"grant on another database", namesAsWritten, func(inv *inventory) {
			inv.databaseGrants["my_app_app"] = append(inv.databaseGrants["my_app_app"], databaseGrant{pattern: "mysql", all: false})
		}, FindingGrantBeyond},
		{"unescaped pattern reaching look-alikes", namesAsWritten, func(inv *inventory) {
			inv.databaseGrants["my_app_app"] = []databaseGrant{{pattern: "my_app", all: true}}
		}, FindingGrantBeyond},
		{"GRANT OPTION on its database", namesAsWritten, func(inv *inventory) {
			inv.databaseGrants["my_app_app"] = []databaseGrant{{pattern: `my\_app`, all: true, grantOption: true}}
		}, FindingGrantBeyond},
		{"global privilege", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.access = 1 // SELECT
			inv.accounts["my_app_app"] = a
		}, FindingGrantBeyond},
		{"default role", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.defaultRole = "r1"
			inv.accounts["my_app_app"] = a
		}, FindingGrantBeyond},
		{"role or PROXY granted", namesAsWritten, func(inv *inventory) { inv.delegated["my_app_app"] = true }, FindingGrantBeyond},
		{"table in another database", namesAsWritten, func(inv *inventory) {
			inv.objectGrants["my_app_app"] = []objectGrant{{database: "mysql"}}
		}, FindingGrantBeyond},
		{"GRANT OPTION on a table of its database", namesAsWritten, func(inv *inventory) {
			inv.objectGrants["my_app_app"] = []objectGrant{{database: "my_app", grantOption: true}}
		}, FindingGrantBeyond},
		{"TLS requirement changed", namesAsWritten, func(inv *inventory) {
			a := inv.accounts["my_app_app"]
			a.tls = tlsX509
			inv.accounts["my_app_app"] = a
		}, FindingTLS},
		{"folded names: the server lower-cased the database and the grant", namesFolded, func(inv *inventory) {
			inv.schemata["my_app"] = schemaFacts{name: "my_app", charset: "UTF8MB4", collation: "utf8mb4_unicode_ci"}
			inv.databaseGrants["my_app_app"] = []databaseGrant{{pattern: `MY\_APP`, all: true}}
		}, findingNone},
		{"folded names: a grant on another database", namesFolded, func(inv *inventory) {
			inv.databaseGrants["my_app_app"] = append(inv.databaseGrants["my_app_app"], databaseGrant{pattern: `other`, all: true})
		}, FindingGrantBeyond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := matchingInventory(c.names)
			c.drift(inv)
			if got := inv.judge(sweptTenant(), sweptWant); got != c.want {
				t.Errorf("judge = %q, want %q", got, c.want)
			}
		})
	}
}

func TestSweepJudgeTLSRequired(t *testing.T) {
	inv := matchingInventory(namesAsWritten)
	want := sweptWant
	want.tls = tlsSSL
	if got := inv.judge(sweptTenant(), want); got != FindingTLS {
		t.Errorf("an account without REQUIRE SSL on a cluster that requires it: %q", got)
	}
	a := inv.accounts["my_app_app"]
	a.tls = tlsSSL
	inv.accounts["my_app_app"] = a
	if got := inv.judge(sweptTenant(), want); got != findingNone {
		t.Errorf("an account with REQUIRE SSL on a cluster that requires it: %q", got)
	}
}

func TestParseGlobalPriv(t *testing.T) {
	hash := nativePasswordHash(sweptPassword)
	cases := []struct {
		name string
		priv string
		want accountFacts
	}{
		{"as CREATE USER leaves it", `{"access":0,"version_id":101119,"plugin":"mysql_native_password","authentication_string":"` + hash + `","password_last_changed":1795989266}`,
			accountFacts{plugin: nativePlugin, authString: hash}},
		{"REQUIRE SSL, GRANT OPTION, default role", `{"access":1024,"plugin":"mysql_native_password","authentication_string":"` + hash + `","ssl_type":1,"ssl_cipher":"","default_role":"r1"}`,
			accountFacts{access: 1024, plugin: nativePlugin, authString: hash, tls: tlsSSL, defaultRole: "r1"}},
		{"every privilege", `{"access":18446744073709551615}`, accountFacts{access: 18446744073709551615}},
		{"REQUIRE ISSUER", `{"access":0,"ssl_type":3}`, accountFacts{tls: tlsSpecified}},
		{"unknown ssl_type", `{"access":0,"ssl_type":7}`, accountFacts{tls: tlsSpecified}},
		{"a connection limit", `{"access":0,"plugin":"mysql_native_password","authentication_string":"` + hash + `","max_user_connections":3}`,
			accountFacts{plugin: nativePlugin, authString: hash, maxConnections: 3}},
		{"two ways to authenticate", `{"access":0,"plugin":"mysql_native_password","authentication_string":"` + hash + `","auth_or":[{},{"plugin":"unix_socket"}]}`,
			accountFacts{plugin: nativePlugin, authString: hash, alternatives: true}},
		{"no access", `{"plugin":"mysql_native_password"}`, accountFacts{unreadable: true}},
		{"not JSON", `*` + hash[1:], accountFacts{unreadable: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := parseGlobalPriv([]byte(c.priv)); got != c.want {
				t.Errorf("parseGlobalPriv = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDatabaseGrantLayout(t *testing.T) {
	// MariaDB 10.11's mysql.db, and a later server's with a privilege column more.
	columns := []string{"Host", "Db", "User", "Select_priv", "Insert_priv", "Grant_priv", "Delete_history_priv"}
	later := append(append([]string{}, columns...), "Show_create_routine_priv")
	row := func(values ...string) []sql.RawBytes {
		raw := make([]sql.RawBytes, len(values))
		for i, v := range values {
			raw[i] = sql.RawBytes(v)
		}
		return raw
	}
	cases := []struct {
		name    string
		columns []string
		values  []sql.RawBytes
		want    databaseGrant
	}{
		{"all privileges", columns, row("%", `my\_app`, "my_app_app", "Y", "Y", "N", "Y"),
			databaseGrant{pattern: `my\_app`, all: true, held: []string{"select_priv", "insert_priv", "delete_history_priv"}}},
		{"one privilege missing", columns, row("%", `my\_app`, "my_app_app", "Y", "N", "N", "Y"),
			databaseGrant{pattern: `my\_app`, held: []string{"select_priv", "delete_history_priv"}}},
		{"with GRANT OPTION", columns, row("%", `my\_app`, "my_app_app", "Y", "Y", "Y", "Y"),
			databaseGrant{pattern: `my\_app`, all: true, grantOption: true, held: []string{"select_priv", "insert_priv", "delete_history_priv"}}},
		{"a privilege this code has never heard of, missing", later, row("%", `my\_app`, "my_app_app", "Y", "Y", "N", "Y", "N"),
			databaseGrant{pattern: `my\_app`, held: []string{"select_priv", "insert_priv", "delete_history_priv"}}},
		{"nothing", columns, row("%", `my\_app`, "my_app_app", "N", "N", "N", "N"), databaseGrant{pattern: `my\_app`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			layout, err := databaseGrantLayoutOf(c.columns)
			if err != nil {
				t.Fatal(err)
			}
			user, got := layout.read(c.values)
			if user != "my_app_app" || !reflect.DeepEqual(got, c.want) {
				t.Errorf("read = %q %+v, want my_app_app %+v", user, got, c.want)
			}
		})
	}
	if _, err := databaseGrantLayoutOf([]string{"Host", "Db", "User"}); err == nil {
		t.Error("a mysql.db without privilege columns was accepted")
	}
}

func TestHoldsGrantOption(t *testing.T) {
	for privileges, want := range map[string]bool{"": false, "Select,Insert": false, "Select,Insert,Grant": true, "Grant": true, "Execute,Alter Routine": false} {
		if got := holdsGrantOption(privileges); got != want {
			t.Errorf("holdsGrantOption(%q) = %v, want %v", privileges, got, want)
		}
	}
}

// MySQL 8 keeps salted hashes: a sweep there vouches for nobody, without reading anything.
func TestSweepSendsEveryMySQLTenantToAFullPass(t *testing.T) {
	a := &Admin{dialect: &dialect{flavor: FlavorMySQL}}
	findings, err := a.Sweep(context.Background(), []tenant.Expectation{{Spec: sweptTenant()}})
	if err != nil {
		t.Fatal(err)
	}
	if findings[sweptUID] != FindingUnverifiable {
		t.Errorf("findings = %v", findings)
	}
}

const (
	sweptReadOnlyPassword = "Zx8cV7bN6mQ5wE4rT3yU2iO1pA0sD9fG" //nolint:gosec // G101: made-up passwords, whose hashes the test compares
	sweptDataOnlyPassword = "Lk9jH8gF7dS6aP5oI4uY3tR2eW1qM0nB" //nolint:gosec // G101: as above
)

// sweptShop is a tenant with a main account and two more, one of them with a connection limit.
func sweptShop() tenant.Spec {
	s := sweptTenant()
	s.Accounts = append(s.Accounts,
		tenant.Account{Name: "my_app_ro", Access: tenant.ReadOnly, Password: sweptReadOnlyPassword, MaxUserConnections: 5},
		tenant.Account{Name: "my_app_dw", Access: tenant.DataOnly, Password: sweptDataOnlyPassword})
	return s
}

// presetColumns are the mysql.db columns a preset's database line sets.
func presetColumns(access tenant.Access) []string {
	var columns []string
	for _, p := range presetPrivileges[access] {
		columns = append(columns, p.column)
	}
	return columns
}

// matchingShopInventory holds exactly what a full pass leaves behind for sweptShop.
func matchingShopInventory() *inventory {
	inv := matchingInventory(namesAsWritten)
	for _, acc := range sweptShop().Accounts[1:] {
		r := sweptRecord{name: acc.Name, uid: sweptUID, committed: true}
		inv.records[recordKey{tenant.ObjectUser, acc.Name}] = r
		inv.ownedUsers[sweptUID] = append(inv.ownedUsers[sweptUID], r.name)
		inv.accounts[acc.Name] = accountFacts{plugin: nativePlugin, authString: nativePasswordHash(acc.Password), maxConnections: acc.MaxUserConnections}
		inv.databaseGrants[acc.Name] = []databaseGrant{{pattern: `my\_app`, held: presetColumns(acc.Access)}}
	}
	return inv
}

func TestSweepJudgeSeveralAccounts(t *testing.T) {
	setAccount := func(user string, change func(*accountFacts)) func(*inventory) {
		return func(inv *inventory) {
			a := inv.accounts[user]
			change(&a)
			inv.accounts[user] = a
		}
	}
	cases := []struct {
		name  string
		drift func(inv *inventory)
		want  tenant.Finding
	}{
		{"matching", func(*inventory) {}, findingNone},
		{"the extra account is missing", func(inv *inventory) { delete(inv.accounts, "my_app_ro") }, FindingUserMissing},
		{"the extra account's record is missing", func(inv *inventory) {
			delete(inv.records, recordKey{tenant.ObjectUser, "my_app_dw"})
		}, FindingOwnershipRecord},
		{"the extra account's record is still pending", func(inv *inventory) {
			inv.records[recordKey{tenant.ObjectUser, "my_app_dw"}] = sweptRecord{name: "my_app_dw", uid: sweptUID}
		}, FindingOwnershipRecord},
		{"the ledger holds an account the spec dropped", func(inv *inventory) {
			gone := sweptRecord{name: "my_app_old", uid: sweptUID, committed: true}
			inv.records[recordKey{tenant.ObjectUser, "my_app_old"}] = gone
			inv.ownedUsers[sweptUID] = append(inv.ownedUsers[sweptUID], gone.name)
		}, FindingOwnershipRecord},
		{"another owner's account record is none of this tenant's business", func(inv *inventory) {
			other := sweptRecord{name: "other_app", uid: otherUID, committed: true}
			inv.records[recordKey{tenant.ObjectUser, "other_app"}] = other
			inv.ownedUsers[otherUID] = append(inv.ownedUsers[otherUID], other.name)
		}, findingNone},
		{"the extra account's password changed", setAccount("my_app_dw", func(a *accountFacts) { a.authString = nativePasswordHash("changed") }), FindingPassword},
		{"a ReadOnly account given DataOnly's privileges", func(inv *inventory) {
			inv.databaseGrants["my_app_ro"] = []databaseGrant{{pattern: `my\_app`, held: presetColumns(tenant.DataOnly)}}
		}, FindingAccessDiffers},
		{"a ReadOnly account given ALL PRIVILEGES", func(inv *inventory) {
			inv.databaseGrants["my_app_ro"] = []databaseGrant{{pattern: `my\_app`, all: true, held: append(presetColumns(tenant.DataOnly), "create_priv", "drop_priv", "show_view_priv")}}
		}, FindingAccessDiffers},
		{"a DataOnly account given CREATE by hand", func(inv *inventory) {
			inv.databaseGrants["my_app_dw"] = []databaseGrant{{pattern: `my\_app`, held: append(presetColumns(tenant.DataOnly), "create_priv")}}
		}, FindingAccessDiffers},
		{"a DataOnly account missing LOCK TABLES", func(inv *inventory) {
			inv.databaseGrants["my_app_dw"] = []databaseGrant{{pattern: `my\_app`, held: presetColumns(tenant.DataOnly)[:6]}}
		}, FindingGrantMissing},
		{"a ReadOnly account without its database line", func(inv *inventory) { delete(inv.databaseGrants, "my_app_ro") }, FindingGrantMissing},
		{"a ReadOnly account with a grant on a table of its database", func(inv *inventory) {
			inv.objectGrants["my_app_ro"] = []objectGrant{{database: "my_app"}}
		}, FindingAccessDiffers},
		{"a DataOnly account with a grant on a routine of its database", func(inv *inventory) {
			inv.objectGrants["my_app_dw"] = []objectGrant{{database: "my_app"}}
		}, FindingAccessDiffers},
		{"an extra account with a grant on another database", func(inv *inventory) {
			inv.databaseGrants["my_app_ro"] = append(inv.databaseGrants["my_app_ro"], databaseGrant{pattern: "other", held: []string{"select_priv"}})
		}, FindingGrantBeyond},
		{"the connection limit differs", setAccount("my_app_ro", func(a *accountFacts) { a.maxConnections = 10 }), FindingConnectionLimit},
		{"the connection limit was removed", setAccount("my_app_ro", func(a *accountFacts) { a.maxConnections = 0 }), FindingConnectionLimit},
		{"a connection limit on an account without one", setAccount("my_app_dw", func(a *accountFacts) { a.maxConnections = 2 }), FindingConnectionLimit},
		{"the extra account's TLS requirement differs", setAccount("my_app_dw", func(a *accountFacts) { a.tls = tlsSSL }), FindingTLS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := matchingShopInventory()
			c.drift(inv)
			if got := inv.judge(sweptShop(), sweptWant); got != c.want {
				t.Errorf("judge = %q, want %q", got, c.want)
			}
		})
	}
}
