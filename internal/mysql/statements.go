package mysql

import "strconv"

// SQL text is assembled here, in grants.go and in dialect.go, nowhere else. Every identifier goes
// through quoteIdentifier (or grantPattern); every value, passwords included, is a placeholder
// that the driver escapes.

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
)

type statement struct {
	op    string
	query string
	args  []any
	// secret marks a statement whose arguments include a password: its errors are reported
	// without the server's message, which can echo the statement back.
	secret bool
}

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

func dropUser(user string) statement {
	return statement{op: opDropUser, query: "DROP USER IF EXISTS " + quoteAccount(user, anyHost)}
}

func grantAllOnDatabase(database, user string) statement {
	return statement{op: opGrant, query: "GRANT ALL PRIVILEGES ON " + grantPattern(database) + ".* TO " + quoteAccount(user, anyHost)}
}

// resolveCharsetQuery asks the server for its own names of a character set and collation.
func resolveCharsetQuery(charset, collation string) string {
	value := "CONVERT('' USING " + quoteIdentifier(charset) + ")"
	return "SELECT CHARSET(" + value + "), COLLATION(" + value + " COLLATE " + quoteIdentifier(collation) + ")"
}

// killConnection ends a session; the id is a number the server gave, formatted as one.
func killConnection(id int64) statement {
	return statement{op: opKill, query: "KILL CONNECTION " + strconv.FormatInt(id, 10)}
}

func showGrants(user string) statement {
	return statement{op: opRead, query: "SHOW GRANTS FOR " + quoteAccount(user, anyHost)}
}
