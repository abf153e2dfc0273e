package tenant

import "fmt"

// MaxPasswordLength is the longest password DB Concierge accepts from a Secret.
const MaxPasswordLength = 128

// ValidatePassword accepts 1 to MaxPasswordLength printable ASCII characters other than the space
// ('!' to '~'). Outside that set a byte can mean different things under different character sets
// (a multi-byte character set can swallow the escape in front of a quote), and needs escaping in
// URLs, shell lines or YAML; generated passwords are always inside it. A refusal is a
// *PasswordError naming account, never quoting the password.
func ValidatePassword(account, password string) error {
	switch {
	case password == "":
		return &PasswordError{Account: account, Reason: "is empty"}
	case len(password) > MaxPasswordLength:
		return &PasswordError{Account: account, Reason: fmt.Sprintf("is %d characters long, more than the %d allowed", len(password), MaxPasswordLength)}
	}
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < '!' || c > '~' {
			return &PasswordError{Account: account, Reason: fmt.Sprintf("has a character outside printable ASCII at position %d: "+
				"only the characters from '!' to '~' (letters, digits and punctuation, no spaces) are allowed", i+1)}
		}
	}
	return nil
}
