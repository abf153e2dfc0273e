// Package stack starts the real servers that integration tests, end-to-end tests and the demo run
// against: a Kubernetes API server with etcd (controller-runtime's envtest), a throwaway MariaDB,
// and the operator as a separate process. Every server binds to 127.0.0.1 on a free port, and
// each is stopped by the PID it was started with.
package stack

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RepoRoot is the checkout this package is part of.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ReleaseVersion is the release this checkout installs, as its chart's appVersion says; its
// image is ReleasedImage.
func ReleaseVersion() (string, error) {
	chart, err := os.ReadFile(filepath.Join(RepoRoot(), "charts/db-concierge/Chart.yaml"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^appVersion: "(v[^"]+)"$`).FindSubmatch(chart)
	if m == nil {
		return "", fmt.Errorf("charts/db-concierge/Chart.yaml has no quoted appVersion")
	}
	return string(m[1]), nil
}

// ReleasedRepository is where releases publish the operator's image.
const ReleasedRepository = "ghcr.io/stillwaters/db-concierge-operator"

// lookPath finds a server binary, also in the sbin folders a non-root PATH often lacks.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: run `make deps` (installs Debian's mariadb-server) first", name)
}

// waitFor polls check until it succeeds or timeout passes, and returns the last error.
func waitFor(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopProcess sends SIGTERM to the process and waits for it; after grace it sends SIGKILL.
func stopProcess(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// dieWithParent makes a child process get SIGKILL when the test process dies, so a crashed or
// interrupted test leaves no server behind. cred, when set, runs the child as another user (the
// death signal is set after the switch, so it survives it).
func dieWithParent(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred, Setpgid: true}
}

func itoa(i int) string { return strconv.Itoa(i) }

// HTTPGet fetches url and returns its body; a status other than 200 is an error, with the body.
func HTTPGet(url string) (string, error) {
	resp, err := http.Get(url) //nolint:gosec // G107: callers pass the address of a server they started on 127.0.0.1
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(body), err
}
