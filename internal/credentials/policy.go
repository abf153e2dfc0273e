package credentials

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// The character classes of a password.
const (
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
	digits       = "0123456789"
	// SafeSpecials are the characters other than letters and digits a generated password may hold:
	// the ones RFC 3986 leaves unreserved. None needs escaping in a URL, a DSN, YAML, SQL or a
	// shell assignment (a password never starts with one, so '~' is never expanded).
	SafeSpecials = "-._~"
)

// Policy says what a generated password is made of; the zero Policy is DefaultPolicy. Servers enforce policies by counting
// classes — MySQL's validate_password, MariaDB's simple_password_check — or by refusing simple
// sequences (cracklib); DefaultPolicy satisfies every one of them at its default settings.
type Policy struct {
	Length int
	// The least number of characters of each class.
	MinUpper, MinLower, MinDigits, MinSpecial int
	// Specials are the characters of the special class, a subset of SafeSpecials.
	Specials string
}

// DefaultPolicy is 32 characters (about 190 bits), at least two of each class.
var DefaultPolicy = Policy{Length: 32, MinUpper: 2, MinLower: 2, MinDigits: 2, MinSpecial: 2, Specials: SafeSpecials}

// maxSequentialPairs: cracklib refuses a password as "too simplistic/systematic" when more than
// a few of its characters are each one more or less than the one before (abc, 987) once it is
// lower-cased (so aB counts as well as ab): more than 4 in Debian's cracklib 2.9.6, more than
// 3 + 9 % of the length in later ones. A drawn password with more than 3 is drawn again.
const maxSequentialPairs = 3

// Validate reports a policy no password can meet, or one with characters outside SafeSpecials.
func (p Policy) Validate() error {
	switch {
	case p.Length < 1 || p.Length > 128:
		return fmt.Errorf("password length %d is outside 1 to 128", p.Length)
	case p.MinUpper < 0 || p.MinLower < 0 || p.MinDigits < 0 || p.MinSpecial < 0:
		return errors.New("a minimum number of characters is negative")
	case p.MinUpper+p.MinLower+p.MinDigits+p.MinSpecial > p.Length:
		return fmt.Errorf("the minimum numbers of characters add up to more than the length, %d", p.Length)
	case strings.Trim(p.Specials, SafeSpecials) != "":
		return fmt.Errorf("special characters %q are not all among %q", p.Specials, SafeSpecials)
	case p.Specials == "" && p.MinSpecial > 0:
		return errors.New("special characters are required but none is allowed")
	}
	return nil
}

func (p Policy) orDefault() Policy {
	if p == (Policy{}) {
		return DefaultPolicy
	}
	return p
}

func (p Policy) alphabet() string { return upperLetters + lowerLetters + digits + p.Specials }

// Generate draws a password from crypto/rand that meets p. It starts with a letter and ends with
// a letter or a digit, so that no tool takes its first or last character for syntax.
func (p Policy) Generate() (string, error) {
	policy := p.orDefault()
	if err := policy.Validate(); err != nil {
		return "", err
	}
	for {
		b, err := policy.draw()
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		if b != nil && sequentialPairs(b) <= maxSequentialPairs {
			return string(b), nil
		}
	}
}

// draw places the required characters of each class and fills the rest from the whole alphabet,
// in random order; nil when the draw cannot start with a letter and end with a letter or digit.
func (p Policy) draw() ([]byte, error) {
	b := make([]byte, 0, p.Length)
	for _, class := range []struct {
		chars string
		n     int
	}{{upperLetters, p.MinUpper}, {lowerLetters, p.MinLower}, {digits, p.MinDigits}, {p.Specials, p.MinSpecial}} {
		for range class.n {
			c, err := pick(class.chars)
			if err != nil {
				return nil, err
			}
			b = append(b, c)
		}
	}
	for len(b) < p.Length {
		c, err := pick(p.alphabet())
		if err != nil {
			return nil, err
		}
		b = append(b, c)
	}
	for i := len(b) - 1; i > 0; i-- {
		j, err := randomIndex(i + 1)
		if err != nil {
			return nil, err
		}
		b[i], b[j] = b[j], b[i]
	}
	if !moveToFront(b, isLetter) {
		return nil, nil
	}
	if len(b) > 1 && !isAlphanumeric(b[len(b)-1]) {
		// Swap the last character with a letter or digit between the ends.
		for i := 1; i < len(b)-1; i++ {
			if isAlphanumeric(b[i]) {
				b[i], b[len(b)-1] = b[len(b)-1], b[i]
				return b, nil
			}
		}
		return nil, nil
	}
	return b, nil
}

// moveToFront swaps the first character that satisfies ok to the front.
func moveToFront(b []byte, ok func(byte) bool) bool {
	for i, c := range b {
		if ok(c) {
			b[0], b[i] = b[i], b[0]
			return true
		}
	}
	return false
}

func isLetter(c byte) bool       { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlphanumeric(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' }

// sequentialPairs counts the neighbours that differ by one (ab, ba, 45), letters compared
// without case, as cracklib compares them.
func sequentialPairs(b []byte) int {
	n := 0
	for i := 1; i < len(b); i++ {
		if d := int(toLower(b[i])) - int(toLower(b[i-1])); d == 1 || d == -1 {
			n++
		}
	}
	return n
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Check reports how password falls short of p, in words that never quote it: a password given
// by the application team (not generated) is checked before any server sees it.
func (p Policy) Check(password string) error {
	policy := p.orDefault()
	count := func(chars string) int {
		n := 0
		for i := 0; i < len(password); i++ {
			if strings.IndexByte(chars, password[i]) >= 0 {
				n++
			}
		}
		return n
	}
	var short []string
	if len(password) < policy.Length {
		short = append(short, fmt.Sprintf("is %d characters long, shorter than %d", len(password), policy.Length))
	}
	for _, class := range []struct {
		name, chars string
		min         int
	}{{"upper-case letters", upperLetters, policy.MinUpper}, {"lower-case letters", lowerLetters, policy.MinLower},
		{"digits", digits, policy.MinDigits}, {"special characters", specialsOutside(), policy.MinSpecial}} {
		if n := count(class.chars); n < class.min {
			short = append(short, fmt.Sprintf("has %d %s, fewer than %d", n, class.name, class.min))
		}
	}
	if len(short) > 0 {
		return errors.New(strings.Join(short, ", "))
	}
	return nil
}

// specialsOutside lists the printable ASCII characters other than letters, digits and the
// space: what servers count as special in a password someone else chose.
func specialsOutside() string {
	var b strings.Builder
	for c := byte('!'); c <= '~'; c++ {
		if !isAlphanumeric(c) {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func pick(chars string) (byte, error) {
	i, err := randomIndex(len(chars))
	if err != nil {
		return 0, err
	}
	return chars[i], nil
}

func randomIndex(n int) (int, error) {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, err
	}
	return int(i.Int64()), nil
}
