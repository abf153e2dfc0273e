//go:build integration

package chaos

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// faultKind is one kind of failure the run injects.
type faultKind int

const (
	serverCrash  faultKind = iota // SIGKILL of MariaDB or of one Galera node, then a restart
	operatorKill                  // SIGKILL of an operator replica, and a replacement started
	apiRestart                    // kube-apiserver stopped and started on the same etcd, port and certificates
)

func (k faultKind) String() string {
	return [...]string{"SIGKILL MySQL server", "SIGKILL operator", "restart kube-apiserver"}[k]
}

// config is the size of a run and where its figures go.
type config struct {
	mode     string
	seed     uint64
	tenants  int
	backends []string
	faults   map[faultKind]int
	// createGap is the mean pause between two creations: it spreads the batch over enough time
	// for the faults to strike while AppDatabases are still arriving.
	createGap time.Duration
	// deleteShare is the share of AppDatabases deleted during the run.
	deleteShare float64
	// settle bounds the wait, after the last fault, for every AppDatabase to be Ready.
	settle time.Duration
	report string
}

// modes are the sizes of a run. short is what `make test` runs (no CHAOS_* variables): it has to
// finish within about 3 minutes on a 2-core machine; full is `make chaos`.
var modes = map[string]config{
	"short": {
		tenants: 40, backends: []string{"mariadb"},
		faults:    map[faultKind]int{serverCrash: 1, operatorKill: 1, apiRestart: 1},
		createGap: 500 * time.Millisecond, deleteShare: 0.25, settle: 3 * time.Minute,
	},
	"full": {
		tenants: 200, backends: []string{"mariadb", "galera"},
		faults:    map[faultKind]int{serverCrash: 3, operatorKill: 3, apiRestart: 1},
		createGap: 350 * time.Millisecond, deleteShare: 0.25, settle: 5 * time.Minute,
	},
}

// configFromEnv reads CHAOS_MODE (short or full), CHAOS_N (number of AppDatabases), CHAOS_BACKENDS
// (comma-separated: mariadb, galera), CHAOS_SEED and CHAOS_REPORT. Without a seed, the clock picks
// one; it is printed either way, so that a run can be repeated.
func configFromEnv() (config, error) {
	mode := envOr("CHAOS_MODE", "short")
	cfg, ok := modes[mode]
	if !ok {
		return config{}, fmt.Errorf("CHAOS_MODE=%q: want short or full", mode)
	}
	cfg.mode = mode
	cfg.seed = uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return config{}, fmt.Errorf("CHAOS_SEED=%q: %w", s, err)
		}
		cfg.seed = seed
	}
	if s := os.Getenv("CHAOS_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			return config{}, fmt.Errorf("CHAOS_N=%q: want a number of at least 10", s)
		}
		cfg.tenants = n
	}
	if s := os.Getenv("CHAOS_BACKENDS"); s != "" {
		cfg.backends = strings.Split(s, ",")
		for _, b := range cfg.backends {
			if _, ok := backends[b]; !ok {
				return config{}, fmt.Errorf("CHAOS_BACKENDS: unknown backend %q (want mariadb, galera)", b)
			}
		}
	}
	cfg.report = os.Getenv("CHAOS_REPORT")
	return cfg, nil
}

// repeat is the command that runs the same plan again.
func (cfg config) repeat() string {
	return fmt.Sprintf("CHAOS_SEED=%d CHAOS_MODE=%s CHAOS_N=%d CHAOS_BACKENDS=%s make chaos",
		cfg.seed, cfg.mode, cfg.tenants, strings.Join(cfg.backends, ","))
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// Namespaces of the run. AppDatabases live in an application namespace (self-service) or in the
// platform namespace, naming an application namespace in spec.appNamespace.
const platformNS = "db-concierge"

var appNamespaces = []string{"chaos-a", "chaos-b", "chaos-c"}

// policies are drawn with equal chance: half Delete, a quarter Retain, a quarter left to the
// default (Retain), which the API server fills in.
var policies = []dbv1.DeletionPolicy{dbv1.DeletionPolicyDelete, dbv1.DeletionPolicyDelete, dbv1.DeletionPolicyRetain, ""}

// tenantPlan is one AppDatabase of the batch.
type tenantPlan struct {
	name, dbName, namespace, appNamespace string
	policy                                dbv1.DeletionPolicy
	// createGap is the pause before it is created.
	createGap time.Duration
	// deleteAt is the number of creations after which it is deleted; 0 keeps it.
	deleteAt int
}

// effectivePolicy is the policy the API server stores (Retain when none is given).
func (p tenantPlan) effectivePolicy() dbv1.DeletionPolicy {
	if p.policy == "" {
		return dbv1.DeletionPolicyRetain
	}
	return p.policy
}

// faultPlan is one fault; it strikes once `at` AppDatabases have been created.
type faultPlan struct {
	kind faultKind
	at   int
	// victim is the Galera node (0 for a single MariaDB) for serverCrash, and for operatorKill the
	// replica: -1 the leader, otherwise an index into the live replicas.
	victim int
	// downtime is how long a crashed server stays down before it is started again.
	downtime time.Duration
}

// plan is everything the seed decides. Reading all random numbers up front keeps a run's plan
// the same for a seed, however the timings of the run turn out.
type plan struct {
	tenants []tenantPlan
	faults  []faultPlan
}

func newPlan(cfg config, backend string, servers int) plan {
	rng := rand.New(rand.NewPCG(cfg.seed, stream(backend)))
	n := cfg.tenants
	p := plan{tenants: make([]tenantPlan, n)}
	for i := range p.tenants {
		p.tenants[i] = newTenantPlan(rng, cfg, backend, i)
	}
	// Faults strike between a tenth and nine tenths of the creations. The faults of one kind strike
	// one after another, so each gets its own stretch of the batch, at a random point in it:
	// drawn anywhere, three might fall at the end and, waiting for each other, strike after it.
	lo, hi := max(1, n/10), n*9/10
	for _, kind := range []faultKind{serverCrash, operatorKill, apiRestart} {
		k := cfg.faults[kind]
		for j := range k {
			from, to := lo+j*(hi-lo)/k, lo+(j+1)*(hi-lo)/k
			f := faultPlan{kind: kind, at: from + rng.IntN(to-from+1)}
			switch kind {
			case serverCrash:
				f.victim = rng.IntN(servers)
				f.downtime = time.Duration(500+rng.IntN(2500)) * time.Millisecond
			case operatorKill:
				f.victim = -1
				if rng.IntN(4) == 0 {
					f.victim = rng.IntN(2)
				}
			}
			p.faults = append(p.faults, f)
		}
	}
	slices.SortStableFunc(p.faults, func(a, b faultPlan) int { return a.at - b.at })
	return p
}

// pace stretches the batch on backends whose crashed server takes long to come back (a Galera
// node rejoins through a full state transfer: 15-30 s here), so that their crashes still strike
// while AppDatabases arrive.
var pace = map[string]int{"mariadb": 1, "galera": 2}

func newTenantPlan(rng *rand.Rand, cfg config, backend string, i int) tenantPlan {
	t := tenantPlan{
		name:      fmt.Sprintf("app-%03d", i),
		dbName:    fmt.Sprintf("app_%03d", i),
		namespace: appNamespaces[rng.IntN(len(appNamespaces))],
		policy:    policies[rng.IntN(len(policies))],
		createGap: time.Duration(rng.Int64N(int64(2 * cfg.createGap * time.Duration(pace[backend])))),
	}
	if rng.IntN(4) == 0 {
		t.appNamespace, t.namespace = t.namespace, platformNS
	}
	if rng.Float64() < cfg.deleteShare {
		// Anywhere from right after its own creation (likely before it is Ready) to the end.
		t.deleteAt = i + 1 + rng.IntN(cfg.tenants-i)
	}
	return t
}

// stream separates the backends' random numbers, so each backend's plan depends only on the seed.
func stream(backend string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(backend))
	return h.Sum64()
}

// describe lists the plan's faults and deletions for the test log.
func (p plan) describe() string {
	var b strings.Builder
	for i, f := range p.faults {
		fmt.Fprintf(&b, "  fault %d: %s after %d creations (victim %d, downtime %s)\n", i+1, f.kind, f.at, f.victim, f.downtime)
	}
	counts := map[dbv1.DeletionPolicy]int{}
	for _, t := range p.tenants {
		if t.deleteAt > 0 {
			counts[t.effectivePolicy()]++
		}
	}
	fmt.Fprintf(&b, "  deletions: %d Delete-policy, %d Retain-policy", counts[dbv1.DeletionPolicyDelete], counts[dbv1.DeletionPolicyRetain])
	return b.String()
}
