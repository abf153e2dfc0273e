package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apiServerStartTimeout bounds a restart of kube-apiserver; envtest's default of 20 s is short for
// a 2-core machine also running MySQL servers and operators.
const apiServerStartTimeout = 90 * time.Second

// WithStopGrace bounds how long kube-apiserver and etcd may take to exit on SIGTERM before they
// are killed, at RestartAPIServer and at Stop. With watches open, kube-apiserver 1.37 stops
// listening at once but exits only after envtest's default of 20 s, which would lengthen a
// restart by that much.
func WithStopGrace(d time.Duration) KubeOption {
	return func(e *envtest.Environment) { e.ControlPlaneStopTimeout = d }
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port, with the same
// serving certificate, client CA and service-account keys, against the same etcd (which keeps
// running): clients made before the restart, and kubeconfig files written for them, reconnect
// once it is back.
//
// envtest makes the API server's certificate directory a temporary one that its Stop removes,
// and would generate new certificates on Start; the directory is therefore copied first, and the
// server started on the copy, which Kube.Stop removes.
func (k *Kube) RestartAPIServer() error {
	s := k.Env.ControlPlane.APIServer
	if s == nil {
		return fmt.Errorf("the API server was not started by envtest")
	}
	kept := filepath.Join(k.dir, "apiserver")
	if s.CertDir != kept {
		if err := copyFiles(s.CertDir, kept); err != nil {
			return fmt.Errorf("keeping the API server's certificates: %w", err)
		}
	}
	port := s.SecureServing.Port
	// On SIGTERM kube-apiserver stops listening at once, but while clients hold watches it can
	// take longer than its stop timeout to exit (WithStopGrace); past it envtest sends
	// SIGKILL and reports a timeout, which is no reason not to start it again.
	if err := s.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting for process") {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	// Give a killed process a moment to release its files and port.
	time.Sleep(500 * time.Millisecond)
	s.CertDir = kept
	s.StartTimeout = apiServerStartTimeout
	if err := s.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	if s.SecureServing.Port != port {
		return fmt.Errorf("kube-apiserver came back on port %s instead of %s", s.SecureServing.Port, port)
	}
	return nil
}

// copyFiles copies the regular files of dir src into dst (created), keeping their modes.
func copyFiles(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// Kill stops the server with SIGKILL, as a crash or a lost machine would, and waits for it to
// exit; Start brings it back on the same data directory and port, through crash recovery.
func (m *MariaDB) Kill() {
	if m.cmd == nil {
		return
	}
	select {
	case <-m.done:
	default:
		// The server runs in its own process group (dieWithParent); SIGKILL reaches all of it.
		if err := syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			_ = m.cmd.Process.Kill()
		}
		<-m.done
	}
	m.cmd = nil
}

// Restart starts node i again after Kill, on its data directory, as a joiner of the running
// cluster (it receives what it missed by a state transfer), and waits until every node is Synced
// in a cluster of full size. The other nodes must form the cluster meanwhile.
func (g *Galera) Restart(ctx context.Context, i int) error {
	n := g.Nodes[i]
	if n.Alive() {
		return fmt.Errorf("Galera node %s is still running", n.Name)
	}
	bin, err := lookPath("mariadbd")
	if err != nil {
		return err
	}
	if err := n.start(bin, g.clusterName(), g.clusterAddress(), false); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, galeraStartTimeout)
	defer cancel()
	if culprit, err := g.waitSize(ctx, len(g.Nodes), []*GaleraNode{n}); err != nil {
		return startError(culprit, err)
	}
	return nil
}
