//go:build integration

package upgrade

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
	"github.com/stillwaters/db-concierge/test/stack"
)

// previousRelease is the version a platform team upgrades from: main as it stood before the
// first release was cut. Later releases name the previous release's tag here.
const previousRelease = "678ebcc"

// upgradeRoute is one supported way of installing and upgrading: the same commands a platform
// team runs (docs/platform.md, "Upgrading"), against a local API server.
type upgradeRoute struct {
	name      string
	install   func(r *routeRun) // the previous release, from its tree
	upgrade   func(r *routeRun) // to this checkout's release
	downgrade func(r *routeRun) // back to the previous release
}

var upgradeRoutes = []upgradeRoute{
	{
		name: "install.sh",
		install: func(r *routeRun) {
			r.sh(r.old, "./install.sh --yes --keep-admin-secret --no-dev-rbac --registry skip --image "+r.oldImage)
		},
		upgrade: func(r *routeRun) {
			r.sh(r.new, "./install.sh --yes --keep-admin-secret --no-dev-rbac --registry release")
		},
		downgrade: func(r *routeRun) {
			r.sh(r.old, "./install.sh --yes --keep-admin-secret --no-dev-rbac --registry skip --image "+r.oldImage)
		},
	},
	{
		name: "helm",
		install: func(r *routeRun) {
			r.sh(r.old, "helm install db-concierge charts/db-concierge -n db-concierge --set adminSecret.existingSecret=db-concierge-mysql-admin")
		},
		// Helm installs crds/ once and never upgrades them: the CRDs go first, server-side,
		// taking the fields over from Helm.
		upgrade: func(r *routeRun) {
			r.sh(r.new, "kubectl apply --server-side --force-conflicts -f charts/db-concierge/crds/ && "+
				"helm upgrade db-concierge charts/db-concierge -n db-concierge --set adminSecret.existingSecret=db-concierge-mysql-admin")
		},
		downgrade: func(r *routeRun) { r.sh(r.new, "helm rollback db-concierge 1 -n db-concierge") },
	},
	{
		name:      "kubectl apply -k",
		install:   func(r *routeRun) { r.sh(r.old, "kubectl apply -k deploy/") },
		upgrade:   func(r *routeRun) { r.sh(r.new, "kubectl apply -k deploy/") },
		downgrade: func(r *routeRun) { r.sh(r.old, "kubectl apply -k deploy/") },
	},
}

// TestUpgradeRoutes installs the previous release by each supported route, has it provision 50
// tenants (both deletion policies, adopted ones, ones the CLI made), upgrades to this checkout's
// release by the same route, and downgrades again. Through both, every tenant stays Ready, no
// Secret is rewritten, no password or grant changes, and MySQL counts no write.
func TestUpgradeRoutes(t *testing.T) {
	old := extractTree(t, previousRelease)
	bins := t.TempDir()
	version, err := stack.ReleaseVersion()
	if err != nil {
		t.Fatal(err)
	}
	build := func(src, name, pkg string, flags ...string) string {
		bin, err := buildIn(src, filepath.Join(bins, name), pkg, flags...)
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
	// The release's operator, stamped as make release stamps it.
	newOperator := build(stack.RepoRoot(), "operator-"+version, "./cmd/operator",
		"-ldflags", "-X github.com/stillwaters/db-concierge/internal/version.version="+version)
	oldOperator := build(old, "operator-"+previousRelease, "./cmd/operator")
	oldCLI := build(old, "bootstrap-mysql-schema", "./cmd/bootstrap-mysql-schema")
	// The image the previous release's manifests and chart run.
	m := regexp.MustCompile(`(?m)^\s*image: (\S+)$`).FindSubmatch(readTreeFile(t, old, "deploy/deployment.yaml"))
	if m == nil {
		t.Fatal("the previous release's deploy/deployment.yaml names no image")
	}
	oldImage := string(m[1])
	images := map[string]string{
		oldImage:                                 oldOperator,
		stack.ReleasedRepository + ":" + version: newOperator,
	}
	for _, route := range upgradeRoutes {
		t.Run(route.name, func(t *testing.T) {
			r := startRoute(t, old, images)
			r.oldCLI, r.oldImage = oldCLI, oldImage
			r.version = version
			r.run(route)
		})
	}
}

// routeRun is one route's stack: an API server without CRDs, a MariaDB, the two trees, and a
// stand-in kubelet that runs the operator binary of the Deployment's image.
type routeRun struct {
	t        *testing.T
	kube     *stack.Kube
	maria    *stack.MariaDB
	root     *sql.DB
	old, new string
	path     string // kubectl and helm first
	oldCLI   string
	oldImage string
	version  string
	kubelet  *kubelet
	began    time.Time
}

func startRoute(t *testing.T, old string, images map[string]string) *routeRun {
	kube, err := stack.StartKube(stack.WithoutCRDs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Stop)
	maria, err := stack.StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(maria.Close)
	root, err := maria.RootDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	bin := t.TempDir()
	for name, target := range map[string]string{"kubectl": kube.Kubectl, "helm": filepath.Join(stack.RepoRoot(), "hack/helm.sh")} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	r := &routeRun{t: t, kube: kube, maria: maria, root: root, old: old, new: stack.RepoRoot(),
		path: bin + ":" + os.Getenv("PATH"), began: time.Now()}
	r.kubelet = &kubelet{t: t, kube: kube, images: images}
	t.Cleanup(r.kubelet.stop)
	return r
}

func (r *routeRun) phase(what string) { r.t.Logf("%5.1fs %s", time.Since(r.began).Seconds(), what) }

// sh runs a shell command line in dir as a platform engineer would, with kubectl and helm on
// the PATH and the API server as the current context.
func (r *routeRun) sh(dir, line string) {
	r.t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+r.path, "KUBECONFIG="+r.kube.Kubeconfig, "KUBECTL=kubectl")
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("%s (in %s): %v\n%s", line, dir, err, out)
	}
}

func (r *routeRun) run(route upgradeRoute) {
	t, ctx, k8s := r.t, context.Background(), r.kube.Client
	setUpPlatform(t, k8s, r.maria, "team-a", "team-b", "team-c")

	route.install(r)
	r.kubelet.sync()
	r.phase(fmt.Sprintf("%s installed the previous release; its operator runs", route.name))
	tenants := r.provision()
	r.phase(fmt.Sprintf("the previous release provisioned %d tenants", len(tenants)))

	secrets := managedSecrets(t, k8s)
	accounts := r.accounts(tenants)
	writes, err := r.maria.WriteCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}

	route.upgrade(r)
	r.kubelet.sync()
	r.kubelet.waitForSweeps(2)
	if got := scrape(t, r.kubelet.metrics, "db_concierge_build_info", map[string]string{"version": r.version}); got != 1 {
		t.Fatalf("after the upgrade the operator running is not %s", r.version)
	}
	r.phase("upgraded: the release's operator has swept the cluster twice")
	r.unchanged("after the upgrade", tenants, secrets, accounts, writes)

	// The new operator serves the tenants fully: a Delete-policy tenant goes, with its database.
	doomed := tenants[len(tenants)-1]
	if doomed.Spec.DeletionPolicy != dbv1.DeletionPolicyDelete {
		t.Fatalf("the last tenant %s has policy %q", doomed.Name, doomed.Spec.DeletionPolicy)
	}
	if err := k8s.Delete(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	stack.Eventually(t, "the deleted tenant's database to be dropped", func() error {
		var n int
		if err := r.root.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", doomed.Spec.DBName).Scan(&n); err != nil || n != 0 {
			return fmt.Errorf("%d databases %s (%w)", n, doomed.Spec.DBName, err)
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(doomed), &dbv1.AppDatabase{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the AppDatabase is still there (%w)", err)
		}
		return nil
	})
	// Its Secret stays, as Secrets always do, unchanged.
	tenants = tenants[:len(tenants)-1]
	if writes, err = r.maria.WriteCounters(ctx); err != nil {
		t.Fatal(err)
	}

	route.downgrade(r)
	r.kubelet.sync()
	r.kubelet.waitForSweeps(2)
	r.phase("downgraded: the previous release's operator has swept the cluster twice")
	r.unchanged("after the downgrade", tenants, secrets, accounts, writes)
}

// provision has the running (previous) operator make 50 tenants: 20 Retain and 20 Delete ones,
// 5 adopted in the platform namespace, 5 made by the previous release's CLI. The Delete ones
// come last.
func (r *routeRun) provision() []*dbv1.AppDatabase {
	t, ctx, k8s := r.t, context.Background(), r.kube.Client
	var tenants []*dbv1.AppDatabase
	add := func(namespace, name string, spec dbv1.AppDatabaseSpec, annotations map[string]string) {
		spec.ClusterRef = dbv1.DefaultClusterName
		db := &dbv1.AppDatabase{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: annotations}, Spec: spec}
		if err := k8s.Create(ctx, db); err != nil {
			t.Fatalf("creating %s/%s: %v", namespace, name, err)
		}
		tenants = append(tenants, db)
	}
	for i := range 20 {
		add("team-a", fmt.Sprintf("keep-%d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("keep_%d", i)}, nil)
	}
	for i := range 5 {
		name := fmt.Sprintf("adopted_%d", i)
		if _, err := r.root.Exec("CREATE DATABASE `" + name + "`"); err != nil {
			t.Fatal(err)
		}
		add(platformNS, "adopted-"+fmt.Sprint(i), dbv1.AppDatabaseSpec{DBName: name, AppNamespace: "team-a"},
			map[string]string{dbv1.AnnotationAdopt: "true"})
	}
	for i := range 5 {
		name := fmt.Sprintf("cli-%d", i)
		cmd := exec.Command(r.oldCLI, "--name", name, "--namespace", "team-c", "--no-wait")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+r.kube.Kubeconfig)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the previous release's CLI: %v\n%s", err, out)
		}
		var db dbv1.AppDatabase
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "team-c", Name: name}, &db); err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, &db)
	}
	for i := range 20 {
		add("team-b", fmt.Sprintf("drop-%d", i), dbv1.AppDatabaseSpec{DBName: fmt.Sprintf("drop_%d", i), DeletionPolicy: dbv1.DeletionPolicyDelete}, nil)
	}
	for i, db := range tenants {
		tenants[i] = stack.WaitForAppDatabase(t, k8s, client.ObjectKeyFromObject(db), dbv1.PhaseReady, dbv1.ReasonProvisioned)
	}
	return tenants
}

// accounts reads each tenant's account as MySQL holds it: password hash, limits, grants.
func (r *routeRun) accounts(tenants []*dbv1.AppDatabase) map[string]string {
	accounts := map[string]string{}
	for _, db := range tenants {
		user := db.Spec.EffectiveUserName()
		accounts[user] = accountPriv(r.t, r.root, user) + "\n" + strings.Join(grantsOf(r.t, r.root, user), "\n")
	}
	return accounts
}

// unchanged checks that every tenant is Ready, no Secret was rewritten, no account changed, and
// MySQL counted no write at all since writes were counted.
func (r *routeRun) unchanged(when string, tenants []*dbv1.AppDatabase, secrets map[string]*corev1.Secret, accounts map[string]string, writes map[string]int64) {
	t, ctx, k8s := r.t, context.Background(), r.kube.Client
	for _, db := range tenants {
		var got dbv1.AppDatabase
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(db), &got); err != nil {
			t.Fatal(err)
		}
		if !isReady(&got) {
			t.Errorf("%s, %s/%s is %s (%s)", when, db.Namespace, db.Name, got.Status.Phase, got.Status.Message)
		}
	}
	now := managedSecrets(t, k8s)
	if !slices.Equal(slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(secrets))) {
		t.Errorf("%s, the managed Secrets are %v; before, %v", when, slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(secrets)))
	}
	for key, s := range secrets {
		if a, ok := now[key]; ok && a.ResourceVersion != s.ResourceVersion {
			t.Errorf("%s, Secret %s was rewritten", when, key)
		}
	}
	for user, before := range r.accounts(tenants) {
		if before != accounts[user] {
			t.Errorf("%s, account %s changed:\n%s\nbefore:\n%s", when, user, redactPriv(before), redactPriv(accounts[user]))
		}
	}
	after, err := r.maria.WriteCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range after {
		if d := v - writes[name]; d != 0 {
			t.Errorf("%s, MySQL counted %d %s", when, d, name)
		}
	}
}

func readTreeFile(t *testing.T, tree, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tree, path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// kubelet stands in for the node: it runs the operator Deployment's container, as the binary
// built for its image, with the Deployment's arguments and environment and the token of its
// ServiceAccount, so the operator has exactly the RBAC the route installed. A new image is
// rolled out as a Deployment would: the new process starts, then the old one stops; leader
// election hands over.
type kubelet struct {
	t       *testing.T
	kube    *stack.Kube
	images  map[string]string // image reference → binary
	image   string
	running *stack.Operator
	log     *stack.LogBuffer
	metrics string
}

func (k *kubelet) sync() {
	t := k.t
	t.Helper()
	var list appsv1.DeploymentList
	if err := k.kube.Client.List(context.Background(), &list, client.InNamespace(platformNS)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d Deployments in %s, want the operator's alone", len(list.Items), platformNS)
	}
	d := list.Items[0]
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image == k.image {
		return
	}
	bin, ok := k.images[c.Image]
	if !ok {
		t.Fatalf("the Deployment runs image %q, which no route installs", c.Image)
	}
	kubeconfig, err := k.kube.ServiceAccountKubeconfig(context.Background(), d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
	if err != nil {
		t.Fatal(err)
	}
	port, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", port)
	// The Deployment's arguments, then what differs on a shared test machine: local ports, and
	// short periods so that the test need not wait minutes for a sweep.
	args := append(slices.Clone(c.Args), "--kubeconfig="+kubeconfig, "--metrics-bind-address="+metrics,
		"--health-probe-bind-address=0", "--resync-period=2s", "--cluster-check-interval=2s", "--conflict-recheck-period=2s")
	var env []string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+d.Namespace)
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		default:
			t.Fatalf("the Deployment's variable %s comes from somewhere the stand-in kubelet cannot read", e.Name)
		}
	}
	log := &stack.LogBuffer{}
	next, err := stack.StartOperator(bin, args, env, log)
	if err != nil {
		t.Fatal(err)
	}
	if k.running != nil {
		k.running.Stop()
	}
	k.running, k.image, k.log, k.metrics = next, c.Image, log, metrics
	t.Cleanup(func() {
		if t.Failed() {
			path := filepath.Join(os.TempDir(), "db-concierge-upgrade-"+strings.NewReplacer("/", "_", ":", "_").Replace(t.Name()+"-"+c.Image)+".log")
			if err := os.WriteFile(path, []byte(log.String()), 0o600); err == nil {
				t.Logf("the operator of %s logged to %s", c.Image, path)
			}
		}
	})
}

// waitForSweeps waits for n more completed drift sweeps of the default cluster by the running
// operator: once it has swept, it has compared every tenant with MySQL.
func (k *kubelet) waitForSweeps(n float64) {
	labels := map[string]string{"cluster": dbv1.DefaultClusterName, "result": "completed"}
	stack.Eventually(k.t, fmt.Sprintf("%v drift sweeps by the operator of %s", n, k.image), func() error {
		if _, err := stack.HTTPGet("http://" + k.metrics + "/metrics"); err != nil {
			return err
		}
		if got := scrape(k.t, k.metrics, "db_concierge_drift_sweeps_total", labels); got < n {
			return fmt.Errorf("%v completed sweeps", got)
		}
		return nil
	})
}

func (k *kubelet) stop() {
	if k.running != nil {
		k.running.Stop()
	}
}
