package cluster

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/metrics"
	"github.com/stillwaters/db-concierge/internal/mysql"
	"github.com/stillwaters/db-concierge/internal/tenant"
)

// UnknownClusterError says clusterRef names no configured cluster. Its message is the tenant's:
// it names no other cluster, since which clusters exist, and who may use them, is the platform
// team's to say; Known is for the operator's log.
type UnknownClusterError struct {
	Name  string
	Known []string
	// Secret is the legacy admin Secret ("namespace/name"), one way to configure a cluster.
	Secret string
}

func (e *UnknownClusterError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("cluster %q is not configured, and no cluster is: the platform team creates a MySQLCluster, or Secret %s "+
			"with the cluster's admin credentials", e.Name, e.Secret)
	}
	return fmt.Sprintf("cluster %q is not configured; check spec.clusterRef, or ask the platform team which clusters you may use", e.Name)
}

// ConfigError says a cluster's configuration cannot be used as it is.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "cluster configuration is invalid: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Cluster is a configured cluster with its engine (and the engine's admin pool). Get hands out
// one use of it, which the caller gives back with Release: an engine replaced after a
// configuration change is closed only once its last use is given back, so a pass in flight
// finishes on the engine it started with.
type Cluster struct {
	Config Config
	Engine tenant.Engine

	// uses counts the uses handed out and not given back; it only grows while the cluster is the
	// registry's current one (under the registry's lock), so waiting on it after the cluster was
	// replaced is safe.
	uses sync.WaitGroup
}

// Release gives back a use that Get handed out.
func (c *Cluster) Release() { c.uses.Done() }

// retire closes the engine once every use of it is given back, without holding up the caller.
func (c *Cluster) retire() {
	go func() {
		c.uses.Wait()
		_ = c.Engine.Close()
	}()
}

// Options tune a Registry.
type Options struct {
	// Namespace is the platform namespace holding the clusters' admin Secrets.
	Namespace string
	// SecretName is the legacy admin Secret's name; LegacySecretName when empty.
	SecretName string
	// Only, when not empty, limits this operator instance to these clusters; others are not
	// its business (another instance serves them).
	Only []string
	// MaxOpenConns caps each cluster's admin pool unless its configuration says otherwise.
	MaxOpenConns int
	// ConnectTimeout bounds each connection attempt.
	ConnectTimeout time.Duration
	// ProbeInterval is how often an unreachable cluster is tried again.
	ProbeInterval time.Duration
	// OnReachable is called with a cluster's name when it answers again after being marked
	// unreachable, so that the tenants waiting for it can be retried at once.
	OnReachable func(name string)
	// Notified says the caller calls Invalidate on every change of a MySQLCluster or a platform
	// Secret, so that a pool checked since the last change can be used without a new check.
	Notified bool
	// OpenEngine, when set, opens a cluster's engine instead of a MySQL admin pool (tests
	// inject an engine of their own). It prepares; it need not connect.
	OpenEngine func(Config) (tenant.Engine, error)
}

// Registry resolves cluster names to pools. A cluster is configured by a MySQLCluster object or,
// for the seed's single cluster, by the legacy admin Secret; a MySQLCluster of the same name takes
// precedence. Pools are opened on first use, reused across reconciles, and replaced (the old one
// closed) when the cluster's configuration changes.
type Registry struct {
	clusters client.Reader // MySQLClusters
	secrets  client.Reader // Secrets of the platform namespace
	opts     Options

	mu          sync.Mutex
	pools       map[string]*Cluster
	unreachable map[string]bool

	// configVersion counts changes to MySQLClusters and platform Secrets (Invalidate). A pool
	// found at the current version is returned without reading and comparing the configuration
	// again: every reconcile asks, and the configuration rarely changes.
	configVersion atomic.Uint64
	checkedAt     map[string]uint64
}

// Invalidate says a MySQLCluster or a platform Secret changed: the next Get of every cluster
// reads its configuration again.
func (r *Registry) Invalidate() { r.configVersion.Add(1) }

// NewRegistry returns a Registry reading MySQLClusters through clusters and the platform
// namespace's Secrets through secrets.
func NewRegistry(clusters, secrets client.Reader, opts Options) *Registry {
	if opts.SecretName == "" {
		opts.SecretName = LegacySecretName
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 10 * time.Second
	}
	return &Registry{clusters: clusters, secrets: secrets, opts: opts, pools: map[string]*Cluster{}, unreachable: map[string]bool{}, checkedAt: map[string]uint64{}}
}

// Serves reports whether this operator instance serves the named cluster.
func (r *Registry) Serves(name string) bool {
	return len(r.opts.Only) == 0 || slices.Contains(r.opts.Only, name)
}

// config reads the named cluster's configuration; found is false when nothing configures it.
func (r *Registry) config(ctx context.Context, name string) (cfg Config, found bool, err error) {
	var mc dbv1.MySQLCluster
	err = r.clusters.Get(ctx, types.NamespacedName{Name: name}, &mc)
	switch {
	case err == nil:
		cfg, err = ConfigFromCluster(&mc, func(secret string) (*corev1.Secret, error) { return r.secret(ctx, secret) })
		return cfg, true, err
	case !apierrors.IsNotFound(err):
		return Config{}, false, fmt.Errorf("reading MySQLCluster %s: %w", name, err)
	}
	legacy, err := r.legacyConfig(ctx)
	if err != nil || legacy == nil || legacy.Name != name {
		return Config{}, false, err
	}
	return *legacy, true, nil
}

// legacyConfig reads the legacy admin Secret; nil when there is none.
func (r *Registry) legacyConfig(ctx context.Context) (*Config, error) {
	s, err := r.secret(ctx, r.opts.SecretName)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFromLegacySecret(s)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return &cfg, nil
}

func (r *Registry) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := r.secrets.Get(ctx, types.NamespacedName{Namespace: r.opts.Namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %s/%s not found: %w", r.opts.Namespace, name, err)
		}
		return nil, fmt.Errorf("reading Secret %s/%s: %w", r.opts.Namespace, name, err)
	}
	return &s, nil
}

// Names lists the clusters this instance serves.
func (r *Registry) Names(ctx context.Context) ([]string, error) {
	var list dbv1.MySQLClusterList
	if err := r.clusters.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing MySQLClusters: %w", err)
	}
	var names []string
	for _, mc := range list.Items {
		names = append(names, mc.Name)
	}
	if legacy, err := r.legacyConfig(ctx); err == nil && legacy != nil {
		names = append(names, legacy.Name)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !r.Serves(n) })
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Get returns the named cluster with a pool matching its current configuration, for one use: the
// caller calls Release when done with it.
func (r *Registry) Get(ctx context.Context, name string) (*Cluster, error) {
	// Read before the configuration: a change that lands while it is read moves the version on,
	// so the pool is checked again next time.
	version := r.configVersion.Load()
	r.mu.Lock()
	if c := r.pools[name]; c != nil && r.opts.Notified && r.checkedAt[name] == version+1 {
		c.uses.Add(1)
		r.mu.Unlock()
		return c, nil
	}
	r.mu.Unlock()

	cfg, found, err := r.config(ctx, name)
	if err != nil {
		var ce *ConfigError
		var status apierrors.APIStatus
		switch {
		case errors.As(err, &ce):
		case errors.As(err, &status) && !apierrors.IsNotFound(err):
			// The API server did not answer (a timeout, an overloaded server): nothing says the
			// configuration is wrong, and the next try may read it.
			return nil, fmt.Errorf("reading the configuration of cluster %s: %w", name, err)
		default:
			err = &ConfigError{Err: err}
		}
		return nil, err
	}
	if !found || !r.Serves(name) {
		known, _ := r.Names(ctx)
		return nil, &UnknownClusterError{Name: name, Known: known, Secret: r.opts.Namespace + "/" + r.opts.SecretName}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.pools[name]; c != nil {
		if sameExceptServer(c.Config, cfg) {
			if s, ok := c.Engine.(serverExpecter); ok {
				s.SetExpectedServer(cfg.ExpectedServer)
			}
			r.checkedAt[name] = version + 1
			c.uses.Add(1)
			return c, nil
		}
		// The new pool serves from now on; the old one is closed once the passes using it are
		// done, outside this lock.
		logf.FromContext(ctx).Info("Cluster configuration changed, replacing its connection pool", "cluster", name)
		c.retire()
		delete(r.pools, name)
	}
	engine, err := r.openEngine(cfg)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	c := &Cluster{Config: cfg, Engine: engine}
	c.uses.Add(1)
	r.pools[name] = c
	r.checkedAt[name] = version + 1
	return c, nil
}

// serverExpecter is an engine whose expected server identity changes in place.
type serverExpecter interface{ SetExpectedServer(id string) }

// sameExceptServer reports whether two configurations differ at most in the expected server
// identity, which an engine takes without a new pool.
func sameExceptServer(a, b Config) bool {
	a.ExpectedServer, b.ExpectedServer = "", ""
	return reflect.DeepEqual(a, b)
}

// openEngine opens a cluster's engine: Options.OpenEngine's, or a MySQL admin pool.
func (r *Registry) openEngine(cfg Config) (tenant.Engine, error) {
	if r.opts.OpenEngine != nil {
		return r.opts.OpenEngine(cfg)
	}
	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = r.opts.MaxOpenConns
	}
	return mysql.Open(mysql.Options{
		Cluster:   cfg.Name,
		Endpoints: cfg.Admin, User: cfg.AdminUser, Password: cfg.AdminPassword, TLS: cfg.TLS,
		RequireTLSForApplications: cfg.RequireTLSForApplications,
		MaxOpenConns:              maxConns, ConnectTimeout: r.opts.ConnectTimeout,
		ExpectedServer: cfg.ExpectedServer,
	})
}

// Current returns the configuration of the named cluster's pool in use, without reading or
// connecting; found is false when no pool is open for it (it is not configured, or not used yet).
func (r *Registry) Current(name string) (cfg Config, found bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.pools[name]; c != nil {
		return c.Config, true
	}
	return Config{}, false
}

// IsAdminSecret reports whether a Secret of the platform namespace configures a cluster: the
// legacy admin Secret, or one a MySQLCluster refers to.
func (r *Registry) IsAdminSecret(ctx context.Context, name string) bool {
	return name == r.opts.SecretName || len(r.ClustersUsingSecret(ctx, name)) > 0
}

// ClustersUsingSecret lists the MySQLClusters that read the named Secret.
func (r *Registry) ClustersUsingSecret(ctx context.Context, name string) []string {
	var list dbv1.MySQLClusterList
	if err := r.clusters.List(ctx, &list); err != nil {
		return nil
	}
	var names []string
	for _, mc := range list.Items {
		if slices.Contains(secretsOf(&mc), name) {
			names = append(names, mc.Name)
		}
	}
	return names
}

func secretsOf(mc *dbv1.MySQLCluster) []string {
	names := []string{mc.Spec.AdminCredentials.SecretName}
	if t := mc.Spec.TLS; t != nil {
		if t.CA != nil {
			names = append(names, t.CA.Name)
		}
		if t.ClientCertificateSecret != "" {
			names = append(names, t.ClientCertificateSecret)
		}
	}
	return names
}

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
		// Asking the server what it is takes an admin connection: the cluster answers again.
		probeCtx, cancel := context.WithTimeout(ctx, r.opts.ProbeInterval)
		_, err = c.Engine.Inspect(probeCtx)
		cancel()
		c.Release()
		if err != nil {
			continue
		}
		r.forget(name)
		metrics.ClusterReachable.WithLabelValues(name).Set(1)
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
		c.retire()
		delete(r.pools, name)
	}
}
