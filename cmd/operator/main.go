// Command db-concierge-operator runs the DB Concierge controller manager: it provisions the MySQL
// databases, users and Secrets that AppDatabase objects ask for.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/cluster"
	"github.com/stillwaters/db-concierge/internal/controller"
	"github.com/stillwaters/db-concierge/internal/mysql"
	"github.com/stillwaters/db-concierge/internal/version"
)

func main() {
	var (
		metricsAddr, probeAddr string
		pprofAddr              string
		election               leaderElection
		opts                   controller.Options
		apiQPS                 float64
		apiBurst               int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address of the metrics endpoint (/metrics, also /healthz and /readyz); \"0\" disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the health probe endpoint (/healthz, /readyz).")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address of Go's profiling endpoints (/debug/pprof), for diagnosis; \"0\" disables them.")
	flag.Float64Var(&apiQPS, "kube-api-qps", controller.DefaultAPIQPS, "Requests per second the operator may send to the Kubernetes API server, sustained; "+
		"the API server's Priority and Fairness paces it below that when it must. A negative value turns the client's limit off.")
	flag.IntVar(&apiBurst, "kube-api-burst", controller.DefaultAPIBurst, "Requests the operator may send to the Kubernetes API server in a burst.")
	flag.BoolVar(&election.enabled, "leader-elect", false, "Elect a leader on a Lease, so that only one of several replicas works at a time.")
	flag.DurationVar(&election.leaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a standby waits, after the leader stops renewing, before taking over.")
	flag.DurationVar(&election.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before giving up leadership.")
	flag.DurationVar(&election.retryPeriod, "leader-election-retry-period", 2*time.Second, "How often leader and standbys try to acquire or renew the Lease.")
	flag.StringVar(&opts.PlatformNamespace, "platform-namespace", envOr("POD_NAMESPACE", "db-concierge"),
		"Namespace holding the clusters' admin Secrets; its AppDatabases may target other namespaces.")
	flag.StringVar(&opts.AdminSecretName, "admin-secret-name", cluster.LegacySecretName,
		"Name of the Secret in the platform namespace with the MySQL admin credentials (MYSQL_ADMIN_* keys).")
	flag.IntVar(&opts.MaxConcurrentReconciles, "max-concurrent-reconciles", 4, "How many AppDatabases are worked on at once.")
	flag.DurationVar(&opts.MaxBackoff, "max-backoff", 5*time.Minute, "Longest wait before an AppDatabase that failed is retried.")
	flag.DurationVar(&opts.ResyncPeriod, "resync-period", 10*time.Minute, "How often each cluster is swept for drift: its Ready AppDatabases are compared in bulk, and those that differ get a full reconcile.")
	flag.IntVar(&opts.MaxConnsPerCluster, "max-conns-per-cluster", 4, "Most admin connections the operator opens to one MySQL cluster (a MySQLCluster's spec.maxConnections overrides it).")
	flag.BoolVar(&opts.RecreateMissingDatabases, "recreate-missing-databases", false,
		"Recreate, empty, the database of a deletionPolicy Delete AppDatabase that was dropped by hand (otherwise it fails with DatabaseMissing).")
	flag.DurationVar(&opts.ClusterCheckInterval, "cluster-check-interval", time.Minute, "How often each MySQLCluster is checked and its status refreshed.")
	flag.DurationVar(&opts.ConflictRecheckPeriod, "conflict-recheck-period", time.Minute,
		"How often an AppDatabase that failed on something in its way (SecretConflict, OwnershipConflict, DatabaseMissing, PasswordRejected) is tried again.")
	flag.Func("clusters", "Comma-separated clusters this instance serves (default: all). Instances that split the clusters between them need disjoint lists and distinct --leader-election-id values.",
		func(v string) error {
			for _, name := range strings.Split(v, ",") {
				if name = strings.TrimSpace(name); name != "" {
					opts.Clusters = append(opts.Clusters, name)
				}
			}
			return nil
		})
	flag.StringVar(&election.id, "leader-election-id", "db-concierge-operator.db.stillwaters.io", "Name of the Lease for leader election; each operator instance needs its own.")
	printVersion := flag.Bool("version", false, "Print the operator's version and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *printVersion {
		fmt.Println("db-concierge-operator", version.Get())
		return
	}
	// JSON lines for log collectors; a readable console format when a person watches a terminal,
	// unless --zap-encoder says otherwise.
	encoderChosen := false
	flag.Visit(func(f *flag.Flag) { encoderChosen = encoderChosen || f.Name == "zap-encoder" })
	logOpts := []zap.Opts{zap.UseFlagOptions(&zapOpts)}
	if !encoderChosen && term.IsTerminal(int(os.Stderr.Fd())) {
		logOpts = append(logOpts, zap.ConsoleEncoder())
	}
	ctrl.SetLogger(zap.New(logOpts...))
	driverLog := ctrl.Log.WithName("mysql-driver")
	mysql.SetDriverLogger(func(msg string) { driverLog.V(1).Info(msg) })
	log := ctrl.Log.WithName("setup")

	if os.Getenv("GOGC") == "" {
		// The heap is mostly the caches of AppDatabases and Secrets, which grow with tenants; the
		// default of 100 lets the heap reach twice that before collecting. At 50, a platform of
		// 10,000 tenants peaks about a quarter lower (make bench: 136 MiB instead of 177 MiB) for
		// a few percent more CPU in bursts. GOGC in the environment still decides.
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Without a soft limit the collector lets the heap grow to GOGC's target even past the
		// container's limit, where the kernel kills the process; with one it collects harder as
		// the limit nears. GOMEMLIMIT in the environment still decides.
		switch limit, err := containerMemoryLimit(os.ReadFile); {
		case err != nil:
			log.Error(err, "Reading the container's memory limit; Go's memory limit is left unset")
		case limit > 0:
			debug.SetMemoryLimit(goMemoryLimit(limit))
			log.Info("Set Go's memory limit from the container's", "containerLimitBytes", limit, "goMemoryLimitBytes", goMemoryLimit(limit))
		}
	}
	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(apiQPS), apiBurst
	if err := run(cfg, metricsAddr, probeAddr, pprofAddr, election, opts); err != nil {
		log.Error(err, "Operator stopped")
		os.Exit(1)
	}
}

// leaderElection holds the leader-election flags.
type leaderElection struct {
	enabled                                   bool
	id                                        string
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

func run(cfg *rest.Config, metricsAddr, probeAddr, pprofAddr string, election leaderElection, opts controller.Options) error {
	if opts.MaxBackoff <= 0 || opts.MaxConcurrentReconciles <= 0 || opts.MaxConnsPerCluster <= 0 || opts.ClusterCheckInterval <= 0 || opts.ConflictRecheckPeriod <= 0 {
		return fmt.Errorf("--max-backoff, --max-concurrent-reconciles, --max-conns-per-cluster, --cluster-check-interval and --conflict-recheck-period must be positive")
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(dbv1.AddToScheme(scheme))

	// The metrics port answers /healthz and /readyz too, so the seed's
	// `kubectl port-forward svc/db-concierge-operator 8080:8080` + `curl /healthz` works.
	var mgr ctrl.Manager
	cachesSynced := func(req *http.Request) error {
		if mgr == nil || !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("caches not synced")
		}
		return nil
	}
	// healthz.Handler reads the path below its mount point as the name of one check.
	probes := map[string]http.Handler{
		"/healthz": http.StripPrefix("/healthz", &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}),
		"/readyz":  http.StripPrefix("/readyz", &healthz.Handler{Checks: map[string]healthz.Checker{"caches": cachesSynced}}),
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr, ExtraHandlers: probes},
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          election.enabled,
		LeaderElectionID:        election.id,
		LeaseDuration:           &election.leaseDuration,
		RenewDeadline:           &election.renewDeadline,
		RetryPeriod:             &election.retryPeriod,
		LeaderElectionNamespace: opts.PlatformNamespace,
		// Hand the lease over promptly when the process stops on purpose.
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{
			// Secrets and AppDatabases are trimmed to what the operator reads (see CachedObjects).
			ByObject: controller.CachedObjects(),
			// managedFields are the API server's bookkeeping, never read here: not keeping them
			// saves memory per object, which counts at thousands of tenants.
			DefaultTransform: cache.TransformStripManagedFields(),
		},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controller.SetupWithManager(ctx, mgr, opts); err != nil {
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	// Ready means the caches are synced, on the leader and on a standby alike: a standby is ready
	// to take over.
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("caches", cachesSynced); err != nil {
		return err
	}
	build := version.Get()
	ctrl.Log.WithName("setup").Info("Starting operator", "version", build.Version, "revision", build.Revision, "platformNamespace", opts.PlatformNamespace)
	return mgr.Start(ctx)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
