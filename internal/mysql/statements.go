package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// Every SQL text the operator sends is written in this file, and nowhere else in the package.
// Identifiers go through quoteIdentifier, quoteAccount or grantPattern; values, passwords
// included, are placeholders the driver escapes, and a password is sent as its hash where the
// server accepts one (identifiedBy). A test (TestSQLTextLivesInStatements) keeps it that way.

// Operations, the label of the SQL metrics.
const (
	opCreateDatabase = "create_database"
	opAlterDatabase  = "alter_database"
	opDropDatabase   = "drop_database"
	opCreateUser     = "create_user"
	opAlterUser      = "alter_user"
	opDropUser       = "drop_user"
	opGrant          = "grant"
	opRevoke         = "revoke"
	opOwnership      = "ownership"
	opLogin          = "login"
	opRead           = "read"
	opBootstrap      = "bootstrap"
	opKill           = "kill_session"
	// opScript is a tenant's own SQL (spec.init), run as its account.
	opScript = "script"
)

type statement struct {
	op    string
	query string
	args  []any
	// secret marks a statement whose arguments include a password: its errors are reported
	// without the server's message, which can echo the statement back.
	secret bool
}

func read(query string, args ...any) statement {
	return statement{op: opRead, query: query, args: args}
}

// The admin session (see sessionCharset and what follows it in failover.go).

// sessionSetup is the one statement that pins an admin session. Besides the settings above,
// statements commit on their own (a server with autocommit off would leave the ownership writes
// open on a pooled connection), and SHOW GRANTS quotes every name.
var sessionSetup = fmt.Sprintf("SET NAMES %s COLLATE %s, sql_mode = '%s', lock_wait_timeout = %d, innodb_lock_wait_timeout = %d, "+
	"autocommit = 1, sql_quote_show_create = 1",
	sessionCharset, sessionCollation, sessionSQLMode, int(LockWaitTimeout.Seconds()), int(LockWaitTimeout.Seconds()))

const (
	showWritability = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'wsrep_on')"
	showWsrepReady  = "SHOW GLOBAL STATUS LIKE 'wsrep_ready'"
)

// The server.

var (
	selectServerInfo = read("SELECT VERSION(), @@version_comment, @@lower_case_table_names")
	showWsrepOn      = read("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
	// selectPasswordValidation asks whether a validation plugin reads every password
	// (strict_password_validation refuses hashes then).
	selectPasswordValidation = read("SELECT @@strict_password_validation, (SELECT COUNT(*) FROM information_schema.PLUGINS " +
		"WHERE PLUGIN_TYPE = 'PASSWORD VALIDATION' AND PLUGIN_STATUS = 'ACTIVE')")
)

// Databases.

func createDatabase(name, charset, collation string) statement {
	return statement{op: opCreateDatabase, query: "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(name) +
		" CHARACTER SET " + quoteIdentifier(charset) + " COLLATE " + quoteIdentifier(collation)}
}

func alterDatabase(name, charset, collation string) statement {
	return statement{op: opAlterDatabase, query: "ALTER DATABASE " + quoteIdentifier(name) +
		" CHARACTER SET " + quoteIdentifier(charset) + " COLLATE " + quoteIdentifier(collation)}
}

func dropDatabase(name string) statement {
	return statement{op: opDropDatabase, query: "DROP DATABASE IF EXISTS " + quoteIdentifier(name)}
}

func selectDatabaseCharset(name string) statement {
	return read("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name)
}

// selectDatabaseName finds a database by name. An equality on SCHEMA_NAME is answered by looking
// up that one directory, not by scanning every schema: it stays fast with thousands of tenants.
func selectDatabaseName(name string) statement {
	return read("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ? LIMIT 1", name)
}

// selectCharsetNames asks the server for its own names of a character set and collation.
func selectCharsetNames(charset, collation string) statement {
	value := "CONVERT('' USING " + quoteIdentifier(charset) + ")"
	return read("SELECT CHARSET(" + value + "), COLLATION(" + value + " COLLATE " + quoteIdentifier(collation) + ")")
}

// Accounts.

// identifiedBy is the authentication clause and its value. MySQL 8 is given caching_sha2_password
// explicitly, its default and the one that survives 8.4, where mysql_native_password is off;
// MariaDB's uses mysql_native_password, which every client library speaks.
func (d dialect) identifiedBy(password string, form passwordForm) (string, any) {
	switch {
	case d.mysqlFamily():
		return " IDENTIFIED WITH caching_sha2_password BY ?", password
	case form == inClear:
		// Only where the hash form is refused: a validation plugin under strict_password_validation
		// must read the password, and MariaDB has no form that both hides and validates it.
		return " IDENTIFIED BY ?", password
	}
	return " IDENTIFIED BY PASSWORD ?", nativePasswordHash(password)
}

// createUser creates an account with the cluster's TLS requirement and its own connection limit
// (none when 0). Both servers take the resource options after REQUIRE.
func (d dialect) createUser(user, password string, form passwordForm, maxConnections int, locked bool) statement {
	clause, value := d.identifiedBy(password, form)
	query := "CREATE USER " + quoteAccount(user, anyHost) + clause
	if d.requireTLS {
		query += " REQUIRE SSL"
	}
	if maxConnections > 0 {
		query += " WITH MAX_USER_CONNECTIONS " + strconv.Itoa(maxConnections)
	}
	if locked {
		query += " ACCOUNT LOCK"
	}
	return statement{op: opCreateUser, query: query, args: []any{value}, secret: true}
}

// alterUserLock locks an account (no new login; sessions already open go on) or unlocks it.
func alterUserLock(user string, locked bool) statement {
	clause := " ACCOUNT UNLOCK"
	if locked {
		clause = " ACCOUNT LOCK"
	}
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) + clause}
}

// selectAccountLocked reads whether an account is locked: MySQL keeps it in mysql.user, MariaDB
// in the account's JSON in mysql.global_priv.
func (d dialect) selectAccountLocked(user string) statement {
	if d.mysqlFamily() {
		return read("SELECT account_locked FROM mysql.user WHERE User = ? AND Host = ?", user, anyHost)
	}
	return read("SELECT COALESCE(JSON_VALUE(Priv, '$.account_locked'), '0') FROM mysql.global_priv WHERE User = ? AND Host = ?", user, anyHost)
}

func (d dialect) alterUserPassword(user, password string, form passwordForm) statement {
	clause, value := d.identifiedBy(password, form)
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) + clause, args: []any{value}, secret: true}
}

// alterUserRetainingPassword gives an account a new password and keeps the one it had as its
// second (MySQL 8.0.14 and later). The account's authentication plugin is left as it is:
// RETAIN CURRENT PASSWORD fails when a statement changes it. The password goes in clear, as a
// parameter: MySQL takes RETAIN CURRENT PASSWORD only after IDENTIFIED BY 'password', and its
// hash form (IDENTIFIED WITH plugin AS 'hash') has no such option.
func alterUserRetainingPassword(user, password string) statement {
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) + " IDENTIFIED BY ? RETAIN CURRENT PASSWORD",
		args: []any{password}, secret: true}
}

// discardOldPassword takes away an account's second password.
func discardOldPassword(user string) statement {
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) + " DISCARD OLD PASSWORD"}
}

// selectHasSecondPassword reads whether an account keeps a second password: MySQL records it in
// mysql.user.User_attributes as additional_password.
func selectHasSecondPassword(user string) statement {
	return read("SELECT COALESCE(JSON_UNQUOTE(JSON_EXTRACT(User_attributes, '$.additional_password')), '') <> '' "+
		"FROM mysql.user WHERE User = ? AND Host = ?", user, anyHost)
}

func (d dialect) alterUserTLS(user string) statement {
	clause := " REQUIRE NONE"
	if d.requireTLS {
		clause = " REQUIRE SSL"
	}
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) + clause}
}

// alterUserConnectionLimit sets an account's own connection limit; 0 leaves it to the server's.
func alterUserConnectionLimit(user string, maxConnections int) statement {
	return statement{op: opAlterUser, query: "ALTER USER " + quoteAccount(user, anyHost) +
		" WITH MAX_USER_CONNECTIONS " + strconv.Itoa(maxConnections)}
}

func dropUser(user string) statement {
	return statement{op: opDropUser, query: "DROP USER IF EXISTS " + quoteAccount(user, anyHost)}
}

// selectUserName finds an account by name. Any host counts: a hand-made 'name'@'localhost' is
// somebody else's account too.
func selectUserName(user string) statement {
	from, args := accountsNamed([]string{user})
	return read("SELECT u.User FROM "+from+" LIMIT 1", args...)
}

// accountsNamed is a FROM clause that finds the accounts of some names (alias u), whatever their
// hosts. mysql.user is keyed by (Host, User): a condition on User alone reads every account (on
// MariaDB, where mysql.user is a view, decoding each one's privileges too), milliseconds per
// lookup with thousands of tenants. Looking each name up under each host there is, of which a
// server has few, reads only the keys it needs.
func accountsNamed(users []string) (string, []any) {
	names := "SELECT ? AS name" + strings.Repeat(" UNION ALL SELECT ?", len(users)-1)
	args := make([]any, len(users))
	for i, u := range users {
		args[i] = u
	}
	return "(SELECT DISTINCT Host FROM mysql.user) h JOIN (" + names + ") n JOIN mysql.user u ON u.Host = h.Host AND u.User = n.name", args
}

// selectExistingNames finds, in one round trip, which of a database (none when "") and some
// accounts exist: rows of kind and name as the server spells it. Each branch keeps the lookup of
// selectDatabaseName or selectUserName; names are read as bytes, their columns' collations differ.
func selectExistingNames(database string, users []string) statement {
	var branches []string
	var args []any
	if database != "" {
		branches = append(branches, "SELECT ?, CAST(SCHEMA_NAME AS BINARY) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")
		args = append(args, string(tenant.ObjectDatabase), database)
	}
	if len(users) > 0 {
		from, namesArgs := accountsNamed(users)
		branches = append(branches, "SELECT DISTINCT ?, CAST(u.User AS BINARY) FROM "+from)
		args = append(append(args, string(tenant.ObjectUser)), namesArgs...)
	}
	return read(strings.Join(branches, " UNION ALL "), args...)
}

// placeholders is a parenthesized list of n placeholders.
func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// selectAccountOptions reads an account's REQUIRE clause and connection limit where SHOW GRANTS
// does not print them (MySQL 8 prints neither).
func selectAccountOptions(user string) statement {
	return read("SELECT ssl_type, max_user_connections FROM mysql.user WHERE User = ? AND Host = ?", user, anyHost)
}

// Grants.

// privilege is a database-level privilege as GRANT names it, with the mysql.db column that holds
// it (lower-cased), which the sweep reads.
type privilege struct{ name, column string }

// The privileges the presets are made of.
var (
	privSelect          = privilege{"SELECT", "select_priv"}
	privInsert          = privilege{"INSERT", "insert_priv"}
	privUpdate          = privilege{"UPDATE", "update_priv"}
	privDelete          = privilege{"DELETE", "delete_priv"}
	privExecute         = privilege{"EXECUTE", "execute_priv"}
	privTemporaryTables = privilege{"CREATE TEMPORARY TABLES", "create_tmp_table_priv"}
	privLockTables      = privilege{"LOCK TABLES", "lock_tables_priv"}
	privShowView        = privilege{"SHOW VIEW", "show_view_priv"}
)

// The admin account's privileges (AdminPrivileges): the database privileges both families know,
// those only MariaDB has (DELETE HISTORY since 10.3.4, SHOW CREATE ROUTINE since 11.3), and the
// global ones.
var (
	adminDatabasePrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REFERENCES", "INDEX", "ALTER",
		"CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE", "ALTER ROUTINE",
		"EVENT", "TRIGGER"}
	mariadbDatabasePrivileges    = []string{"DELETE HISTORY"}
	mariadb113DatabasePrivileges = []string{"SHOW CREATE ROUTINE"}
	mariadbAdminPrivileges       = []string{"CREATE USER", "PROCESS", "CONNECTION ADMIN"}
	mysqlAdminPrivileges         = []string{"CREATE USER", "PROCESS", "CONNECTION_ADMIN"}
	// impliedBy are privileges that an older, broader one also gives.
	impliedBy = map[string]string{"CONNECTION ADMIN": "SUPER", "CONNECTION_ADMIN": "SUPER"}
)

// allPrivileges is what ReadWrite holds on its database: every database-level privilege.
const allPrivileges = "ALL PRIVILEGES"

// presetPrivileges are the database-level privileges of each preset but ReadWrite (which holds
// allPrivileges). A GRANT names only these: no privilege name of a statement comes from anywhere
// else, the server's output included.
var presetPrivileges = map[tenant.Access][]privilege{
	tenant.DataOnly: {privSelect, privInsert, privUpdate, privDelete, privExecute, privTemporaryTables, privLockTables},
	tenant.ReadOnly: {privSelect, privShowView, privExecute},
}

func grantAllOnDatabase(database, user string) statement {
	return statement{op: opGrant, query: "GRANT " + allPrivileges + " ON " + grantPattern(database) + ".* TO " + quoteAccount(user, anyHost)}
}

// grantOnDatabase grants privileges, taken from presetPrivileges, on the database.
func grantOnDatabase(database, user string, privileges []privilege) statement {
	names := make([]string, len(privileges))
	for i, p := range privileges {
		names[i] = p.name
	}
	return statement{op: opGrant, query: "GRANT " + strings.Join(names, ", ") + " ON " + grantPattern(database) + ".* TO " + quoteAccount(user, anyHost)}
}

// showOwnGrants lists the grants of the account the session logged in as, whatever its host.
var showOwnGrants = read("SHOW GRANTS FOR CURRENT_USER()")

func showGrants(user string) statement {
	return read("SHOW GRANTS FOR " + quoteAccount(user, anyHost))
}

func revokeAll(t grantTarget, user string) statement {
	return statement{op: opRevoke, query: "REVOKE ALL PRIVILEGES ON " + t.sql() + " FROM " + quoteAccount(user, anyHost)}
}

func revokeGrantOption(t grantTarget, user string) statement {
	return statement{op: opRevoke, query: "REVOKE GRANT OPTION ON " + t.sql() + " FROM " + quoteAccount(user, anyHost)}
}

func revokeRole(role account, user string) statement {
	return statement{op: opRevoke, query: "REVOKE " + role.sql() + " FROM " + quoteAccount(user, anyHost)}
}

func revokeProxy(on account, user string) statement {
	return statement{op: opRevoke, query: "REVOKE PROXY ON " + quoteAccount(on.user, on.host) + " FROM " + quoteAccount(user, anyHost)}
}

func clearDefaultRole(user string) statement {
	return statement{op: opRevoke, query: "SET DEFAULT ROLE NONE FOR " + quoteAccount(user, anyHost)}
}

// selectForeignGrant finds one grant of an account other than the tenant's accounts and the
// operator's admin account that reaches database name (as the server compares it):
// database-level grants match it as a LIKE pattern, the others by equality.
func selectForeignGrant(name string, excluded []string) statement {
	notIn := placeholders(len(excluded))
	var args []any
	for range 4 {
		args = append(args, name)
		for _, user := range excluded {
			args = append(args, user)
		}
	}
	return read(`SELECT User, Host, Db, '' FROM mysql.db
  WHERE CAST(? AS BINARY) LIKE CAST(Db AS BINARY) AND User NOT IN `+notIn+`
UNION ALL SELECT User, Host, Db, Table_name FROM mysql.tables_priv
  WHERE CAST(Db AS BINARY) = CAST(? AS BINARY) AND User NOT IN `+notIn+`
UNION ALL SELECT User, Host, Db, Routine_name FROM mysql.procs_priv
  WHERE CAST(Db AS BINARY) = CAST(? AS BINARY) AND User NOT IN `+notIn+`
UNION ALL SELECT User, Host, Db, Table_name FROM mysql.columns_priv
  WHERE CAST(Db AS BINARY) = CAST(? AS BINARY) AND User NOT IN `+notIn+`
LIMIT 1`, args...)
}

// Sessions.

// selectSessionsOf lists a user's sessions. Names compare as bytes: user names are
// case-sensitive, the processlist's collation is not.
func selectSessionsOf(user string) statement {
	return read("SELECT ID FROM information_schema.PROCESSLIST WHERE CAST(USER AS BINARY) = CAST(? AS BINARY)", user)
}

// killConnection ends a session; the id is a number the server gave, formatted as one.
// selectConnectionID reads the session's id, by which it can be ended from another session.
var selectConnectionID = read("SELECT CONNECTION_ID()")

func killConnection(id int64) statement {
	return statement{op: opKill, query: "KILL CONNECTION " + strconv.FormatInt(id, 10)}
}

// The ownership table (ownership.go says what it records).

const ownershipTable = "`" + OperatorSchema + "`.`ownership`"

var ownershipDDL = []statement{
	{op: opBootstrap, query: "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(OperatorSchema) +
		" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
	{op: opBootstrap, query: "CREATE TABLE IF NOT EXISTS " + ownershipTable + ` (
  kind            VARCHAR(16)  NOT NULL,
  name            VARCHAR(80)  NOT NULL COLLATE utf8mb4_general_ci,
  owner_uid       CHAR(36)     NOT NULL,
  owner_namespace VARCHAR(63)  NOT NULL,
  owner_name      VARCHAR(253) NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (kind, name),
  KEY owner_uid (owner_uid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`},
}

// serverTable holds the server's identity: one UUID, drawn when the records are first created.
const serverTable = "`" + OperatorSchema + "`.`server`"

var serverDDL = []statement{
	{op: opBootstrap, query: "CREATE TABLE IF NOT EXISTS " + serverTable + ` (
  id         CHAR(36)     NOT NULL PRIMARY KEY,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`},
}

// insertServerIdentity draws the server's identity, if it has none: drawn by the operator, not by
// UUID(), which statement-based replication would draw again on each replica.
func insertServerIdentity(id string) statement {
	return statement{op: opBootstrap, query: "INSERT INTO " + serverTable + " (id) SELECT ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM " + serverTable + ")",
		args: []any{id}}
}

var selectServerTable = read("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'server'", OperatorSchema)

var selectServerIdentity = read("SELECT id FROM " + serverTable + " ORDER BY created_at LIMIT 1")

var selectOwnershipTable = read("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'ownership'", OperatorSchema)

// countDatabaseRecords counts the databases recorded for owners other than ownerUID: those of
// namespace, and all.
func countDatabaseRecords(ownerUID, namespace string) statement {
	return read("SELECT COALESCE(SUM(owner_namespace = ?), 0), COUNT(*) FROM "+ownershipTable+" WHERE kind = ? AND owner_uid <> ?",
		namespace, tenant.ObjectDatabase, ownerUID)
}

// ownershipColumns are the columns ownershipRow scans, in its order.
const ownershipColumns = "SELECT kind, name, owner_uid, owner_namespace, owner_name, state FROM " + ownershipTable

// selectOwnershipForClaim reads the records of a tenant's database and account names, and every
// record of its owner (accounts the spec no longer lists among them). Names compare without
// regard to case here (the column's collation).
func selectOwnershipForClaim(uid, database string, users []string) statement {
	args := []any{uid, tenant.ObjectDatabase, database, tenant.ObjectUser}
	for _, u := range users {
		args = append(args, u)
	}
	in := placeholders(len(users))
	return read(ownershipColumns+" WHERE owner_uid = ? OR (kind = ? AND name = ?) OR (kind = ? AND name IN "+in+")", args...)
}

func selectOwnershipOf(uid string) statement {
	return read(ownershipColumns+" WHERE owner_uid = ?", uid)
}

func selectPendingOwnershipOf(uid string) statement {
	return read(ownershipColumns+" WHERE owner_uid = ? AND state = ?", uid, statePending)
}

// takeOverOwnership moves a record to owner, only if it still names previous in the state read.
func takeOverOwnership(kind tenant.Object, name string, owner tenant.Owner, previous ownershipRow) statement {
	return statement{op: opOwnership, query: "UPDATE " + ownershipTable +
		" SET owner_uid = ?, owner_namespace = ?, owner_name = ?, state = ? WHERE kind = ? AND name = ? AND owner_uid = ? AND state = ?",
		args: []any{owner.UID, owner.Namespace, owner.Name, statePending, kind, name, previous.uid, previous.state}}
}

// ownershipRecord is one new row of insertOwnership.
type ownershipRecord struct {
	kind tenant.Object
	name string
}

// insertOwnership records pending rows for owner in one statement: a tenant's intent is one write.
func insertOwnership(owner tenant.Owner, records []ownershipRecord) statement {
	placeholders := make([]string, len(records))
	var args []any
	for i, r := range records {
		placeholders[i] = "(?, ?, ?, ?, ?, ?)"
		args = append(args, r.kind, r.name, owner.UID, owner.Namespace, owner.Name, statePending)
	}
	return statement{op: opOwnership, query: "INSERT INTO " + ownershipTable +
		" (kind, name, owner_uid, owner_namespace, owner_name, state) VALUES " + strings.Join(placeholders, ", "), args: args}
}

func commitOwnership(uid string) statement {
	return statement{op: opOwnership, query: "UPDATE " + ownershipTable + " SET state = ? WHERE owner_uid = ? AND state = ?",
		args: []any{stateCommitted, uid, statePending}}
}

func deletePendingOwnership(kind tenant.Object, name, uid string) statement {
	return statement{op: opOwnership, query: "DELETE FROM " + ownershipTable + " WHERE kind = ? AND name = ? AND owner_uid = ? AND state = ?",
		args: []any{kind, name, uid, statePending}}
}

// deleteOwnership forgets one record of owner uid, whatever its state.
func deleteOwnership(kind tenant.Object, name, uid string) statement {
	return statement{op: opOwnership, query: "DELETE FROM " + ownershipTable + " WHERE kind = ? AND name = ? AND owner_uid = ?",
		args: []any{kind, name, uid}}
}

func deleteOwnershipOf(uid string) statement {
	return statement{op: opOwnership, query: "DELETE FROM " + ownershipTable + " WHERE owner_uid = ?", args: []any{uid}}
}

// The drift sweep (sweep.go): what a cluster holds for all its tenants, each read in one statement.
// Accounts and grants are MariaDB's tables, and only those of the host every tenant uses and of
// the names the ownership table records: a server shared with other applications holds accounts
// and databases the sweep has no use for, and reading them would grow the operator's memory with
// the server's size rather than with its tenants.

// recordedNames is the subquery of the names recorded for one kind, in the character set and
// collation of the mysql schema's name columns, so that they compare exactly as the server's
// account names do.
const recordedNames = "(SELECT CONVERT(name USING utf8mb3) COLLATE utf8mb3_bin FROM " + ownershipTable + " WHERE kind = ?)"

var (
	selectOwnershipRecords = read(ownershipColumns+" WHERE kind IN (?, ?)", tenant.ObjectDatabase, tenant.ObjectUser)
	// selectSchemata compares names as information_schema does, without regard to case, which
	// finds a database however a server that folds names spells it.
	selectSchemata = read("SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "+
		"WHERE SCHEMA_NAME IN (SELECT CONVERT(name USING utf8mb3) FROM "+ownershipTable+" WHERE kind = ?)", tenant.ObjectDatabase)
	// selectAccounts reads MariaDB's account rows (10.4 and later): privileges, plugin, hash, TLS
	// requirement, connection limit and default role, as JSON.
	selectAccounts = read("SELECT User, Priv FROM mysql.global_priv WHERE Host = ? AND User IN "+recordedNames, anyHost, tenant.ObjectUser)
	// selectDatabaseGrants reads every column: each server version has its own set of privilege
	// columns, and ALL PRIVILEGES is all of them.
	selectDatabaseGrants = read("SELECT * FROM mysql.db WHERE Host = ? AND User IN "+recordedNames, anyHost, tenant.ObjectUser)
	// selectObjectGrants reads grants on tables, columns and routines, with their privileges
	// (columns carry no GRANT OPTION).
	selectObjectGrants = read(`SELECT User, Db, Table_priv FROM mysql.tables_priv WHERE Host = ? AND User IN `+recordedNames+`
UNION ALL SELECT User, Db, '' FROM mysql.columns_priv WHERE Host = ? AND User IN `+recordedNames+`
UNION ALL SELECT User, Db, Proc_priv FROM mysql.procs_priv WHERE Host = ? AND User IN `+recordedNames,
		anyHost, tenant.ObjectUser, anyHost, tenant.ObjectUser, anyHost, tenant.ObjectUser)
	// selectDelegations lists the users granted a role or PROXY.
	selectDelegations = read(`SELECT User FROM mysql.roles_mapping WHERE Host = ? AND User IN `+recordedNames+`
UNION SELECT User FROM mysql.proxies_priv WHERE Host = ? AND User IN `+recordedNames, anyHost, tenant.ObjectUser, anyHost, tenant.ObjectUser)
)
