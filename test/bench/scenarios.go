package main

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/internal/credentials"
)

// single creates AppDatabases one at a time on an idle system, and runs the CLI.
func (b *bench) single(ctx context.Context) (*SingleResult, error) {
	const ns = "single"
	if err := b.ensureNamespace(ctx, ns); err != nil {
		return nil, err
	}
	rw, err := b.watchReady(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer rw.stop()
	res := &SingleResult{N: b.o.single}
	for i := range b.o.single {
		db := appDatabase(ns, fmt.Sprintf("single-%03d", i))
		start := time.Now()
		if err := b.client.Create(ctx, db); err != nil {
			return nil, err
		}
		if err := waitUntil(ctx, time.Minute, func() error {
			if _, ok := rw.at(db.Name); !ok {
				return fmt.Errorf("%s not Ready", db.Name)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		at, _ := rw.at(db.Name)
		res.samples = append(res.samples, at.Sub(start))
	}
	b.tenants += b.o.single
	res.summarize()

	for i := range b.o.cliRuns {
		start := time.Now()
		out, err := exec.CommandContext(ctx, b.cliBin, "--kubeconfig", b.kube.Kubeconfig,
			"--name", fmt.Sprintf("cli-%03d", i), "--namespace", ns).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("the CLI failed: %w\n%s", err, out)
		}
		res.cli = append(res.cli, time.Since(start))
	}
	b.tenants += b.o.cliRuns
	cli := sortedDurations(res.cli)
	res.CLIP50, res.CLIMax = ms(percentile(cli, 50)), ms(cli[len(cli)-1])
	return res, nil
}

// counters is a snapshot of everything a scenario measures as a difference.
type counters struct {
	at  time.Time
	api map[string]float64
	sql map[string]float64
	cpu time.Duration
}

func (b *bench) snapshot(ctx context.Context) (counters, error) {
	api, err := apiRequests(ctx, b.cfg)
	if err != nil {
		return counters{}, err
	}
	sqlc, err := sqlCounters(ctx, b.maria)
	if err != nil {
		return counters{}, err
	}
	return counters{at: time.Now(), api: api, sql: sqlc, cpu: b.operatorCPU()}, nil
}

// burstOperator creates n AppDatabases at once and measures the operator until all are Ready.
func (b *bench) burstOperator(ctx context.Context, n, run int) (*BurstResult, error) {
	ns := fmt.Sprintf("burst-%d-r%d", n, run)
	dbs := make([]*dbv1.AppDatabase, n)
	for i := range dbs {
		dbs[i] = appDatabase(ns, fmt.Sprintf("b%d-r%d-%05d", n, run, i))
	}
	res, _, err := b.measureBurst(ctx, ns, dbs)
	if err != nil || run == 0 {
		return res, err
	}
	// The scenarios that follow (steady state, restart, peak memory) measure one burst of each
	// size, as a run of one would leave them: a further run's AppDatabases and Secrets go.
	if err := b.client.DeleteAllOf(ctx, &dbv1.AppDatabase{}, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("deleting the AppDatabases of run %d: %w", run+1, err)
	}
	if err := b.client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("deleting the Secrets of run %d: %w", run+1, err)
	}
	b.tenants -= n
	return res, nil
}

// measureBurst creates dbs, all in namespace ns, at once and measures the operator until all are
// Ready. It also returns the SQL statements per tenant, every Com_* counter summed.
func (b *bench) measureBurst(ctx context.Context, ns string, dbs []*dbv1.AppDatabase) (*BurstResult, float64, error) {
	n := len(dbs)
	// An operator restarted after a baseline first verifies the tenants it has: that is the
	// restart's cost, not this burst's.
	if err := b.reverified(ctx); err != nil {
		return nil, 0, err
	}
	if err := b.ensureNamespace(ctx, ns); err != nil {
		return nil, 0, err
	}
	rw, err := b.watchReady(ctx, ns)
	if err != nil {
		return nil, 0, err
	}
	defer rw.stop()
	before, err := b.snapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	timingsBefore, err := b.operatorTimings()
	if err != nil {
		return nil, 0, err
	}
	created, err := b.createAll(ctx, dbs, nil)
	if err != nil {
		return nil, 0, err
	}
	if err := waitUntil(ctx, time.Duration(n)*time.Second+2*time.Minute, func() error {
		if got := rw.count(); got < n {
			return fmt.Errorf("%d of %d Ready", got, n)
		}
		return nil
	}); err != nil {
		return nil, 0, err
	}
	wall := time.Since(before.at)
	after, err := b.snapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	timingsAfter, err := b.operatorTimings()
	if err != nil {
		return nil, 0, err
	}
	b.tenants += n
	res := &BurstResult{N: n, WallSeconds: wall.Seconds(), PerSecond: float64(n) / wall.Seconds(),
		OperatorCPUSeconds: (after.cpu - before.cpu).Seconds()}
	for _, db := range dbs {
		at, _ := rw.at(db.Name)
		res.samples = append(res.samples, at.Sub(created[db.Name]))
	}
	res.summarize()
	sqld := delta(before.sql, after.sql)
	var statements float64
	for k, v := range sqld {
		if strings.HasPrefix(k, "com_") && v > 0 {
			statements += v
		}
	}
	res.perTenant(delta(before.api, after.api), sqld, n, n)
	res.Breakdown = breakdown(timingsBefore, timingsAfter, n)
	b.recordRSS()
	res.PeakRSSMiB = float64(b.maxRSS) / (1 << 20)
	return res, round(statements / float64(n)), nil
}

// baselineWork is what a baseline does per tenant.
type baselineWork int

const (
	// essentialWork is the work every invariant of DESIGN.md takes: the ownership row, CREATE
	// DATABASE, CREATE USER, GRANT, the ownership commit; the Secret and one status write (Ready);
	// one login as the new user.
	essentialWork baselineWork = iota
	// rawLimit is the physical limit: CREATE DATABASE, CREATE USER, GRANT and one Secret, nothing
	// recorded, nothing verified, no status; a tenant is done when its Secret is written.
	rawLimit
)

// baseline does work for n new AppDatabases with no controller. Same servers, same drivers, same
// concurrency as the operator. The operator is stopped meanwhile.
func (b *bench) baseline(ctx context.Context, n int, work baselineWork, run int) (*BurstResult, error) {
	// Each baseline's objects get names of their own: their databases stay on the server.
	ns, prefix := fmt.Sprintf("baseline-%d-r%d", n, run), 'r'
	if work == rawLimit {
		ns, prefix = fmt.Sprintf("raw-%d-r%d", n, run), 'w'
	}
	if err := b.ensureNamespace(ctx, ns); err != nil {
		return nil, err
	}
	b.stopOperator()
	defer func() {
		// The baseline's objects are not the operator's to keep: remove them before it returns.
		_ = b.client.DeleteAllOf(ctx, &dbv1.AppDatabase{}, client.InNamespace(ns))
		_ = b.startOperator(ctx)
	}()

	admin, err := openPool(b.maria.Config(adminUser, b.adminPassword, ""), b.o.concurrency)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	dbs := make([]*dbv1.AppDatabase, n)
	for i := range dbs {
		dbs[i] = appDatabase(ns, fmt.Sprintf("%c%d-r%d-%05d", prefix, n, run, i))
	}
	if b.o.runsFor(n) > 1 {
		// Another run of this size follows. MariaDB's account statements slow down as accounts
		// pile up, so the baseline's are dropped: each run starts from the server the
		// operator's run of its round had.
		defer b.dropBaseline(ctx, admin, ns, dbs)
	}
	// Readiness is observed as in the operator's burst, through a watch, so both runs carry the
	// same watcher and are timed the same way.
	rw, err := b.watchReady(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer rw.stop()
	before, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	// The same burst of creates as the operator gets; the workers take the objects as they are
	// created, as a watch would hand them to the operator.
	queue := make(chan *dbv1.AppDatabase, n)
	var wg sync.WaitGroup
	errs := make(chan error, b.o.concurrency)
	// done is when each tenant's work ended: the raw limit writes no status to watch.
	var doneMu sync.Mutex
	done := map[string]time.Time{}
	for range b.o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for db := range queue {
				if err := b.provisionRaw(ctx, admin, db, work); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				doneMu.Lock()
				done[db.Name] = time.Now()
				doneMu.Unlock()
			}
		}()
	}
	created, err := b.createAll(ctx, dbs, queue)
	close(queue)
	if err != nil {
		return nil, err
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, fmt.Errorf("baseline: %w", err)
	default:
	}
	if work == essentialWork {
		if err := waitUntil(ctx, time.Minute, func() error {
			if got := rw.count(); got < n {
				return fmt.Errorf("%d of %d seen Ready", got, n)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	wall := time.Since(before.at)
	after, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	res := &BurstResult{N: n, WallSeconds: wall.Seconds(), PerSecond: float64(n) / wall.Seconds()}
	for _, db := range dbs {
		at, _ := rw.at(db.Name)
		if work == rawLimit {
			at = done[db.Name]
		}
		res.samples = append(res.samples, at.Sub(created[db.Name]))
	}
	res.summarize()
	res.perTenant(delta(before.api, after.api), delta(before.sql, after.sql), n, n)
	return res, nil
}

func openPool(cfg *gomysql.Config, size int) (*sql.DB, error) {
	cfg.InterpolateParams = true
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	return db, nil
}

func (b *bench) provisionRaw(ctx context.Context, admin *sql.DB, db *dbv1.AppDatabase, work baselineWork) error {
	user := db.Spec.EffectiveUserName()
	password, err := credentials.NewPassword()
	if err != nil {
		return err
	}
	if work == rawLimit {
		return b.provisionRawLimit(ctx, admin, db, user, password)
	}
	if _, err := admin.ExecContext(ctx, "INSERT INTO db_concierge.ownership (kind, name, owner_uid, owner_namespace, owner_name, state) VALUES (?, ?, ?, ?, ?, 'pending'), (?, ?, ?, ?, ?, 'pending')",
		"database", db.Spec.DBName, string(db.UID), db.Namespace, db.Name, "user", user, string(db.UID), db.Namespace, db.Name); err != nil {
		return err
	}
	conn := credentials.Connection{Host: "127.0.0.1", Port: b.maria.Port, User: user, Password: password, Database: db.Spec.DBName}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: db.Namespace, Name: db.Spec.EffectiveSecretName()}, Data: conn.SecretData()}
	if err := b.client.Create(ctx, secret); err != nil {
		return err
	}
	if err := execAll(ctx, admin, append(unavoidableSQL(db, user, password),
		benchStatement{"UPDATE db_concierge.ownership SET state = 'committed' WHERE owner_uid = ?", []any{string(db.UID)}})); err != nil {
		return err
	}
	login, err := openPool(b.maria.Config(user, password, db.Spec.DBName), 1)
	if err != nil {
		return err
	}
	err = login.PingContext(ctx)
	login.Close()
	if err != nil {
		return err
	}
	patch := client.MergeFrom(db.DeepCopy())
	db.Status.Phase = dbv1.PhaseReady
	db.Status.ObservedGeneration = db.Generation
	meta.SetStatusCondition(&db.Status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: dbv1.ReasonProvisioned, Message: "ready", ObservedGeneration: db.Generation})
	return b.client.Status().Patch(ctx, db, patch)
}

// benchStatement is one statement a baseline runs, with its arguments.
type benchStatement struct {
	query string
	args  []any
}

// unavoidableSQL is what any implementation must run for a tenant: its database, its user and
// the grant. The bench's own names are safe to quote this way; the operator never does.
func unavoidableSQL(db *dbv1.AppDatabase, user, password string) []benchStatement {
	return []benchStatement{
		{"CREATE DATABASE `" + db.Spec.DBName + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", nil},
		{"CREATE USER `" + user + "`@`%` IDENTIFIED BY ?", []any{password}},
		{"GRANT ALL PRIVILEGES ON `" + strings.ReplaceAll(db.Spec.DBName, "_", `\_`) + "`.* TO `" + user + "`@`%`", nil},
	}
}

// dropBaseline drops what a baseline created in MySQL: databases, accounts, ownership rows.
func (b *bench) dropBaseline(ctx context.Context, admin *sql.DB, ns string, dbs []*dbv1.AppDatabase) {
	statements := []benchStatement{{"DELETE FROM db_concierge.ownership WHERE owner_namespace = ?", []any{ns}}}
	for _, db := range dbs {
		statements = append(statements,
			benchStatement{"DROP DATABASE IF EXISTS `" + db.Spec.DBName + "`", nil},
			benchStatement{"DROP USER IF EXISTS `" + db.Spec.EffectiveUserName() + "`@`%`", nil})
	}
	if err := execAll(ctx, admin, statements); err != nil {
		logf("dropping the baseline's databases and accounts: %v", err)
	}
}

func execAll(ctx context.Context, admin *sql.DB, statements []benchStatement) error {
	for _, st := range statements {
		if _, err := admin.ExecContext(ctx, st.query, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// provisionRawLimit does only what no implementation can avoid: the database, the user, its grant
// and the Secret.
func (b *bench) provisionRawLimit(ctx context.Context, admin *sql.DB, db *dbv1.AppDatabase, user, password string) error {
	if err := execAll(ctx, admin, unavoidableSQL(db, user, password)); err != nil {
		return err
	}
	conn := credentials.Connection{Host: "127.0.0.1", Port: b.maria.Port, User: user, Password: password, Database: db.Spec.DBName}
	return b.client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: db.Namespace, Name: db.Spec.EffectiveSecretName()}, Data: conn.SecretData()})
}

// reverified waits until the running operator has passed every tenant once: at its start it
// verifies each, which is the restart's cost, not the steady state's.
func (b *bench) reverified(ctx context.Context) error {
	return waitUntil(ctx, time.Duration(b.tenants)*time.Second+2*time.Minute, func() error {
		v, err := b.operatorMetric("db_concierge_appdatabase_reconciles_total", map[string]string{"outcome": dbv1.ReasonProvisioned})
		if err != nil {
			return err
		}
		if int(v) < b.tenants {
			return fmt.Errorf("%v of %d verified", v, b.tenants)
		}
		return nil
	})
}

// steady measures a quiet period with every tenant Ready: what the operator writes and spends.
// The baseline restarts the operator, so the period begins once that start's passes are done.
func (b *bench) steady(ctx context.Context) (*SteadyResult, error) {
	if err := b.reverified(ctx); err != nil {
		return nil, err
	}
	before, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(b.o.quiet):
	}
	after, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	api, sqld := delta(before.api, after.api), delta(before.sql, after.sql)
	minutes := after.at.Sub(before.at).Minutes()
	cpu := (after.cpu - before.cpu).Seconds()
	var msPerCheck float64
	if checks := sqld["com_show_grants"]; checks > 0 {
		msPerCheck = 1000 * cpu / checks
	}
	return &SteadyResult{
		Tenants:          b.tenants,
		QuietSeconds:     after.at.Sub(before.at).Seconds(),
		APIWrites:        apiWrites(api, func(r string) bool { return r != "leases" && r != "events" }),
		LeaseWrites:      apiWrites(api, func(r string) bool { return r == "leases" }),
		SQLWrites:        sumKeys(sqld, sqlWriteKinds),
		OperatorCPUPct:   100 * cpu / after.at.Sub(before.at).Seconds(),
		DriftReadsPerMin: (sqld["com_select"] + sqld["com_show_grants"] + sqld["com_show_status"] + sqld["com_show_variables"]) / minutes,
		LoginsPerMin:     sqld["connections"] / minutes,

		DriftChecksPerMin:   sqld["com_show_grants"] / minutes,
		LongRunChecksPerMin: float64(b.tenants) / b.o.resync.Minutes(),
		CPUMsPerCheck:       msPerCheck,
		CPUPer1000PerPeriod: cpuPer1000PerPeriod(cpu, after.at.Sub(before.at), b.o.resync, b.tenants),
	}, nil
}

// cpuPer1000PerPeriod scales CPU seconds spent over window to 1,000 tenants and one resync period.
func cpuPer1000PerPeriod(cpu float64, window, resync time.Duration, tenants int) float64 {
	if tenants == 0 || window <= 0 {
		return 0
	}
	return cpu / window.Seconds() * resync.Seconds() / (float64(tenants) / 1000)
}

// restart kills the operator and measures the new one re-verifying every tenant.
func (b *bench) restart(ctx context.Context) (*RestartResult, error) {
	b.recordRSS()
	b.op.Kill()
	b.op = nil
	start := time.Now()
	peak := 0
	stopSampling := make(chan struct{})
	sampled := make(chan int)
	go func() {
		root, err := b.maria.RootDB()
		if err != nil {
			sampled <- -1
			return
		}
		defer root.Close()
		highest := 0
		for {
			var n int
			if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", adminUser).Scan(&n); err == nil && n > highest {
				highest = n
			}
			select {
			case <-stopSampling:
				sampled <- highest
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	if err := b.startOperator(ctx); err != nil {
		return nil, err
	}
	err := b.reverified(ctx)
	took := time.Since(start)
	close(stopSampling)
	peak = <-sampled
	if err != nil {
		return nil, err
	}
	return &RestartResult{Tenants: b.tenants, Seconds: took.Seconds(), PeakAdminConnections: peak, ConnectionCap: 4}, nil
}
