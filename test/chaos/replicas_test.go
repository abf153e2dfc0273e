//go:build integration

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stillwaters/db-concierge/test/stack"
)

// leaseAcquired is what controller-runtime's leader election logs when a replica becomes leader.
// A replica that loses the lease exits, so the live replica that has logged it is the leader.
const leaseAcquired = "Successfully acquired lease"

// replica is one operator process.
type replica struct {
	name    string
	op      *stack.Operator
	log     *stack.LogBuffer
	started time.Time
	// killed is set before the run kills it, so its exit is not taken for a crash.
	killed bool
	// handled is set once its exit has been noticed and a replacement started.
	handled bool
}

func (r *replica) exited() bool {
	select {
	case <-r.op.Exited():
		return true
	default:
		return false
	}
}

func (r *replica) leads() bool { return strings.Contains(r.log.String(), leaseAcquired) }

// replicas runs operator processes with leader election and, as Kubernetes would restart a pod,
// replaces any that exits by itself (a replica exits when it loses the lease, for instance while
// the API server is down).
type replicas struct {
	bin  string
	args []string

	mu  sync.Mutex
	all []*replica
	// unasked records why each replica exited that the run did not kill.
	unasked []string
}

func newReplicas(bin string, args []string) *replicas { return &replicas{bin: bin, args: args} }

// start starts one more replica.
func (rs *replicas) start() (*replica, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := &replica{name: fmt.Sprintf("op%d", len(rs.all)+1), log: &stack.LogBuffer{}, started: time.Now()}
	var err error
	if r.op, err = stack.StartOperator(rs.bin, rs.args, nil, r.log); err != nil {
		return nil, err
	}
	rs.all = append(rs.all, r)
	return r, nil
}

// live returns the replicas still running, oldest first.
func (rs *replicas) live() []*replica {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var live []*replica
	for _, r := range rs.all {
		if !r.killed && !r.exited() {
			live = append(live, r)
		}
	}
	return live
}

// leader returns the live replica holding the lease, or nil while there is none.
func (rs *replicas) leader() *replica {
	for _, r := range rs.live() {
		if r.leads() {
			return r
		}
	}
	return nil
}

// waitLeader waits until a replica holds the lease.
func (rs *replicas) waitLeader(ctx context.Context, timeout time.Duration) (*replica, error) {
	deadline := time.Now().Add(timeout)
	for {
		if l := rs.leader(); l != nil {
			return l, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("no operator replica took the lease within %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL to r.
func (rs *replicas) kill(r *replica) {
	rs.mu.Lock()
	r.killed = true
	rs.mu.Unlock()
	r.op.Kill()
}

// Replacing a replica that keeps exiting backs off, as Kubernetes does for a pod in a crash loop:
// while the API server is down a new replica exits as soon as it starts.
const (
	crashLoopWindow = 10 * time.Second
	maxBackoff      = 8 * time.Second
)

// supervise replaces replicas that exit by themselves until ctx ends.
func (rs *replicas) supervise(ctx context.Context, onError func(error)) {
	var backoff time.Duration
	var notBefore time.Time
	pending := 0
	for ctx.Err() == nil {
		for _, r := range rs.exitedUnasked() {
			pending++
			if time.Since(r.started) < crashLoopWindow {
				backoff = min(max(2*backoff, time.Second), maxBackoff)
			} else {
				backoff = 0
			}
			notBefore = time.Now().Add(backoff)
		}
		if pending > 0 && time.Now().After(notBefore) {
			if _, err := rs.start(); err != nil {
				onError(fmt.Errorf("replacing an operator replica: %w", err))
			}
			pending--
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// exitedUnasked returns the replicas that exited without being killed and were not yet replaced,
// recording why they exited.
func (rs *replicas) exitedUnasked() []*replica {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var gone []*replica
	for _, r := range rs.all {
		if r.killed || r.handled || !r.exited() {
			continue
		}
		r.handled = true
		rs.unasked = append(rs.unasked, exitReason(r.log.String()))
		gone = append(gone, r)
	}
	return gone
}

// exitReason names why a replica stopped: the error the operator logged when it stopped, or the
// end of its output.
func exitReason(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var entry struct{ Msg, Error string }
		if json.Unmarshal([]byte(lines[i]), &entry) == nil && entry.Msg == "Operator stopped" {
			return shorten(entry.Error)
		}
		if strings.HasPrefix(lines[i], "panic:") || strings.HasPrefix(lines[i], "fatal error:") {
			return shorten(lines[i])
		}
	}
	return shorten(lines[len(lines)-1])
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// stopAll stops every live replica with SIGTERM.
func (rs *replicas) stopAll() {
	for _, r := range rs.live() {
		rs.mu.Lock()
		r.handled = true
		rs.mu.Unlock()
		r.op.Stop()
	}
}

// output is one replica's name and everything it printed.
type output struct{ name, log string }

// logs returns every replica's output in the order they were started, also of those killed.
func (rs *replicas) logs() []output {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []output
	for _, r := range rs.all {
		out = append(out, output{r.name, r.log.String()})
	}
	return out
}

// unaskedExits counts the exits the run did not cause, by reason, most frequent first.
func (rs *replicas) unaskedExits() (total int, reasons []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	counts := map[string]int{}
	for _, reason := range rs.unasked {
		counts[reason]++
	}
	for reason := range counts {
		reasons = append(reasons, reason)
	}
	sort.Slice(reasons, func(i, j int) bool { return counts[reasons[i]] > counts[reasons[j]] })
	out := make([]string, len(reasons))
	for i, reason := range reasons {
		out[i] = fmt.Sprintf("%d× %s", counts[reason], reason)
	}
	return len(rs.unasked), out
}
