package controller

import (
	"context"

	"github.com/stillwaters/db-concierge/internal/cluster"
)

// Clusters is what the reconcilers ask of the cluster registry (*cluster.Registry): which
// clusters this instance serves, and a use of a cluster's engine.
type Clusters interface {
	// Get hands out a use of a configured cluster, given back with Release.
	Get(ctx context.Context, name string) (*cluster.Cluster, error)
	// Current returns the configuration of a cluster that has a pool, without reading anything.
	Current(name string) (cluster.Config, bool)
	// Serves reports whether this instance serves the cluster (--clusters).
	Serves(name string) bool
	// Names lists the configured clusters this instance serves.
	Names(ctx context.Context) ([]string, error)
	// MarkUnreachable has the cluster probed until it answers again.
	MarkUnreachable(name string)
	// IsAdminSecret reports whether a platform Secret configures a cluster's admin account.
	IsAdminSecret(ctx context.Context, name string) bool
	// ClustersUsingSecret lists the clusters a platform Secret configures.
	ClustersUsingSecret(ctx context.Context, name string) []string
}

var _ Clusters = (*cluster.Registry)(nil)
