package credentials

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestConnection(t *testing.T) {
	c := Connection{Host: "cluster1-haproxy.default.svc.cluster.local", Port: 3306, User: "myapp_app", Password: "p@ss/word:%", Database: "myapp"}
	data := c.SecretData()
	var keys []string
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"connection-string", "database", "host", "password", "port", "username"}; !slices.Equal(keys, want) {
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
