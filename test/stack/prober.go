package stack

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LoginProber logs in, at a fixed interval, with whatever a Secret holds at that moment, as an
// application reading its credentials at each connection would. It counts the attempts and the
// failures; Stop ends it.
type LoginProber struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	attempts int
	failures []string
}

// StartLoginProber probes every interval: it reads the Secret key through c and calls login with
// its username and password.
func StartLoginProber(c client.Client, key client.ObjectKey, interval time.Duration, login func(ctx context.Context, user, password string) error) *LoginProber {
	ctx, cancel := context.WithCancel(context.Background())
	p := &LoginProber{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var s corev1.Secret
			err := c.Get(ctx, key, &s)
			if err == nil {
				err = login(ctx, string(s.Data["username"]), string(s.Data["password"]))
			}
			if ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			p.attempts++
			if err != nil {
				// The error names the user, never the password.
				p.failures = append(p.failures, time.Now().Format(time.RFC3339Nano)+" "+string(s.Data["username"])+": "+err.Error())
			}
			p.mu.Unlock()
		}
	}()
	return p
}

// Stop ends the probing and returns the number of attempts and the failures.
func (p *LoginProber) Stop() (attempts int, failures []string) {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts, p.failures
}
