package stack

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildOperator compiles the operator into dir. With failpoints, the build can be told to kill
// itself at a named step (internal/failpoint).
func BuildOperator(dir string, failpoints bool) (string, error) {
	var tags []string
	if failpoints {
		tags = append(tags, "failpoints")
	}
	return Build(dir, "./cmd/operator", "db-concierge-operator", tags...)
}

// Build compiles the command in package pkg (relative to the repository) into dir/name.
func Build(dir, pkg, name string, tags ...string) (string, error) {
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// Operator is a running operator process whose output is kept.
type Operator struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *LogBuffer
	err  error
}

// StartOperator runs bin with args and extra environment, writing its output to the returned
// Operator's log and to sink (if not nil).
func StartOperator(bin string, args, env []string, sink io.Writer) (*Operator, error) {
	o := &Operator{done: make(chan struct{}), log: &LogBuffer{}}
	o.cmd = exec.Command(bin, args...)
	o.cmd.Env = append(os.Environ(), env...)
	var w io.Writer = o.log
	if sink != nil {
		w = io.MultiWriter(o.log, sink)
	}
	o.cmd.Stdout, o.cmd.Stderr = w, w
	o.cmd.SysProcAttr = dieWithParent(nil)
	if err := o.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the operator: %w", err)
	}
	go func() { o.err = o.cmd.Wait(); close(o.done) }()
	return o, nil
}

// Stop sends SIGTERM and waits for the process to exit.
func (o *Operator) Stop() { stopProcess(o.cmd, o.done, 30*time.Second) }

// Kill sends SIGKILL, as a crash would, and waits for the process to exit.
func (o *Operator) Kill() {
	_ = o.cmd.Process.Signal(syscall.SIGKILL)
	<-o.done
}

// Exited is closed when the process has exited.
func (o *Operator) Exited() <-chan struct{} { return o.done }

// Log returns everything the process has written so far.
func (o *Operator) Log() string { return o.log.String() }

// LogBuffer collects a process's output; it is safe for concurrent writes and reads.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PID is the process's ID, for reading its CPU time and memory from /proc.
func (o *Operator) PID() int { return o.cmd.Process.Pid }
