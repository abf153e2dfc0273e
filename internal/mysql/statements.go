package mysql

// The only place where SQL text is assembled. Every identifier goes through quoteIdentifier (or
// grantPattern); every value, passwords included, is a placeholder that the driver escapes.

type statement struct {
	query string
	args  []any
	// secret marks a statement whose arguments include a password: its errors are reported
	// without the server's message, which can echo the statement back.
	secret bool
}

func createDatabase(name, charset, collation string) statement {
	return statement{query: "CREATE DATABASE IF NOT EXISTS " + quoteIdentifier(name) +
		" CHARACTER SET " + quoteIdentifier(charset) + " COLLATE " + quoteIdentifier(collation)}
}

func alterDatabase(name, charset, collation string) statement {
	return statement{query: "ALTER DATABASE " + quoteIdentifier(name) +
		" CHARACTER SET " + quoteIdentifier(charset) + " COLLATE " + quoteIdentifier(collation)}
}

func dropDatabase(name string) statement {
	return statement{query: "DROP DATABASE IF EXISTS " + quoteIdentifier(name)}
}

func dropUser(user string) statement {
	return statement{query: "DROP USER IF EXISTS " + quoteAccount(user, anyHost)}
}

func grantAllOnDatabase(database, user string) statement {
	return statement{query: "GRANT ALL PRIVILEGES ON " + grantPattern(database) + ".* TO " + quoteAccount(user, anyHost)}
}

// revokeAllOnPattern revokes a database-level grant whose pattern is the database name itself,
// unescaped: the wildcard grant older tools (the seed's operator among them) made.
func revokeAllOnPattern(database, user string) statement {
	return statement{query: "REVOKE ALL PRIVILEGES ON " + quoteIdentifier(database) + ".* FROM " + quoteAccount(user, anyHost)}
}

func showGrants(user string) statement {
	return statement{query: "SHOW GRANTS FOR " + quoteAccount(user, anyHost)}
}

// grantLinePrefix is how SHOW GRANTS prints the one grant a tenant user must hold, on MySQL 8 and
// MariaDB alike.
func grantLinePrefix(database string) string {
	return "GRANT ALL PRIVILEGES ON " + grantPattern(database) + ".* TO "
}

// wildcardGrantLinePrefix is how SHOW GRANTS prints the same grant made without escaping, which
// also covers look-alike databases (my_app covers myXapp). It differs from grantLinePrefix only
// for names with '_' or '%'.
func wildcardGrantLinePrefix(database string) string {
	return "GRANT ALL PRIVILEGES ON " + quoteIdentifier(database) + ".* TO "
}
