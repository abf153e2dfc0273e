package credentials

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	policies := []struct {
		name   string
		policy Policy
	}{
		{"default", DefaultPolicy},
		{"zero is the default", Policy{}},
		{"short and strict", Policy{Length: 16, MinUpper: 4, MinLower: 4, MinDigits: 4, MinSpecial: 4, Specials: "-_"}},
		{"no special characters", Policy{Length: 20, MinUpper: 1, MinLower: 1, MinDigits: 1}},
		{"longest", Policy{Length: 128, MinSpecial: 10, Specials: SafeSpecials}},
	}
	for _, tc := range policies {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy.orDefault()
			seen := map[string]bool{}
			for range 500 {
				pw, err := tc.policy.Generate()
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Check(pw); err != nil {
					t.Fatalf("password %q: %v", pw, err)
				}
				switch {
				case len(pw) != p.Length:
					t.Fatalf("password %q is not %d characters long", pw, p.Length)
				case strings.Trim(pw, p.alphabet()) != "":
					t.Fatalf("password %q has characters outside %q", pw, p.alphabet())
				case !isLetter(pw[0]) || !isAlphanumeric(pw[len(pw)-1]):
					t.Fatalf("password %q does not start with a letter and end with a letter or digit", pw)
				case sequentialPairs([]byte(pw)) > maxSequentialPairs:
					t.Fatalf("password %q has more than %d sequential pairs", pw, maxSequentialPairs)
				case seen[pw]:
					t.Fatal("a password repeated")
				}
				seen[pw] = true
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name   string
		policy Policy
		want   string
	}{
		{"default", DefaultPolicy, ""},
		{"too long", Policy{Length: 129}, "outside 1 to 128"},
		{"minimums over the length", Policy{Length: 16, MinUpper: 5, MinLower: 5, MinDigits: 5, MinSpecial: 2, Specials: "-"}, "more than the length"},
		{"special characters that need escaping", Policy{Length: 32, Specials: "-$"}, "not all among"},
		{"special characters required, none allowed", Policy{Length: 32, MinSpecial: 1}, "none is allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPolicyCheck(t *testing.T) {
	cases := []struct {
		password string
		want     []string
	}{
		{"Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-Ab1-", nil},
		// Any punctuation counts as special in a password someone else chose.
		{"Ab1!Ab1$Ab1(Ab1)Ab1*Ab1+Ab1,Ab1/", nil},
		{"xyzzy", []string{"is 5 characters long, shorter than 32", "has 0 upper-case letters, fewer than 2", "has 0 digits", "has 0 special characters"}},
		{"abcdefghijklmnopqrstuvwxyzabcdef12", []string{"has 0 upper-case letters", "has 0 special characters"}},
	}
	for _, tc := range cases {
		err := DefaultPolicy.Check(tc.password)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("Check(%q) = %v", tc.password, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Check(%q) passed", tc.password)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Check(%q) = %q, want it to say %q", tc.password, err, w)
			}
		}
		if strings.Contains(err.Error(), tc.password) {
			t.Errorf("Check(%q) quotes the password: %q", tc.password, err)
		}
	}
}

// Neighbours that differ by one count as cracklib counts them, after lower-casing.
func TestSequentialPairs(t *testing.T) {
	for _, tc := range []struct {
		password string
		want     int
	}{
		{"abcde", 4},
		{"aBcD", 3},
		{"ZyX", 2},
		{"98-.", 2},
		{"Az09", 0},
		{"aA", 0},
	} {
		if got := sequentialPairs([]byte(tc.password)); got != tc.want {
			t.Errorf("sequentialPairs(%q) = %d, want %d", tc.password, got, tc.want)
		}
	}
}
