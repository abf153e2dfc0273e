package mysql

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentServer accepts TCP connections and never answers, like a hung node; it records the order
// in which its listeners were reached.
type silentServer struct {
	mu      sync.Mutex
	reached []string
	conns   []net.Conn
}

func (s *silentServer) listen(t *testing.T, name string) Endpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.reached = append(s.reached, name)
			s.conns = append(s.conns, conn)
			s.mu.Unlock()
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	return Endpoint{Host: host, Port: p}
}

func (s *silentServer) order() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reached...)
}

// A node that accepts TCP and never answers costs one connect timeout, not the read timeout, and
// the next endpoint is tried.
func TestHungEndpointIsBoundedByTheConnectTimeout(t *testing.T) {
	var s silentServer
	opts := Options{Endpoints: []Endpoint{s.listen(t, "first"), s.listen(t, "second")}, ConnectTimeout: 200 * time.Millisecond}
	f, err := newFailover(opts, "admin", "pw", "", true)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = f.Connect(context.Background())
	// Far below the 30 s read timeout that bounded the handshake before; generous for a busy machine.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("two hung endpoints took %s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("error %v", err)
	}
	if got := s.order(); len(got) != 2 {
		t.Errorf("endpoints reached: %v, want both", got)
	}
}

// Verification logins start where the admin pool is connected, not at the first endpoint.
func TestLoginsStartWhereThePoolIs(t *testing.T) {
	var s silentServer
	a, err := Open(Options{Endpoints: []Endpoint{s.listen(t, "first"), s.listen(t, "second")}, ConnectTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	a.connector.preferred.Store(1)
	_ = a.VerifyLogin(context.Background(), "app", "pw", "")
	if got := s.order(); len(got) == 0 || got[0] != "second" {
		t.Errorf("endpoints reached in order %v, want second first", got)
	}
}
