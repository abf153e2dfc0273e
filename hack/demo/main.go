// Command demo runs DB Concierge end to end on this machine: a local Kubernetes API server and a
// throwaway MariaDB, the operator as a process, and the seed's example AppDatabase, followed from
// creation to an application login. It stops everything it started when it exits.
//
// Run it with `make demo`. On a terminal it keeps the stack up until Enter or Ctrl-C so you can
// look around with kubectl; without a terminal (CI) it exits when the walk-through is done.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stillwaters/db-concierge/test/stack"
)

const (
	platformNS = "db-concierge"
	adminUser  = "concierge_admin"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()

	step("Starting a local Kubernetes API server (kube-apiserver + etcd) with the AppDatabase CRD")
	kube, err := stack.StartKube()
	if err != nil {
		return err
	}
	defer kube.Stop()

	step("Starting a throwaway MariaDB on 127.0.0.1")
	maria, err := stack.StartMariaDB()
	if err != nil {
		return err
	}
	defer maria.Close()
	adminPassword := randomHex()
	if err := maria.CreateAdmin(ctx, adminUser, adminPassword); err != nil {
		return err
	}
	fmt.Printf("  MariaDB listens on 127.0.0.1:%d; the operator's admin account is %q\n", maria.Port, adminUser)

	workDir, err := os.MkdirTemp("", "db-concierge-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(workDir) }()
	kubectl := func(args ...string) error { return runShown(kube, args, nil) }

	step("Platform team: the admin Secret, as the seed's manual installation creates it")
	if err := kubectl("create", "namespace", platformNS); err != nil {
		return err
	}
	if err := runShown(kube, []string{"create", "secret", "generic", "db-concierge-mysql-admin", "-n", platformNS,
		"--from-literal=MYSQL_ADMIN_HOST=127.0.0.1",
		fmt.Sprintf("--from-literal=MYSQL_ADMIN_PORT=%d", maria.Port),
		"--from-literal=MYSQL_ADMIN_USER=" + adminUser,
		"--from-literal=MYSQL_ADMIN_PASSWORD=" + adminPassword,
	}, []string{adminPassword}); err != nil {
		return err
	}

	step("Building and starting the operator (out of cluster, with the demo's kubeconfig)")
	bin, err := stack.BuildOperator(workDir, false)
	if err != nil {
		return err
	}
	logPath := filepath.Join(workDir, "operator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	// The operator writes the log through its own descriptor; this one only hands it over.
	defer func() { _ = logFile.Close() }()
	operator, err := stack.StartOperator(bin, []string{
		"--kubeconfig=" + kube.Kubeconfig, "--platform-namespace=" + platformNS,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
	}, nil, logFile)
	if err != nil {
		return err
	}
	defer operator.Stop()
	fmt.Printf("  operator running; its log: %s\n", logPath)

	step("Developer: the seed's example AppDatabase for namespace myapp")
	if err := kubectl("create", "namespace", "myapp"); err != nil {
		return err
	}
	applied := time.Now()
	if err := kubectl("apply", "-f", filepath.Join(stack.RepoRoot(), "examples", "myapp.yaml")); err != nil {
		return err
	}
	if err := kubectl("wait", "appdatabase/myapp", "-n", platformNS, "--for=condition=Ready", "--timeout=120s"); err != nil {
		fmt.Fprintln(os.Stderr, "operator output:\n"+operator.Log())
		return err
	}
	fmt.Printf("  Ready %.1fs after kubectl apply\n", time.Since(applied).Seconds())
	if err := kubectl("get", "appdatabase", "-n", platformNS); err != nil {
		return err
	}

	step("The Secret in namespace myapp (password masked)")
	var secret corev1.Secret
	if err := kube.Client.Get(ctx, client.ObjectKey{Namespace: "myapp", Name: "myapp-mysql-creds"}, &secret); err != nil {
		return err
	}
	password := string(secret.Data["password"])
	printSecret(&secret, password)

	step("Logging in as the application user: its own database works, nothing else does")
	if err := appSession(maria.Port, password); err != nil {
		return err
	}

	fmt.Printf("\nDemo complete in %.0fs: database, user, grant and Secret provisioned and verified.\n", time.Since(start).Seconds())
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Printf("\nThe stack is still running. Try:\n  export KUBECONFIG=%s\n  %s get appdb -A\n", kube.Kubeconfig, kube.Kubectl)
		fmt.Println("Press Enter or Ctrl-C to stop everything.")
		waitForEnter(ctx)
	}
	return nil
}

func step(what string) { fmt.Printf("\n==> %s\n", what) }

// runShown prints a kubectl command as a user would type it (with secrets masked), then runs it.
func runShown(kube *stack.Kube, args []string, mask []string) error {
	shown := "kubectl " + strings.Join(args, " ")
	for _, m := range mask {
		shown = strings.ReplaceAll(shown, m, "********")
	}
	fmt.Println("$ " + shown)
	cmd := exec.Command(kube.Kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
	out, err := cmd.CombinedOutput()
	text := string(out)
	for _, m := range mask {
		text = strings.ReplaceAll(text, m, "********")
	}
	fmt.Print(indent(text))
	if err != nil {
		return fmt.Errorf("kubectl %s: %w", args[0], err)
	}
	return nil
}

func printSecret(s *corev1.Secret, password string) {
	fmt.Printf("$ kubectl get secret %s -n %s -o jsonpath='{.data}'\n", s.Name, s.Namespace)
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.ReplaceAll(string(s.Data[k]), password, "********")
		fmt.Printf("  %-18s %s\n", k, v)
	}
	fmt.Printf("  labels: app.kubernetes.io/managed-by=%s\n", s.Labels["app.kubernetes.io/managed-by"])
}

// appSession runs the mariadb client as the application user; the password goes through the
// environment, never the command line.
func appSession(port int, password string) error {
	client, err := exec.LookPath("mariadb")
	if err != nil {
		return errors.New("the mariadb client is missing (make deps installs it)")
	}
	statements := []struct {
		sql        string
		shouldFail bool
	}{
		{"SELECT CURRENT_USER(), DATABASE()", false},
		{"CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50))", false},
		{"INSERT INTO users (name) VALUES ('ada'); SELECT * FROM users", false},
		{"SHOW GRANTS", false},
		{"CREATE DATABASE another_app", true},
		{"SELECT user FROM mysql.user", true},
	}
	for _, s := range statements {
		fmt.Printf("$ mariadb -h 127.0.0.1 -P %d -u myapp_app -p******** myapp -e %q\n", port, s.sql)
		cmd := exec.Command(client, "--protocol=TCP", "-h", "127.0.0.1", "-P", fmt.Sprint(port), "-u", "myapp_app", "--table", "myapp", "-e", s.sql)
		cmd.Env = append(os.Environ(), "MYSQL_PWD="+password)
		out, err := cmd.CombinedOutput()
		text := passwordHash.ReplaceAllString(strings.ReplaceAll(string(out), password, "********"), "PASSWORD '<hash>'")
		fmt.Print(indent(text))
		switch {
		case s.shouldFail && err == nil:
			return fmt.Errorf("the application user was allowed to run %q", s.sql)
		case s.shouldFail:
			fmt.Println("  (refused, as it should be)")
		case err != nil:
			return fmt.Errorf("the application user could not run %q: %w", s.sql, err)
		}
	}
	return nil
}

// passwordHash matches the hash SHOW GRANTS prints on MariaDB.
var passwordHash = regexp.MustCompile(`PASSWORD '\*[0-9A-F]+'`)

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

func waitForEnter(ctx context.Context) {
	enter := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(enter)
	}()
	select {
	case <-enter:
	case <-ctx.Done():
	}
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
