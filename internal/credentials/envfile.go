package credentials

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// EnvFormat is a form of environment file.
type EnvFormat string

// The forms WriteEnv writes.
const (
	// EnvShell is export NAME='value' lines for `source`: the variables reach the programs the
	// shell starts.
	EnvShell EnvFormat = "shell"
	// EnvDotenv is NAME='value' lines for dotenv loaders (docker compose, python-dotenv, the npm
	// dotenv package, direnv's dotenv).
	EnvDotenv EnvFormat = "dotenv"
)

// EnvVars are the variables WriteEnv writes, by the Secret key each comes from. Keys that an
// operator of an earlier version did not write are optional.
var EnvVars = []struct {
	Name, Key string
	Optional  bool
}{
	{"MYSQL_HOST", KeyHost, false},
	{"MYSQL_PORT", KeyPort, false},
	{"MYSQL_USER", KeyUsername, false},
	{"MYSQL_PASSWORD", KeyPassword, false},
	{"MYSQL_DATABASE", KeyDatabase, false},
	{"MYSQL_URL", KeyConnectionString, false},
	{"MYSQL_JDBC_URL", KeyJDBCURI, true},
	{"MYSQL_GO_DSN", KeyGoDSN, true},
}

// WriteEnv writes a Secret's data as variable assignments in format, every value single-quoted so
// that none can run as a command or be expanded. It writes all at once or nothing: redirected
// into a file, a value that cannot be written must not leave what passes for a complete file.
func WriteEnv(w io.Writer, data map[string][]byte, format EnvFormat) error {
	var b strings.Builder
	for _, v := range EnvVars {
		value, ok := data[v.Key]
		switch {
		case !ok && v.Optional:
			continue
		case !ok:
			return fmt.Errorf("no key %q", v.Key)
		}
		switch format {
		case EnvDotenv:
			quoted, err := dotenvQuote(string(value))
			if err != nil {
				return fmt.Errorf("%s: %w", v.Name, err)
			}
			fmt.Fprintf(&b, "%s=%s\n", v.Name, quoted)
		case EnvShell, "":
			fmt.Fprintf(&b, "export %s=%s\n", v.Name, ShellQuote(string(value)))
		default:
			return fmt.Errorf("unknown environment file format %q", format)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ShellQuote single-quotes s for a POSIX shell.
func ShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// dotenvQuote single-quotes a value for dotenv loaders. They read single-quoted values literally
// but disagree on escapes there: python-dotenv undoes \\ and \', the npm package and docker
// compose undo none. A value holding a quote, a backslash or a line break cannot be written so
// that all of them read it back.
func dotenvQuote(s string) (string, error) {
	if strings.ContainsAny(s, "'\\\n\r") {
		return "", errors.New("the value holds a single quote, a backslash or a line break, which dotenv loaders do not read back alike; use the shell format")
	}
	return "'" + s + "'", nil
}
