package stack

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// MariaDB is a throwaway mariadbd with its own data directory, listening on 127.0.0.1.
type MariaDB struct {
	Port int
	// Dir holds the data directory, socket, PID file and error log; it is removed by Close.
	Dir string

	cred  *syscall.Credential
	cmd   *exec.Cmd
	done  chan struct{}
	extra []string
	// installExtra are flags for the bootstrap of the data directory, for settings that must be
	// the same from the first start (lower_case_table_names).
	installExtra []string
}

// MariaDBOption changes how StartMariaDB sets up the server.
type MariaDBOption func(m *MariaDB) error

// WithTLS makes the server offer TLS with the given certificate and key (PEM), and trust client
// certificates signed by caPEM.
func WithTLS(certPEM, keyPEM, caPEM []byte) MariaDBOption {
	return func(m *MariaDB) error {
		files := map[string][]byte{"server.crt": certPEM, "server.key": keyPEM, "ca.crt": caPEM}
		for name, content := range files {
			path := filepath.Join(m.Dir, name)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				return err
			}
			if err := chownTo(path, m.cred); err != nil {
				return err
			}
		}
		m.extra = append(m.extra, "--ssl-cert="+filepath.Join(m.Dir, "server.crt"),
			"--ssl-key="+filepath.Join(m.Dir, "server.key"), "--ssl-ca="+filepath.Join(m.Dir, "ca.crt"))
		return nil
	}
}

// WithServerArgs starts the server with more mariadbd flags (sql_mode, character sets, logs,
// plugins, read_only …); later flags override the harness's defaults.
func WithServerArgs(args ...string) MariaDBOption {
	return func(m *MariaDB) error {
		m.extra = append(m.extra, args...)
		return nil
	}
}

// WithQueryLogs turns on the binary log and the general query log, which QueryLogs reads.
func WithQueryLogs() MariaDBOption {
	return func(m *MariaDB) error {
		m.extra = append(m.extra, "--log-bin="+filepath.Join(m.Dir, "binlog"), "--server-id=1",
			"--general-log=1", "--general-log-file="+filepath.Join(m.Dir, "general.log"))
		return nil
	}
}

// QueryLogs returns what the server wrote to its general query log and, decoded, its binary logs
// (a server started WithQueryLogs).
func (m *MariaDB) QueryLogs() (string, error) {
	general, err := os.ReadFile(filepath.Join(m.Dir, "general.log"))
	if err != nil {
		return "", err
	}
	decoder, err := lookPath("mariadb-binlog")
	if err != nil {
		return "", err
	}
	binlogs, err := filepath.Glob(filepath.Join(m.Dir, "binlog.[0-9]*"))
	if err != nil {
		return "", fmt.Errorf("listing the binary logs in %s: %w", m.Dir, err)
	}
	if len(binlogs) == 0 {
		return "", fmt.Errorf("no binary log in %s", m.Dir)
	}
	out, err := exec.Command(decoder, append([]string{"--verbose"}, binlogs...)...).Output()
	if err != nil {
		return "", fmt.Errorf("decoding the binary logs: %w", err)
	}
	return string(general) + "\n" + string(out), nil
}

// WithLowerCaseTableNames initialises and starts the server with lower_case_table_names=n.
func WithLowerCaseTableNames(n int) MariaDBOption {
	return func(m *MariaDB) error {
		flag := "--lower-case-table-names=" + itoa(n)
		m.installExtra = append(m.installExtra, flag)
		m.extra = append(m.extra, flag)
		return nil
	}
}

// StartMariaDB initialises a data directory and starts mariadbd on a free port. root (password
// empty) can log in over TCP from 127.0.0.1.
func StartMariaDB(opts ...MariaDBOption) (*MariaDB, error) {
	install, err := lookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	if _, err := lookPath("mariadbd"); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MariaDB{Port: port}
	if m.Dir, m.cred, err = serverTempDir("db-concierge-mariadb-"); err != nil {
		return nil, err
	}
	// A private tmpdir: a starting mariadbd deletes every #sql* file in its tmpdir, which in the
	// shared /tmp would include other servers' temporary tables.
	if err := os.Mkdir(m.tmpDir(), 0o700); err != nil {
		return nil, err
	}
	if err := chownTo(m.tmpDir(), m.cred); err != nil {
		return nil, err
	}
	m.extra = append(m.extra, "--tmpdir="+m.tmpDir())
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	if err := installDB(install, m.dataDir(), m.cred, append([]string{"--tmpdir=" + m.tmpDir()}, m.installExtra...)...); err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	return m, nil
}

// serverTempDir makes a temporary directory a server can use. mariadbd refuses to run as root; as
// root the server runs as the mysql user (cred, nil otherwise), which must be able to reach and
// own its directory (MkdirTemp makes it 0700 and root's).
func serverTempDir(prefix string) (string, *syscall.Credential, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if os.Geteuid() != 0 {
		return dir, nil, nil
	}
	cred, err := mysqlUser()
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		err = chownTo(dir, cred)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, cred, nil
}

// chownTo gives path to the user the server runs as; without cred (not root) it changes nothing.
func chownTo(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("handing %s to the mysql user: %w", path, err)
	}
	return nil
}

// installDB initialises a data directory in which root logs in with an empty password (normal
// authentication, so also over TCP rather than only through unix_socket as the system root).
// extra flags go to the mariadbd it runs.
func installDB(install, dataDir string, cred *syscall.Credential, extra ...string) error {
	args := append([]string{"--no-defaults", "--datadir=" + dataDir,
		"--auth-root-authentication-method=normal", "--skip-test-db"}, extra...)
	cmd := exec.Command(install, args...)
	cmd.SysProcAttr = dieWithParent(cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	return nil
}

func mysqlUser() (*syscall.Credential, error) {
	u, err := user.Lookup("mysql")
	if err != nil {
		return nil, fmt.Errorf("MariaDB must not run as root and there is no mysql user (install mariadb-server): %w", err)
	}
	// Parsed at the width of the credential fields, so a value that does not fit is an error
	// rather than a truncated id, and an unparsable one is not silently uid 0 (root).
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("the mysql user's uid: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("the mysql user's gid: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (m *MariaDB) dataDir() string { return filepath.Join(m.Dir, "data") }
func (m *MariaDB) tmpDir() string  { return filepath.Join(m.Dir, "tmp") }

// Start starts the server on its data directory and port, and waits until root can log in.
func (m *MariaDB) Start() error {
	bin, err := lookPath("mariadbd")
	if err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(m.Dir, "stdout.log"))
	if err != nil {
		return err
	}
	m.cmd = exec.Command(bin, append(mariadbdArgs(m.Dir, m.dataDir(), m.Port), m.extra...)...)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.SysProcAttr = dieWithParent(m.cred)
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("starting mariadbd: %w", err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); _ = log.Close(); close(done) }(m.cmd, m.done)

	db, err := m.RootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	err = waitFor(60*time.Second, func() error {
		select {
		case <-m.done:
			return nil
		default:
		}
		return db.Ping()
	})
	select {
	case <-m.done:
		return fmt.Errorf("mariadbd exited during start-up; see %s:\n%s", filepath.Join(m.Dir, "error.log"), m.ErrorLog())
	default:
	}
	if err != nil {
		return fmt.Errorf("mariadbd did not accept logins within a minute: %w\n%s", err, m.ErrorLog())
	}
	return nil
}

// mariadbdArgs are the flags of a small server on 127.0.0.1:port whose socket, PID file and
// error log (error.log) are in dir.
func mariadbdArgs(dir, dataDir string, port int) []string {
	return []string{"--no-defaults",
		"--datadir=" + dataDir,
		"--bind-address=127.0.0.1", "--port=" + itoa(port),
		"--socket=" + filepath.Join(dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(dir, "mysqld.pid"),
		"--log-error=" + filepath.Join(dir, "error.log"),
		"--skip-name-resolve", "--skip-log-bin",
		"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
		"--max-connections=200"}
}

// ErrorLog returns the tail of the server's error log.
func (m *MariaDB) ErrorLog() string { return logTail(filepath.Join(m.Dir, "error.log")) }

// logTail returns the last few kilobytes of a log file: enough for the reason a server stopped.
func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
		// Start at a whole line.
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(bytes.TrimSpace(b))
}

// Stop shuts the server down and waits for it to exit; its data stays for a later Start.
func (m *MariaDB) Stop() {
	stopProcess(m.cmd, m.done, 30*time.Second)
	m.cmd = nil
}

// Close stops the server and removes its directory.
func (m *MariaDB) Close() {
	m.Stop()
	_ = os.RemoveAll(m.Dir)
}

// Config returns a driver configuration for user on this server.
func (m *MariaDB) Config(user, password, database string) *gomysql.Config {
	return tcpConfig(m.Port, user, password, database)
}

// tcpConfig returns a driver configuration for user on the server at 127.0.0.1:port.
func tcpConfig(port int, user, password, database string) *gomysql.Config {
	cfg := gomysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = "127.0.0.1:" + itoa(port)
	cfg.User, cfg.Passwd, cfg.DBName = user, password, database
	cfg.Timeout = 5 * time.Second
	cfg.InterpolateParams = true
	return cfg
}

// Connect opens a pool for user.
func (m *MariaDB) Connect(user, password, database string) (*sql.DB, error) {
	return openDB(m.Config(user, password, database))
}

func openDB(cfg *gomysql.Config) (*sql.DB, error) {
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// RootDB opens a pool for the server's root account.
func (m *MariaDB) RootDB() (*sql.DB, error) { return m.Connect("root", "", "") }

// CreateAdmin creates an account with every privilege and GRANT OPTION, like the admin account a
// platform team hands to the operator.
func (m *MariaDB) CreateAdmin(ctx context.Context, user, password string) error {
	db, err := m.RootDB()
	if err != nil {
		return err
	}
	defer db.Close()
	return createAdmin(ctx, db, user, password)
}

// createAdmin creates the admin account through db, a root connection.
func createAdmin(ctx context.Context, db *sql.DB, user, password string) error {
	if _, err := db.ExecContext(ctx, "CREATE USER IF NOT EXISTS `"+user+"`@'%' IDENTIFIED BY ?", password); err != nil {
		return fmt.Errorf("creating admin account %q: %w", user, err)
	}
	if _, err := db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON *.* TO `"+user+"`@'%' WITH GRANT OPTION"); err != nil {
		return fmt.Errorf("granting admin account %q: %w", user, err)
	}
	return nil
}

// WriteCounters reads the server's counters of statements that write (Com_*: only client
// statements count there, not the server's background work). A delta of zero over an interval
// proves nothing wrote, provided nothing else used the server meanwhile.
func (m *MariaDB) WriteCounters(ctx context.Context) (map[string]int64, error) {
	db, err := m.RootDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SHOW GLOBAL STATUS WHERE Variable_name IN (
		'Com_insert','Com_update','Com_delete','Com_replace','Com_create_db','Com_alter_db','Com_drop_db',
		'Com_create_user','Com_alter_user','Com_drop_user','Com_grant','Com_revoke','Com_create_table',
		'Com_drop_table','Com_alter_table','Com_set_password','Com_insert_select','Com_update_multi',
		'Com_delete_multi','Com_rename_user')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counters := map[string]int64{}
	for rows.Next() {
		var name string
		var value int64
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		counters[name] = value
	}
	return counters, rows.Err()
}
