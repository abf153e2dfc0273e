package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// printHeader is the seed's opening block.
func printHeader(w io.Writer, db *dbv1.AppDatabase) {
	fmt.Fprintln(w, "DB Concierge - Bootstrap MySQL Schema")
	fmt.Fprintf(w, "Creating database: %s\n", db.Spec.DBName)
	fmt.Fprintf(w, "Target namespace: %s\n", db.EffectiveAppNamespace())
	fmt.Fprintf(w, "PXC cluster:      %s\n", db.Spec.ClusterRef)
	fmt.Fprintln(w)
}

// endpoint reads host and port from the status's connection string (which has no password), so
// printing them needs no access to the Secret.
func endpoint(db *dbv1.AppDatabase) (host, port string) {
	u, err := url.Parse(db.Status.ConnectionString)
	if err != nil || u.Host == "" {
		return "(unknown)", "(unknown)"
	}
	host, port, err = net.SplitHostPort(u.Host)
	if err != nil {
		return u.Host, "3306"
	}
	return host, port
}

// printReady is the seed's closing block for a Ready database.
func printReady(w io.Writer, db *dbv1.AppDatabase) {
	host, port := endpoint(db)
	user := db.Spec.EffectiveUserName()
	fmt.Fprint(w, "\nDatabase Created Successfully!\n\n")
	fmt.Fprintln(w, "Database Information:")
	fmt.Fprintf(w, "  Database Name: %s\n", db.Spec.DBName)
	fmt.Fprintf(w, "  Username:      %s\n", user)
	fmt.Fprintf(w, "  Host:          %s\n", host)
	fmt.Fprintf(w, "  Port:          %s\n", port)
	fmt.Fprint(w, "\nKubernetes Secret:\n")
	fmt.Fprintf(w, "  Name:      %s\n", db.Spec.EffectiveSecretName())
	fmt.Fprintf(w, "  Namespace: %s\n", db.EffectiveAppNamespace())
	printAccounts(w, db)
	fmt.Fprint(w, "\nConnect to MySQL:\n")
	fmt.Fprintf(w, "  mysql -h %s \\\n", host)
	fmt.Fprintf(w, "        -P %s \\\n", port)
	fmt.Fprintf(w, "        -u %s \\\n", user)
	fmt.Fprint(w, "        -p************ \\\n")
	fmt.Fprintf(w, "        %s\n", db.Spec.DBName)
}

// extraAccounts are the accounts besides the main user: as provisioned (status.accounts) once the
// AppDatabase is Ready, otherwise as asked for in the spec.
func extraAccounts(db *dbv1.AppDatabase) []dbv1.AccountStatus {
	main := db.Spec.EffectiveUserName()
	var accounts []dbv1.AccountStatus
	if ready, _ := done(db); ready && len(db.Status.Accounts) > 0 {
		for _, a := range db.Status.Accounts {
			if a.Name != main && a.Name != db.Status.UserName {
				accounts = append(accounts, a)
			}
		}
		return accounts
	}
	for i := range db.Spec.Users {
		u := &db.Spec.Users[i]
		accounts = append(accounts, dbv1.AccountStatus{Name: u.Name, Access: u.Access, SecretName: u.EffectiveSecretName(&db.Spec)})
	}
	return accounts
}

// printAccounts lists the extra accounts, in the style of the main user's lines; nothing when
// there are none. Their Secrets are in the main Secret's namespace.
func printAccounts(w io.Writer, db *dbv1.AppDatabase) {
	accounts := extraAccounts(db)
	if len(accounts) == 0 {
		return
	}
	fmt.Fprint(w, "\nExtra Accounts:\n")
	for i, a := range accounts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "  Username: %s\n", a.Name)
		fmt.Fprintf(w, "  Access:   %s\n", a.Access)
		fmt.Fprintf(w, "  Secret:   %s\n", a.SecretName)
	}
}

// printEnv prints the Secret's credentials as environment variables in format.
func printEnv(w io.Writer, s *corev1.Secret, format string) error {
	if err := credentials.WriteEnv(w, s.Data, credentials.EnvFormat(format)); err != nil {
		return fmt.Errorf("Secret %s/%s: %w", s.Namespace, s.Name, err) //nolint:staticcheck // ST1005: Secret is the Kubernetes kind, spelt as kubectl does
	}
	return nil
}

// printObject prints an AppDatabase as JSON or YAML, as kubectl -o does.
func printObject(w io.Writer, db *dbv1.AppDatabase, format string) error {
	var b []byte
	var err error
	if format == "json" {
		b, err = json.MarshalIndent(db, "", "    ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(db)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func describeState(s state) string {
	var b strings.Builder
	b.WriteString(s.phase)
	if s.reason != "" {
		b.WriteString(" (" + s.reason)
		if s.phase == string(dbv1.PhaseFailed) && !dbv1.IsTerminalReason(s.reason) {
			b.WriteString(", retrying")
		}
		b.WriteString(")")
	}
	if s.message != "" {
		b.WriteString(": " + s.message)
	}
	return b.String()
}

// progress shows the state while waiting: a spinner line redrawn in place on a terminal, a plain
// line per change otherwise (logs, CI).
type progress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	cur  state
	stop chan struct{}
	done chan struct{}
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func startProgress(w io.Writer, tty bool) *progress {
	p := &progress{w: w, tty: tty, stop: make(chan struct{}), done: make(chan struct{})}
	if !tty {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		ticker := time.NewTicker(100 * time.Millisecond)
		defer ticker.Stop()
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-ticker.C:
				p.mu.Lock()
				if p.cur.phase != "" {
					fmt.Fprintf(p.w, "\r\033[K%s %s", spinnerFrames[i%len(spinnerFrames)], describeState(p.cur))
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progress) update(s state) {
	if !p.tty {
		fmt.Fprintf(p.w, "  %s\n", describeState(s))
		return
	}
	p.mu.Lock()
	p.cur = s
	p.mu.Unlock()
}

func (p *progress) finish() {
	if p.tty {
		close(p.stop)
	}
	<-p.done
}
