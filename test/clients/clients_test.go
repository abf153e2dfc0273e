//go:build integration

// Package clients runs the keys of an application Secret through the client libraries that
// applications use, against a real MariaDB: MariaDB Connector/J for jdbc-uri (with username and
// password, as JDBC pools take them), go-sql-driver for
// go-dsn, the npm mysql2 package and SQLAlchemy with PyMySQL for connection-string, and bash, the
// npm dotenv package and python-dotenv for the environment file. None of them was written here;
// each must log in as the account, into its database, whatever its password holds.
package clients

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/stillwaters/db-concierge/internal/credentials"
	"github.com/stillwaters/db-concierge/internal/tenant"
	"github.com/stillwaters/db-concierge/test/stack"
)

const connectorJ = "/usr/share/java/mariadb-java-client.jar"

// passwords are those an account may have: generated under the default policy, and brought from a
// Secret, which may hold any printable ASCII character but the space (tenant.ValidatePassword).
var passwords = []struct{ name, password string }{
	{"generated", ""},
	{"every ASCII special", `Aa1!"#$%&'()*+,-./:;<=>?@[\]^_` + "`{|}~"},
	{"URL delimiters", "user:pass@host/db?x=1&y=2#frag%41"},
}

type account struct {
	name string
	conn credentials.Connection
	data map[string][]byte
}

func TestSecretKeysWithRealClients(t *testing.T) {
	m, err := stack.StartMariaDB()
	if err != nil {
		t.Fatalf("starting MariaDB: %v", err)
	}
	t.Cleanup(m.Close)
	root, err := m.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	mustExec(t, root, "CREATE DATABASE shop")
	var accounts []account
	for i, p := range passwords {
		pw := p.password
		if pw == "" {
			if pw, err = credentials.NewPassword(); err != nil {
				t.Fatal(err)
			}
		}
		user := fmt.Sprintf("shop_app%d", i)
		if err := tenant.ValidatePassword(user, pw); err != nil {
			t.Fatalf("%s: a password the operator refuses: %v", p.name, err)
		}
		mustExec(t, root, "CREATE USER ?@'%' IDENTIFIED BY ?", user, pw)
		mustExec(t, root, fmt.Sprintf("GRANT ALL ON shop.* TO %s@'%%'", user))
		c := credentials.Connection{Host: "127.0.0.1", Port: m.Port, User: user, Password: pw, Database: "shop"}
		accounts = append(accounts, account{name: p.name, conn: c, data: c.SecretData()})
	}
	want := func(a account) string { return a.conn.User + "@% shop" }

	t.Run("go-dsn with go-sql-driver", func(t *testing.T) {
		for _, a := range accounts {
			db, err := sql.Open("mysql", string(a.data[credentials.KeyGoDSN]))
			if err != nil {
				t.Fatalf("%s: %v", a.name, err)
			}
			var user, database string
			err = db.QueryRow("SELECT CURRENT_USER(), DATABASE()").Scan(&user, &database)
			_ = db.Close()
			if got := user + " " + database; err != nil || got != want(a) {
				t.Errorf("%s: %q, %v; want %q", a.name, got, err, want(a))
			}
		}
	})

	t.Run("jdbc-uri with MariaDB Connector/J", func(t *testing.T) {
		need(t, "javac", "java", connectorJ)
		dir := t.TempDir()
		writeFile(t, dir, "Probe.java", javaProbe)
		run(t, "", nil, "javac", "-d", dir, filepath.Join(dir, "Probe.java"))
		for _, a := range accounts {
			env := []string{"JDBC_URL=" + string(a.data[credentials.KeyJDBCURI]),
				"USER_NAME=" + string(a.data[credentials.KeyUsername]), "PASSWORD=" + string(a.data[credentials.KeyPassword])}
			got, err := output("", env, "java", "-cp", connectorJ+":"+dir, "Probe")
			if err != nil || got != want(a) {
				t.Errorf("%s: %q, %v; want %q", a.name, got, err, want(a))
			}
		}
	})

	t.Run("connection-string with npm mysql2", func(t *testing.T) {
		modules := nodeModules(t)
		for _, a := range accounts {
			got, err := output("", []string{"NODE_PATH=" + modules, "MYSQL_URL=" + string(a.data[credentials.KeyConnectionString])}, "node", "-e", nodeProbe)
			if err != nil || got != want(a) {
				t.Errorf("%s: %q, %v; want %q", a.name, got, err, want(a))
			}
		}
	})

	t.Run("connection-string with SQLAlchemy and PyMySQL", func(t *testing.T) {
		need(t, "/usr/bin/python3")
		for _, a := range accounts {
			got, err := output("", []string{"MYSQL_URL=" + string(a.data[credentials.KeyConnectionString])}, "/usr/bin/python3", "-c", pythonProbe)
			if err != nil || got != want(a) {
				t.Errorf("%s: %q, %v; want %q", a.name, got, err, want(a))
			}
		}
	})

	t.Run("environment file", func(t *testing.T) {
		need(t, "bash", "/usr/bin/python3")
		modules := nodeModules(t)
		for _, a := range accounts {
			wantVars := map[string]string{}
			for _, v := range credentials.EnvVars {
				wantVars[v.Name] = string(a.data[v.Key])
			}
			dir := t.TempDir()

			// The shell form, sourced by bash: a program bash starts sees every value exactly.
			var shell bytes.Buffer
			if err := credentials.WriteEnv(&shell, a.data, credentials.EnvShell); err != nil {
				t.Fatal(err)
			}
			shellFile := writeFile(t, dir, "shell.env", shell.String())
			got, err := output("", nil, "bash", "-c", `source "$1" && exec /usr/bin/python3 -c "$2"`, "_", shellFile, pythonPrintEnv)
			compareVars(t, a.name+", sourced by bash", got, err, wantVars)

			// The dotenv form, read by python-dotenv and the npm dotenv package; refused, with
			// nothing written, for what they would read back differently.
			var dotenv bytes.Buffer
			err = credentials.WriteEnv(&dotenv, a.data, credentials.EnvDotenv)
			if strings.ContainsAny(a.conn.Password, `'\`) {
				if err == nil || dotenv.Len() != 0 {
					t.Errorf("%s: a dotenv file was written for a password with a quote or a backslash", a.name)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", a.name, err)
			}
			dotenvFile := writeFile(t, dir, "dotenv.env", dotenv.String())
			got, err = output("", []string{"ENV_FILE=" + dotenvFile}, "/usr/bin/python3", "-c", pythonDotenv)
			compareVars(t, a.name+", read by python-dotenv", got, err, wantVars)
			got, err = output("", []string{"NODE_PATH=" + modules, "ENV_FILE=" + dotenvFile}, "node", "-e", nodeDotenv)
			compareVars(t, a.name+", read by npm dotenv", got, err, wantVars)
		}
	})
}

const javaProbe = `import java.sql.*;

public class Probe {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(System.getenv("JDBC_URL"), System.getenv("USER_NAME"), System.getenv("PASSWORD"));
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT CURRENT_USER(), DATABASE()")) {
            r.next();
            System.out.print(r.getString(1) + " " + r.getString(2));
        }
    }
}
`

const nodeProbe = `
const mysql = require('mysql2/promise');
(async () => {
  const c = await mysql.createConnection(process.env.MYSQL_URL);
  const [rows] = await c.query('SELECT CURRENT_USER() AS u, DATABASE() AS d');
  process.stdout.write(rows[0].u + ' ' + rows[0].d);
  await c.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
`

const pythonProbe = `
import os, sys, sqlalchemy
from sqlalchemy.engine import make_url
url = make_url(os.environ["MYSQL_URL"]).set(drivername="mysql+pymysql")
with sqlalchemy.create_engine(url).connect() as c:
    user, database = c.execute(sqlalchemy.text("SELECT CURRENT_USER(), DATABASE()")).one()
sys.stdout.write(user + " " + database)
`

const pythonPrintEnv = `
import json, os, sys
json.dump({k: v for k, v in os.environ.items() if k.startswith("MYSQL_")}, sys.stdout)
`

const pythonDotenv = `
import json, os, sys
from dotenv import dotenv_values
json.dump(dotenv_values(os.environ["ENV_FILE"]), sys.stdout)
`

const nodeDotenv = `
const fs = require('fs');
const dotenv = require('dotenv');
process.stdout.write(JSON.stringify(dotenv.parse(fs.readFileSync(process.env.ENV_FILE))));
`

func compareVars(t *testing.T, what, got string, err error, want map[string]string) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(got), &vars); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	for name, value := range want {
		if vars[name] != value {
			t.Errorf("%s: %s differs from the Secret's value", what, name)
		}
	}
}

// nodeModules installs (once per machine) the npm packages and returns their folder.
func nodeModules(t *testing.T) string {
	t.Helper()
	need(t, "node", "npm")
	out, err := exec.Command("../../hack/node-clients.sh").Output()
	if err != nil {
		t.Skipf("the npm packages cannot be installed (is the npm registry reachable?): %v", err)
	}
	return strings.TrimSpace(string(out))
}

// need skips the test, saying why, when a program or file is not installed;
// hack/ensure-packages.sh installs them all.
func need(t *testing.T, what ...string) {
	t.Helper()
	for _, w := range what {
		if strings.HasPrefix(w, "/") {
			if _, err := os.Stat(w); err != nil {
				t.Skipf("%s is not installed: run hack/ensure-packages.sh as root", w)
			}
		} else if _, err := exec.LookPath(w); err != nil {
			t.Skipf("%s is not installed: run hack/ensure-packages.sh as root", w)
		}
	}
}

func output(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// The client's own words, which name no password: they say what it could not parse.
		return "", fmt.Errorf("%s: %w: %s", name, err, firstLine(stderr.String()))
	}
	return string(out), nil
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	if _, err := output(dir, env, name, args...); err != nil {
		t.Fatal(err)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

var _ = gomysql.ErrInvalidConn // go-sql-driver registers the "mysql" driver that go-dsn is for
