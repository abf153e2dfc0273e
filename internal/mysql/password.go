package mysql

import (
	"crypto/sha1" //nolint:gosec // G505: mysql_native_password is SHA1(SHA1(password)) by definition
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxPasswordLength is the longest password DB Concierge accepts from a Secret.
const MaxPasswordLength = 128

// PasswordError says a password cannot be used as it is. It never quotes the password.
type PasswordError struct{ Reason string }

func (e *PasswordError) Error() string { return "the password " + e.Reason }

// ValidatePassword accepts 1 to MaxPasswordLength printable ASCII characters other than the space
// ('!' to '~'). Outside that set a byte can mean different things under different character sets
// (a multi-byte character set can swallow the escape in front of a quote), and needs escaping in
// URLs, shell lines or YAML; generated passwords are always inside it.
func ValidatePassword(password string) error {
	switch {
	case password == "":
		return &PasswordError{Reason: "is empty"}
	case len(password) > MaxPasswordLength:
		return &PasswordError{Reason: fmt.Sprintf("is %d characters long, more than the %d allowed", len(password), MaxPasswordLength)}
	}
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < '!' || c > '~' {
			return &PasswordError{Reason: fmt.Sprintf("has a character outside printable ASCII at position %d: "+
				"only the characters from '!' to '~' (letters, digits and punctuation, no spaces) are allowed", i+1)}
		}
	}
	return nil
}

// nativePasswordIs reports whether the grants SHOW GRANTS printed carry the mysql_native_password
// hash of password. MariaDB prints it as IDENTIFIED BY PASSWORD '*<hex>'; MySQL 8 prints no hash,
// and other plugins (ed25519, caching_sha2_password) print another form: all of those are false,
// which sends the caller to a login.
func nativePasswordIs(grants []string, password string) bool {
	const marker = " IDENTIFIED BY PASSWORD '"
	for _, line := range grants {
		_, rest, found := cutOutsideQuotes(line, marker)
		if !found {
			continue
		}
		hash, _, closed := strings.Cut(rest, "'")
		if !closed {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(strings.ToUpper(hash)), []byte(nativePasswordHash(password))) == 1
	}
	return false
}

// nativeHashLength is the length of a mysql_native_password hash as servers print it: "*" and 40
// hex digits.
const nativeHashLength = 41

// isNativeHash reports whether s has exactly the form of a mysql_native_password hash.
func isNativeHash(s string) bool {
	if len(s) != nativeHashLength || s[0] != '*' {
		return false
	}
	for _, c := range s[1:] {
		if !strings.ContainsRune("0123456789ABCDEFabcdef", c) {
			return false
		}
	}
	return true
}

// nativePasswordHash is what the server stores for password under mysql_native_password:
// "*" and the upper-case hex of SHA1(SHA1(password)).
func nativePasswordHash(password string) string {
	first := sha1.Sum([]byte(password)) //nolint:gosec // G401: the server's hash format, not a choice
	second := sha1.Sum(first[:])        //nolint:gosec // G401: as above
	return "*" + strings.ToUpper(hex.EncodeToString(second[:]))
}
