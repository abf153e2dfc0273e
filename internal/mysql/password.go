package mysql

import (
	"crypto/sha1" //nolint:gosec // G505: mysql_native_password is SHA1(SHA1(password)) by definition
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

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
