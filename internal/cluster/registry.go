package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/stillwaters/db-concierge/internal/mysql"
)

// UnknownClusterError says clusterRef names no configured cluster.
type UnknownClusterError struct {
	Name  string
	Known []string
	// Secret is the admin Secret ("namespace/name") that configures the legacy cluster.
	Secret string
}

func (e *UnknownClusterError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("cluster %q is not configured, and no cluster is: the platform team creates Secret %s "+
			"with the cluster's admin credentials", e.Name, e.Secret)
	}
	return fmt.Sprintf("cluster %q is not configured; known clusters: %s", e.Name, strings.Join(e.Known, ", "))
}

// ConfigError says a cluster's configuration cannot be used as it is.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "cluster configuration is invalid: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Cluster is a configured cluster with its admin pool.
type Cluster struct {
	Config Config
	Admin  *mysql.Admin
}

// Options tune a Registry.
type Options struct {
	// Namespace is the platform namespace holding the clusters' admin Secrets.
	Namespace string
	// SecretName is the legacy admin Secret's name; LegacySecretName when empty.
	SecretName string
	// MaxOpenConns caps each cluster's admin pool.
	MaxOpenConns int
	// ConnectTimeout bounds each connection attempt.
	ConnectTimeout time.Duration
	// ProbeInterval is how often an unreachable cluster is tried again.
	ProbeInterval time.Duration
	// OnReachable is called with a cluster's name when it answers again after being marked
	// unreachable, so that the tenants waiting for it can be retried at once.
	OnReachable func(name string)
}

// Registry resolves cluster names to pools. Pools are opened on first use, reused across
// reconciles, and replaced (the old one closed) when the cluster's configuration changes.
type Registry struct {
	reader client.Reader
	opts   Options

	mu          sync.Mutex
	pools       map[string]*Cluster
	unreachable map[string]bool
}

// NewRegistry returns a Registry reading cluster configuration through reader, which must see the
// Secrets of opts.Namespace.
func NewRegistry(reader client.Reader, opts Options) *Registry {
	if opts.SecretName == "" {
		opts.SecretName = LegacySecretName
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 10 * time.Second
	}
	return &Registry{reader: reader, opts: opts, pools: map[string]*Cluster{}, unreachable: map[string]bool{}}
}

// configs reads every configured cluster. Today that is the legacy admin Secret alone.
func (r *Registry) configs(ctx context.Context) (map[string]Config, error) {
	var secret corev1.Secret
	err := r.reader.Get(ctx, types.NamespacedName{Namespace: r.opts.Namespace, Name: r.opts.SecretName}, &secret)
	switch {
	case apierrors.IsNotFound(err):
		return map[string]Config{}, nil
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s: %w", r.adminSecret(), err)
	}
	cfg, err := ConfigFromLegacySecret(&secret)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return map[string]Config{cfg.Name: cfg}, nil
}

// Get returns the named cluster with a pool matching its current configuration.
func (r *Registry) Get(ctx context.Context, name string) (*Cluster, error) {
	cfgs, err := r.configs(ctx)
	if err != nil {
		return nil, err
	}
	cfg, ok := cfgs[name]
	if !ok {
		known := make([]string, 0, len(cfgs))
		for n := range cfgs {
			known = append(known, n)
		}
		sort.Strings(known)
		return nil, &UnknownClusterError{Name: name, Known: known, Secret: r.adminSecret()}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.pools[name]; c != nil {
		if c.Config == cfg {
			return c, nil
		}
		logf.FromContext(ctx).Info("Cluster configuration changed, replacing its connection pool", "cluster", name)
		_ = c.Admin.Close()
		delete(r.pools, name)
	}
	admin, err := mysql.Open(mysql.Options{
		Host: cfg.Admin.Host, Port: cfg.Admin.Port, User: cfg.AdminUser, Password: cfg.AdminPassword,
		MaxOpenConns: r.opts.MaxOpenConns, ConnectTimeout: r.opts.ConnectTimeout,
	})
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	c := &Cluster{Config: cfg, Admin: admin}
	r.pools[name] = c
	return c, nil
}

// adminSecret names the legacy admin Secret as namespace/name.
func (r *Registry) adminSecret() string { return r.opts.Namespace + "/" + r.opts.SecretName }

// IsAdminSecret reports whether a Secret of the platform namespace configures a cluster.
func (r *Registry) IsAdminSecret(name string) bool { return name == r.opts.SecretName }

// MarkUnreachable records that a cluster did not answer; it is probed until it does.
func (r *Registry) MarkUnreachable(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreachable[name] = true
}

// Start probes unreachable clusters until ctx ends, then closes every pool. It implements
// controller-runtime's manager.Runnable.
func (r *Registry) Start(ctx context.Context) error {
	ticker := time.NewTicker(r.opts.ProbeInterval)
	defer ticker.Stop()
	defer r.closeAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			r.probe(ctx)
		}
	}
}

func (r *Registry) probe(ctx context.Context) {
	r.mu.Lock()
	names := make([]string, 0, len(r.unreachable))
	for name := range r.unreachable {
		names = append(names, name)
	}
	r.mu.Unlock()

	for _, name := range names {
		c, err := r.Get(ctx, name)
		var unknown *UnknownClusterError
		if errors.As(err, &unknown) {
			r.forget(name)
			continue
		}
		if err != nil {
			continue
		}
		pingCtx, cancel := context.WithTimeout(ctx, r.opts.ProbeInterval)
		err = c.Admin.Ping(pingCtx)
		cancel()
		if err != nil {
			continue
		}
		r.forget(name)
		logf.FromContext(ctx).Info("Cluster is reachable again", "cluster", name)
		if r.opts.OnReachable != nil {
			r.opts.OnReachable(name)
		}
	}
}

func (r *Registry) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.unreachable, name)
}

func (r *Registry) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, c := range r.pools {
		_ = c.Admin.Close()
		delete(r.pools, name)
	}
}
