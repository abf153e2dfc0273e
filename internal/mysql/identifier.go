// Package mysql is the tenant.Engine of MySQL-compatible servers (MySQL 8, Percona, MariaDB,
// Galera): it validates and quotes identifiers, records who owns which database and accounts, and
// creates, checks and drops tenants, each account held to its access preset. It speaks SQL on
// behalf of the operator and knows nothing about Kubernetes.
package mysql

import (
	"fmt"
	"regexp"
	"strings"
)

// Limits of the names this package accepts. MySQL allows longer user names on MariaDB, but the
// lowest common limit (MySQL 8's 32) keeps a tenant portable between servers.
const (
	MaxDatabaseNameLength = 64
	MaxUserNameLength     = 32
	maxCharsetNameLength  = 64
)

// OperatorSchema is the schema that holds the operator's own bookkeeping. Tenants can never use
// it, nor any name that starts with it.
const OperatorSchema = "db_concierge"

// The wildcard host of every application account: users connect through proxies and pods whose
// addresses are not known in advance.
const anyHost = "%"

var identifierPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// reservedSchemas are system schemas no tenant may be given, compared case-insensitively so that
// a server with lower_case_table_names=1 cannot be used to reach them.
var reservedSchemas = []string{"mysql", "sys", "information_schema", "performance_schema"}

// reservedUsers are accounts that belong to the server itself.
var reservedUsers = []string{"root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema", "PUBLIC"}

// ValidateDatabaseName accepts letters, digits and '_' up to 64 characters, and refuses the
// server's own schemas and the operator's.
func ValidateDatabaseName(name string) error {
	if err := validateIdentifier("database name", name, MaxDatabaseNameLength); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	for _, reserved := range reservedSchemas {
		if lower == reserved {
			return fmt.Errorf("database name %q is reserved for the server's own use", name)
		}
	}
	if strings.HasPrefix(lower, OperatorSchema) {
		return fmt.Errorf("database name %q is reserved: names starting with %q belong to DB Concierge", name, OperatorSchema)
	}
	return nil
}

// ValidateUserName accepts letters, digits and '_' up to 32 characters, and refuses the server's
// own accounts.
func ValidateUserName(name string) error {
	if err := validateIdentifier("user name", name, MaxUserNameLength); err != nil {
		return err
	}
	for _, reserved := range reservedUsers {
		if strings.EqualFold(name, reserved) {
			return fmt.Errorf("user name %q is reserved for the server's own use", name)
		}
	}
	return nil
}

// ValidateCharsetName checks a character set or collation name before it is written into DDL.
func ValidateCharsetName(kind, name string) error {
	return validateIdentifier(kind, name, maxCharsetNameLength)
}

func validateIdentifier(kind, name string, maxLength int) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", kind)
	case len(name) > maxLength:
		return fmt.Errorf("%s %q is %d characters long, more than the %d allowed", kind, name, len(name), maxLength)
	case !identifierPattern.MatchString(name):
		return fmt.Errorf("%s %q may contain only letters, digits and '_'", kind, name)
	}
	return nil
}

// quoteIdentifier backtick-quotes a name for use in SQL text. Callers validate names first; the
// doubling of embedded backticks is a second line of defence, so that even an unvalidated name
// cannot end the quoted identifier.
func quoteIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// quoteAccount quotes a user@host account name.
func quoteAccount(user, host string) string {
	return quoteIdentifier(user) + "@" + quoteIdentifier(host)
}

// grantPattern quotes a database name for a database-level GRANT or REVOKE. There, '_' and '%' are
// wildcards: an unescaped grant on my_app would also cover myXapp, so both are escaped (and the
// escape character itself).
func grantPattern(database string) string {
	return quoteIdentifier(escapePattern(database))
}

// patternEscaper escapes the wildcards of a LIKE pattern; built once, it is safe for concurrent use.
var patternEscaper = strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`)

// escapePattern escapes a database name's wildcards, as database-level grants store it.
func escapePattern(database string) string {
	return patternEscaper.Replace(database)
}
