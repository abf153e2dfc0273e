// Package credentials generates application passwords and renders what an application's Secret
// holds. Its functions are pure apart from the random source.
package credentials

import (
	"net"
	"net/url"
	"strconv"
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

// SecretData is the exact content of the application's Secret.
func (c Connection) SecretData() map[string][]byte {
	return map[string][]byte{
		KeyHost:             []byte(c.Host),
		KeyPort:             []byte(strconv.Itoa(c.Port)),
		KeyUsername:         []byte(c.User),
		KeyPassword:         []byte(c.Password),
		KeyDatabase:         []byte(c.Database),
		KeyConnectionString: []byte(c.URL(true)),
	}
}
