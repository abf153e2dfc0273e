package credentials

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestConnection(t *testing.T) {
	c := Connection{Host: "cluster1-haproxy.default.svc.cluster.local", Port: 3306, User: "myapp_app", Password: "p@ss/word:%", Database: "myapp"}
	data := c.SecretData()
	var keys []string
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"connection-string", "database", "go-dsn", "host", "jdbc-uri", "password", "port", "username"}; !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	if string(data["port"]) != "3306" {
		t.Errorf("port = %q", data["port"])
	}
	u, err := url.Parse(string(data["connection-string"]))
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); pw != c.Password || u.User.Username() != c.User || u.Host != "cluster1-haproxy.default.svc.cluster.local:3306" || u.Path != "/myapp" {
		t.Errorf("connection-string %s does not round-trip", data["connection-string"])
	}
	if got := c.URL(false); got != "mysql://myapp_app@cluster1-haproxy.default.svc.cluster.local:3306/myapp" || strings.Contains(got, "word") {
		t.Errorf("URL without password = %s", got)
	}
}

// Every key that carries the password parses back to it, whatever the password holds: a brought
// password may hold any printable character.
func TestKeysRoundTrip(t *testing.T) {
	passwords := []string{
		"Plain-Generated.Pass_word~0123456789abcdef",
		`every!"#$%&'()*+,-./:;<=>?@[\]^_` + "`{|}~ printable",
		"p@ss/word:%25?&=#",
		"ünïcødé-пароль",
	}
	for _, pw := range passwords {
		c := Connection{Host: "db.example.svc", Port: 3307, User: "shop_app", Password: pw, Database: "shop"}

		if got := c.JDBCURL(); got != "jdbc:mysql://db.example.svc:3307/shop" {
			t.Errorf("jdbc-uri = %s", got)
		}

		cfg, err := mysql.ParseDSN(c.GoDSN())
		if err != nil {
			t.Fatalf("go-dsn of %q: %v", pw, err)
		}
		if cfg.User != c.User || cfg.Passwd != pw || cfg.Net != "tcp" || cfg.Addr != "db.example.svc:3307" || cfg.DBName != "shop" {
			t.Errorf("go-dsn of %q does not round-trip: %+v", pw, cfg)
		}

		cu, err := url.Parse(c.URL(true))
		if err != nil {
			t.Fatalf("connection-string of %q: %v", pw, err)
		}
		if got, _ := cu.User.Password(); got != pw {
			t.Errorf("connection-string of %q does not round-trip", pw)
		}
	}
}
