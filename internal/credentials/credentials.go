// Package credentials generates application passwords and renders what an application's Secret
// holds. Its functions are pure apart from the random source.
package credentials

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Keys of an application Secret, as the seed defines them.
const (
	KeyHost             = "host"
	KeyPort             = "port"
	KeyUsername         = "username"
	KeyPassword         = "password"
	KeyDatabase         = "database"
	KeyConnectionString = "connection-string"
)

// Keys DB Concierge adds for the most common client libraries, named as CloudNativePG names its
// own where it has a name for them.
const (
	// KeyJDBCURI is the JDBC URL, for MySQL Connector/J and MariaDB Connector/J (2.x takes the
	// jdbc:mysql: scheme as it is; 3.x wants permitMysqlScheme). It carries no credentials: the
	// drivers do not agree on how a password in a URL is escaped (MariaDB Connector/J 2.7 decodes
	// nothing, so a password holding & or = cannot be written for it), and every JDBC pool takes
	// user and password apart from the URL.
	KeyJDBCURI = "jdbc-uri"
	// KeyGoDSN is a go-sql-driver/mysql data source name.
	KeyGoDSN = "go-dsn"
)

// LaterKeys are the keys that earlier versions did not write. A Secret that lacks them is left
// as it is rather than rewritten to add them, since rewriting every Secret at an upgrade would
// restart every application that watches its Secret (Reloader and the like). It gets them with
// its next write: a rotation, a change of the AppDatabase's spec, a repair.
var LaterKeys = []string{KeyJDBCURI, KeyGoDSN}

// OwnedKeys are the keys DB Concierge writes into every application Secret; a template may not
// set them.
var OwnedKeys = []string{KeyHost, KeyPort, KeyUsername, KeyPassword, KeyDatabase, KeyConnectionString, KeyJDBCURI, KeyGoDSN, KeyPendingPassword}

// KeyPendingPassword holds, for a moment during a rotation on a server that keeps two passwords
// per account, the new password before the account takes it: a pass that ends between the two
// finds it there and carries on with it, instead of drawing another and losing the password the
// application uses. The Secret's other keys are untouched until the account logs in with it.
const KeyPendingPassword = "pending-password"

// NewPassword returns a fresh password of DefaultPolicy.
func NewPassword() (string, error) { return DefaultPolicy.Generate() }

// Connection is what an application needs to log in.
type Connection struct {
	Host     string
	Port     int
	User     string
	Password string
	Database string
}

// URL is mysql://user:password@host:port/database with user and password percent-encoded. With
// withPassword false the password is left out, for status fields and output meant for people.
func (c Connection) URL(withPassword bool) string {
	u := url.URL{Scheme: "mysql", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + c.Database}
	if withPassword {
		u.User = url.UserPassword(c.User, c.Password)
	} else {
		u.User = url.User(c.User)
	}
	return u.String()
}

// JDBCURL is jdbc:mysql://host:port/database. Database names are letters, digits and _, which
// need no escaping.
func (c Connection) JDBCURL() string {
	return "jdbc:mysql://" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/" + c.Database
}

// GoDSN is the go-sql-driver/mysql data source name, user:password@tcp(host:port)/database, as
// the driver itself writes it: its parser takes any byte in a password.
func (c Connection) GoDSN() string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net = c.User, c.Password, "tcp"
	cfg.Addr, cfg.DBName = net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.Database
	return cfg.FormatDSN()
}

// PercentEncode escapes every byte but RFC 3986's unreserved characters, the one form every URL
// parser decodes alike: url.QueryEscape's '+' for a space is read back as '+' by some.
func PercentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// SecretData is the exact content of the application's Secret, before any template's keys.
func (c Connection) SecretData() map[string][]byte {
	return map[string][]byte{
		KeyHost:             []byte(c.Host),
		KeyPort:             []byte(strconv.Itoa(c.Port)),
		KeyUsername:         []byte(c.User),
		KeyPassword:         []byte(c.Password),
		KeyDatabase:         []byte(c.Database),
		KeyConnectionString: []byte(c.URL(true)),
		KeyJDBCURI:          []byte(c.JDBCURL()),
		KeyGoDSN:            []byte(c.GoDSN()),
	}
}
