package cli

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

func ptr32(n int32) *int32 { return &n }

// --user and --read-only-user: what each spelling gives, and what is refused before any API call,
// with a message that says what to do.
func TestExtraUsers(t *testing.T) {
	cases := []struct {
		name     string
		users    []string
		readOnly []string
		userName string // --user-name
		want     []dbv1.AppDatabaseUser
		err      string // part of the usage error; "" when valid
	}{
		{name: "none"},
		{name: "canonical", users: []string{"rw:ReadWrite", "data:DataOnly", "ro:ReadOnly"},
			want: []dbv1.AppDatabaseUser{{Name: "rw", Access: dbv1.AccessReadWrite}, {Name: "data", Access: dbv1.AccessDataOnly}, {Name: "ro", Access: dbv1.AccessReadOnly}}},
		{name: "any case", users: []string{"a:readwrite", "b:DATAONLY", "c:readOnly"},
			want: []dbv1.AppDatabaseUser{{Name: "a", Access: dbv1.AccessReadWrite}, {Name: "b", Access: dbv1.AccessDataOnly}, {Name: "c", Access: dbv1.AccessReadOnly}}},
		{name: "kebab", users: []string{"a:read-write", "b:Data-Only", "c:read-only"},
			want: []dbv1.AppDatabaseUser{{Name: "a", Access: dbv1.AccessReadWrite}, {Name: "b", Access: dbv1.AccessDataOnly}, {Name: "c", Access: dbv1.AccessReadOnly}}},
		{name: "read-only shorthand after --user", users: []string{"web:DataOnly"}, readOnly: []string{"Reports_1"},
			want: []dbv1.AppDatabaseUser{{Name: "web", Access: dbv1.AccessDataOnly}, {Name: "Reports_1", Access: dbv1.AccessReadOnly}}},
		{name: "32 characters", readOnly: []string{strings.Repeat("u", 32)},
			want: []dbv1.AppDatabaseUser{{Name: strings.Repeat("u", 32), Access: dbv1.AccessReadOnly}}},
		{name: "16 accounts", users: repeatUsers(10, "rw%d:ReadWrite"), readOnly: repeatUsers(6, "ro%d"),
			want: append(repeatSpec(10, "rw%d", dbv1.AccessReadWrite), repeatSpec(6, "ro%d", dbv1.AccessReadOnly)...)},

		{name: "no access", users: []string{"ro"}, err: `--user "ro" must be NAME:ACCESS, for example --user ro:ReadOnly`},
		{name: "empty access", users: []string{"ro:"}, err: "must be NAME:ACCESS"},
		{name: "empty name", users: []string{":ReadOnly"}, err: "for example --user reports:ReadOnly"},
		{name: "connection limit", users: []string{"ro:ReadOnly:5"}, err: "--user takes NAME:ACCESS only; set an account's connection limit or Secret name in a manifest (spec.users)"},
		{name: "unknown access", users: []string{"ro:Admin"}, err: `access must be ReadWrite, DataOnly or ReadOnly (or read-write, data-only, read-only), not "Admin"`},
		{name: "snake access", users: []string{"ro:read_only"}, err: "access must be"},
		{name: "dash in name", users: []string{"my-ro:ReadOnly"}, err: `--user "my-ro:ReadOnly": the user name may contain only letters, digits and '_', at most 32 characters`},
		{name: "33 characters", readOnly: []string{strings.Repeat("u", 33)}, err: "--read-only-user \"" + strings.Repeat("u", 33) + "\": the user name may contain only"},
		{name: "empty read-only name", readOnly: []string{""}, err: "the user name may contain only"},
		{name: "main user", users: []string{"my_app_app:ReadOnly"}, err: `"my_app_app" is the main user (--user-name, by default the database name + '_app'): give the extra account another name`},
		{name: "main user, other case", readOnly: []string{"My_App_App"}, err: "is the main user"},
		{name: "main user from --user-name", userName: "owner", readOnly: []string{"OWNER"}, err: `"owner" is the main user`},
		{name: "default main name is free with --user-name", userName: "owner", readOnly: []string{"my_app_app"},
			want: []dbv1.AppDatabaseUser{{Name: "my_app_app", Access: dbv1.AccessReadOnly}}},
		{name: "twice", users: []string{"ro:ReadOnly", "ro:DataOnly"}, err: `--user "ro:DataOnly": --user "ro:ReadOnly" already asks for an account of that name (names compare without regard to case): give each account its own name`},
		{name: "twice across flags, other case", users: []string{"ro:DataOnly"}, readOnly: []string{"RO"}, err: `--read-only-user "RO": --user "ro:DataOnly" already asks for an account of that name`},
		{name: "17 accounts", users: repeatUsers(10, "rw%d:ReadWrite"), readOnly: repeatUsers(7, "ro%d"), err: "a database has at most 16 extra accounts (--user, --read-only-user), not 17: ask for fewer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := valid()
			o.Users, o.ReadOnlyUsers, o.UserName = c.users, c.readOnly, c.userName
			err := o.validate()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || ExitCode(err) != ExitUsage {
					t.Fatalf("validate() = %v (exit %d), want a usage error containing %q", err, ExitCode(err), c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate() = %v", err)
			}
			if got := o.appDatabase("team-a").Spec.Users; !reflect.DeepEqual(got, c.want) {
				t.Errorf("spec.users = %+v, want %+v", got, c.want)
			}
		})
	}
}

// An extra account's default Secret name grows with --secret-name; one that would be too long
// is refused before the API server or the operator sees it.
func TestExtraUserSecretTooLong(t *testing.T) {
	o := valid()
	o.SecretName = strings.Repeat("s", 230)
	o.ReadOnlyUsers = []string{strings.Repeat("r", 20)}
	err := o.validate()
	if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "is not a valid Secret name") || !strings.Contains(err.Error(), "pass a shorter --secret-name") {
		t.Errorf("validate() = %v", err)
	}
	o.ReadOnlyUsers = []string{"r"}
	if err := o.validate(); err != nil {
		t.Errorf("a short user: %v", err)
	}
}

func TestMaxUserConnections(t *testing.T) {
	cases := []struct {
		name string
		n    *int32
		ok   bool
	}{
		{"unset", nil, true},
		{"no cap of its own", ptr32(0), true},
		{"some", ptr32(25), true},
		{"the API's maximum", ptr32(100000), true},
		{"above it", ptr32(100001), false},
		{"negative", ptr32(-1), false},
	}
	for _, c := range cases {
		o := valid()
		o.MaxUserConnections = c.n
		err := o.validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: validate() = %v, want ok=%v", c.name, err, c.ok)
			continue
		}
		if err != nil {
			if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--max-user-connections must be between 0") {
				t.Errorf("%s: %v (exit %d)", c.name, err, ExitCode(err))
			}
			continue
		}
		got := o.appDatabase("team-a").Spec.MaxUserConnections
		if !reflect.DeepEqual(got, c.n) {
			t.Errorf("%s: spec.maxUserConnections = %v, want %v", c.name, got, c.n)
		}
		if c.n != nil && got == c.n {
			t.Errorf("%s: the spec shares the option's pointer", c.name)
		}
	}
}

// The flags as a user types them, through cobra: repeatable, and --max-user-connections 0 is set
// (no cap), not left out.
func TestAccountFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int      // exit code; 0 for success
		want []string // in stdout on success, in the error otherwise
		not  []string // not in stdout
	}{
		{"accounts and a cap", []string{"--user", "web:data-only", "--read-only-user", "reports", "--user", "ops:ReadWrite", "--max-user-connections", "0"}, 0,
			[]string{"maxUserConnections: 0\n", "  users:\n  - access: DataOnly\n    name: web\n  - access: ReadWrite\n    name: ops\n  - access: ReadOnly\n    name: reports\n"}, nil},
		{"nothing extra", nil, 0, []string{"dbName: my_app"}, []string{"users:", "maxUserConnections"}},
		{"cap not a number", []string{"--max-user-connections", "ten"}, ExitUsage, []string{`invalid argument "ten" for "--max-user-connections"`}, nil},
		{"cap too large", []string{"--max-user-connections", "100001"}, ExitUsage, []string{"--max-user-connections must be between 0"}, nil},
		{"bad access", []string{"--user", "web:write"}, ExitUsage, []string{`access must be ReadWrite, DataOnly or ReadOnly`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := NewCommand(Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, "test")
			cmd.SetArgs(append([]string{"--name", "my-app", "--namespace", "team-a", "--dry-run"}, c.args...))
			err := cmd.Execute()
			if c.code != 0 {
				if err == nil || ExitCode(err) != c.code {
					t.Fatalf("err %v (exit %d), want exit %d", err, ExitCode(err), c.code)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q: %v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, n := range c.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("output has %q:\n%s", n, out.String())
				}
			}
		})
	}
}

func TestCompleteUser(t *testing.T) {
	cases := []struct {
		typed string
		want  []string
	}{
		{"", nil},
		{"reports", nil},
		{"reports:", []string{"reports:ReadWrite", "reports:DataOnly", "reports:ReadOnly"}},
		{"reports:Re", []string{"reports:ReadWrite", "reports:ReadOnly"}},
		{"reports:read", []string{"reports:ReadWrite", "reports:ReadOnly"}},
		{"reports:D", []string{"reports:DataOnly"}},
		{"reports:X", nil},
	}
	for _, c := range cases {
		got, _ := completeUser(nil, nil, c.typed)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("completeUser(%q) = %q, want %q", c.typed, got, c.want)
		}
	}
	// Registered on the command: what the shell scripts ask for.
	var out bytes.Buffer
	cmd := NewCommand(Streams{Out: &out, Err: &out}, "test")
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"__complete", "--user", "reports:Data"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "reports:DataOnly\n:4\n") {
		t.Errorf("__complete --user reports:Data printed:\n%s", out.String())
	}
}

// --user stands for an extra MySQL account here, not a kubeconfig user.
func TestUserFlagIsTheAccount(t *testing.T) {
	cmd := NewCommand(Streams{}, "test")
	f := cmd.Flags().Lookup("user")
	if f == nil || f.Value.Type() != "stringArray" || cmd.PersistentFlags().Lookup("user") != nil {
		t.Errorf("--user is %+v", f)
	}
}

func TestSpecDifferencesAccounts(t *testing.T) {
	o := valid()
	o.Users = []string{"web:DataOnly"}
	o.ReadOnlyUsers = []string{"reports"}
	o.MaxUserConnections = ptr32(10)
	want := o.appDatabase("team-a")

	same := want.DeepCopy()
	same.Spec.Users[0], same.Spec.Users[1] = same.Spec.Users[1], same.Spec.Users[0]    // order does not matter
	same.Spec.Users[0].SecretName = same.Spec.Users[0].EffectiveSecretName(&same.Spec) // nor a default spelt out
	if d := specDifferences(same, want); len(d) != 0 {
		t.Errorf("same accounts differ: %v", d)
	}

	other := want.DeepCopy()
	other.Spec.MaxUserConnections = nil
	other.Spec.Users[0].Access = dbv1.AccessReadWrite
	other.Spec.Users[1].Name = "ops"
	other.Spec.Users[1].MaxUserConnections = ptr32(0)
	got := specDifferences(other, want)
	wantDiffs := []string{
		"maxUserConnections is unset (the cluster's default), you asked for 10",
		`users[web].access is "ReadWrite", you asked for "DataOnly"`,
		`users has no account "reports", you asked for one (ReadOnly)`,
		`users has account "ops" (ReadOnly), you did not ask for it`,
	}
	if !reflect.DeepEqual(got, wantDiffs) {
		t.Errorf("differences:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantDiffs, "\n  "))
	}

	limited := want.DeepCopy()
	limited.Spec.Users[1].MaxUserConnections = ptr32(0)
	if d := specDifferences(limited, want); !reflect.DeepEqual(d, []string{"users[reports].maxUserConnections is 0 (no cap), you asked for unset (the cluster's default)"}) {
		t.Errorf("a limit set in a manifest: %v", d)
	}
}

// account is one entry of status.accounts.
func account(name string, access dbv1.Access, secret string) dbv1.AccountStatus {
	return dbv1.AccountStatus{Name: name, Access: access, SecretName: secret}
}

// readyDB is an AppDatabase the operator has reported Ready for its current generation.
func readyDB(spec dbv1.AppDatabaseSpec, accounts []dbv1.AccountStatus) *dbv1.AppDatabase {
	db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop", Generation: 1}, Spec: spec}
	db.Status = dbv1.AppDatabaseStatus{
		Phase: dbv1.PhaseReady, ObservedGeneration: 1, UserName: spec.EffectiveUserName(), SecretName: spec.EffectiveSecretName(),
		ConnectionString: "mysql://shop_app@db.example:3306/shop", Accounts: accounts,
		Conditions: []metav1.Condition{{Type: dbv1.ConditionReady, Status: metav1.ConditionTrue, Reason: dbv1.ReasonProvisioned, ObservedGeneration: 1}},
	}
	return db
}

const readyMain = `
Database Created Successfully!

Database Information:
  Database Name: shop
  Username:      shop_app
  Host:          db.example
  Port:          3306

Kubernetes Secret:
  Name:      shop-mysql-creds
  Namespace: shop
`

const readyConnect = `
Connect to MySQL:
  mysql -h db.example \
        -P 3306 \
        -u shop_app \
        -p************ \
        shop
`

func TestPrintReadyAccounts(t *testing.T) {
	spec := dbv1.AppDatabaseSpec{ClusterRef: "c", DBName: "shop", Users: []dbv1.AppDatabaseUser{
		{Name: "shop_ro", Access: dbv1.AccessReadOnly},
		{Name: "shop_web", Access: dbv1.AccessDataOnly, SecretName: "web-db"},
	}}
	cases := []struct {
		name string
		db   *dbv1.AppDatabase
		want string
	}{
		{"no extra accounts: the seed's output", readyDB(dbv1.AppDatabaseSpec{ClusterRef: "c", DBName: "shop"},
			[]dbv1.AccountStatus{account("shop_app", dbv1.AccessReadWrite, "shop-mysql-creds")}),
			readyMain + readyConnect},
		{"from status.accounts", readyDB(spec, []dbv1.AccountStatus{
			account("shop_app", dbv1.AccessReadWrite, "shop-mysql-creds"),
			account("shop_ro", dbv1.AccessReadOnly, "shop-shop-ro-mysql-creds"),
			account("shop_web", dbv1.AccessDataOnly, "web-db"),
		}), readyMain + `
Extra Accounts:
  Username: shop_ro
  Access:   ReadOnly
  Secret:   shop-shop-ro-mysql-creds

  Username: shop_web
  Access:   DataOnly
  Secret:   web-db
` + readyConnect},
		// The status says what was provisioned, even where the spec has moved on.
		{"status wins over the spec", readyDB(spec, []dbv1.AccountStatus{
			account("shop_app", dbv1.AccessReadWrite, "shop-mysql-creds"),
			account("shop_ro", dbv1.AccessReadWrite, "ro-secret"),
		}), readyMain + `
Extra Accounts:
  Username: shop_ro
  Access:   ReadWrite
  Secret:   ro-secret
` + readyConnect},
		{"no status.accounts: from the spec", readyDB(spec, nil), readyMain + `
Extra Accounts:
  Username: shop_ro
  Access:   ReadOnly
  Secret:   shop-shop-ro-mysql-creds

  Username: shop_web
  Access:   DataOnly
  Secret:   web-db
` + readyConnect},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			printReady(&out, c.db)
			if out.String() != c.want {
				t.Errorf("printed:\n%s\nwant:\n%s", out.String(), c.want)
			}
		})
	}
}

// Before the operator is done (--no-wait), the accounts come from the spec: a stale status may
// list other ones.
func TestPrintAccountsNotReady(t *testing.T) {
	o := valid()
	o.Name = "shop"
	o.ReadOnlyUsers = []string{"Shop_RO"}
	db := o.appDatabase("shop")
	db.Generation = 2
	db.Status.Accounts = []dbv1.AccountStatus{{Name: "shop_app"}, account("old", dbv1.AccessDataOnly, "old")}
	var out bytes.Buffer
	printAccounts(&out, db)
	want := `
Extra Accounts:
  Username: Shop_RO
  Access:   ReadOnly
  Secret:   shop-shop-ro-mysql-creds
`
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	plain := valid()
	printAccounts(&out, plain.appDatabase("team-a"))
	if out.Len() != 0 {
		t.Errorf("no accounts printed %q", out.String())
	}
}

func repeatUsers(n int, format string) []string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf(format, i))
	}
	return s
}

func repeatSpec(n int, format string, access dbv1.Access) []dbv1.AppDatabaseUser {
	var s []dbv1.AppDatabaseUser
	for _, name := range repeatUsers(n, format) {
		s = append(s, dbv1.AppDatabaseUser{Name: name, Access: access})
	}
	return s
}
