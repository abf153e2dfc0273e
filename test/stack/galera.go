package stack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// galeraProvider is where Debian's galera-4 package puts the replication library.
	galeraProvider = "/usr/lib/galera/libgalera_smm.so"
	// galeraStartTimeout bounds StartGalera. A 3-node start takes 8-9 s on an idle 2-core machine
	// and about 15 s with its CPUs oversubscribed; the rest is headroom.
	galeraStartTimeout = 3 * time.Minute
	// galeraStopGrace is how long a node may take to leave the cluster on SIGTERM before it is
	// killed; its data is thrown away either way.
	galeraStopGrace = 20 * time.Second
)

// Galera is a MariaDB Galera cluster of throwaway nodes on 127.0.0.1.
type Galera struct {
	Nodes []*GaleraNode
	Dir   string // parent of the nodes' directories; removed by Close
	// StartupTime is how long StartGalera took until every node was Synced.
	StartupTime time.Duration

	cred *syscall.Credential
}

// GaleraNode is one mariadbd of a Galera cluster.
type GaleraNode struct {
	Name string
	Port int // SQL port on 127.0.0.1

	// galeraPort carries group communication, istPort incremental state transfers (the
	// write-sets a node missed) and sstPort full state transfers (rsync of the data directory).
	galeraPort, istPort, sstPort int
	dir                          string
	cred                         *syscall.Credential
	cmd                          *exec.Cmd
	done                         chan struct{}
}

// StartGalera starts a cluster of nodes (at least one) and returns once every node is Synced in a
// cluster of that size. root (password empty) can log in over TCP from 127.0.0.1 on every node.
//
// The first node bootstraps the cluster from a freshly initialised data directory; each other node
// starts on an empty one and receives the data in a full state transfer. On failure it stops what
// it started and the error ends with the tail of the failing node's error log.
func StartGalera(nodes int) (*Galera, error) {
	if nodes < 1 {
		return nil, fmt.Errorf("a Galera cluster needs at least one node, not %d", nodes)
	}
	install, err := lookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	bin, err := lookPath("mariadbd")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(galeraProvider); err != nil {
		return nil, fmt.Errorf("Galera provider missing (install Debian's galera-4): %w", err)
	}
	// Joiners receive their data through the wsrep_sst_rsync script, which needs rsync.
	if _, err := exec.LookPath("rsync"); err != nil {
		return nil, fmt.Errorf("rsync is needed for Galera state transfers: %w", err)
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), galeraStartTimeout)
	defer cancel()

	g := &Galera{}
	if g.Dir, g.cred, err = serverTempDir("db-concierge-galera-"); err != nil {
		return nil, err
	}
	if err := g.prepare(nodes, install); err != nil {
		g.Close()
		return nil, err
	}
	if err := g.start(ctx, bin); err != nil {
		g.Close()
		return nil, err
	}
	g.StartupTime = time.Since(began)
	return g, nil
}

// prepare gives every node its ports and directories, and initialises the first node's data
// directory. The others' stay empty: a joiner replaces its whole data directory in the state
// transfer anyway (rsync runs before the storage engines start), so neither running
// mariadb-install-db for it nor copying the first node's data made the start any faster.
//
// Each node, and mariadb-install-db, gets its own tmpdir: a starting mariadbd deletes every #sql*
// file in its tmpdir, which in the shared /tmp includes the temporary tables of any other server
// or mariadb-install-db running at the time (seen as "Unknown table 'mysql.tmp_user_sys'" when
// two test processes started clusters at once).
func (g *Galera) prepare(nodes int, install string) error {
	ports, err := freePorts(4 * nodes)
	if err != nil {
		return err
	}
	for i := range nodes {
		n := &GaleraNode{
			Name: "n" + itoa(i+1),
			Port: ports[4*i], galeraPort: ports[4*i+1], istPort: ports[4*i+2], sstPort: ports[4*i+3],
			dir:  filepath.Join(g.Dir, "n"+itoa(i+1)),
			cred: g.cred,
		}
		for _, dir := range []string{n.dir, n.dataDir(), n.tmpDir()} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			if err := chownTo(dir, g.cred); err != nil {
				return err
			}
		}
		g.Nodes = append(g.Nodes, n)
	}
	first := g.Nodes[0]
	return installDB(install, first.dataDir(), g.cred, "--tmpdir="+first.tmpDir())
}

// start bootstraps the cluster on the first node, then starts each other node as soon as the
// previous one is a member, and waits until all are Synced.
//
// Starting the joiners at the same moment was slower (12-15 s for 3 nodes instead of 7-9 s): the
// group admits only one of two simultaneous newcomers and the other retries for about 5 s. One at
// a time loses nothing, since the first node donates each full state transfer in turn anyway.
func (g *Galera) start(ctx context.Context, bin string) error {
	first := g.Nodes[0]
	if err := first.start(bin, g.clusterName(), g.clusterAddress(), true); err != nil {
		return err
	}
	if culprit, err := g.waitSize(ctx, 1, g.Nodes[:1]); err != nil {
		return startError(culprit, err)
	}
	for i, n := range g.Nodes[1:] {
		if err := n.start(bin, g.clusterName(), g.clusterAddress(), false); err != nil {
			return err
		}
		members := i + 2
		if culprit, err := g.poll(ctx, first, g.Nodes[:members], fmt.Sprintf("%s to become a member", n.Name),
			func(size int, _ string) bool { return size >= members }); err != nil {
			return startError(culprit, err)
		}
	}
	if culprit, err := g.waitSize(ctx, len(g.Nodes), g.Nodes); err != nil {
		return startError(culprit, err)
	}
	return nil
}

func startError(n *GaleraNode, err error) error {
	if n == nil {
		return fmt.Errorf("starting Galera: %w", err)
	}
	return fmt.Errorf("starting Galera: %w\n%s error log (%s):\n%s", err, n.Name, n.errorLogPath(), logTail(n.errorLogPath()))
}

// clusterName is unique to this cluster, so a node can never join another test's cluster even if
// a port were reused.
func (g *Galera) clusterName() string { return filepath.Base(g.Dir) }

// clusterAddress lists every node's group communication address: a node joins whichever of them
// is up.
func (g *Galera) clusterAddress() string {
	addrs := make([]string, len(g.Nodes))
	for i, n := range g.Nodes {
		addrs[i] = "127.0.0.1:" + itoa(n.galeraPort)
	}
	return "gcomm://" + strings.Join(addrs, ",")
}

func (n *GaleraNode) dataDir() string { return filepath.Join(n.dir, "data") }
func (n *GaleraNode) tmpDir() string  { return filepath.Join(n.dir, "tmp") }

// errorLogPath is where the node, and the state-transfer scripts it runs, report.
func (n *GaleraNode) errorLogPath() string { return filepath.Join(n.dir, "error.log") }

// start starts mariadbd on the node's data directory without waiting for it; bootstrap makes it
// found a new cluster instead of joining one.
func (n *GaleraNode) start(bin, cluster, address string, bootstrap bool) error {
	args := append(mariadbdArgs(n.dir, n.dataDir(), n.Port), "--tmpdir="+n.tmpDir(),
		// Galera replicates InnoDB row events only and needs interleaved auto-increment locks.
		"--binlog-format=ROW", "--default-storage-engine=InnoDB", "--innodb-autoinc-lock-mode=2",
		"--wsrep-on=ON", "--wsrep-provider="+galeraProvider,
		// As strict as Percona XtraDB Cluster's pxc_strict_mode=ENFORCING: tables without a
		// primary key, and statements that would not replicate, are refused.
		"--wsrep-mode=REQUIRED_PRIMARY_KEY,STRICT_REPLICATION",
		"--wsrep-cluster-name="+cluster, "--wsrep-cluster-address="+address,
		"--wsrep-node-name="+n.Name,
		"--wsrep-node-address=127.0.0.1:"+itoa(n.galeraPort),
		"--wsrep-node-incoming-address=127.0.0.1:"+itoa(n.Port),
		// rsync works as the mysql user without credentials. As root it fails: the joiner's
		// rsync daemon drops to nobody, who may not write the data directory.
		"--wsrep-sst-method=rsync",
		"--wsrep-sst-receive-address=127.0.0.1:"+itoa(n.sstPort),
		// Every listener on its own 127.0.0.1 port; the short timeouts make the survivors give
		// up on a killed node in seconds rather than the default 5 s + 15 s.
		"--wsrep-provider-options="+strings.Join([]string{
			"gmcast.listen_addr=tcp://127.0.0.1:" + itoa(n.galeraPort),
			"ist.recv_addr=127.0.0.1:" + itoa(n.istPort),
			"gcache.size=32M",
			"evs.suspect_timeout=PT3S",
			"evs.inactive_timeout=PT6S",
		}, ";"))
	if bootstrap {
		args = append(args, "--wsrep-new-cluster")
	}
	log, err := os.Create(filepath.Join(n.dir, "stdout.log"))
	if err != nil {
		return err
	}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = log, log
	// Its own process group (pgid == PID) also holds the state-transfer scripts and rsync it
	// spawns, so Kill and Close can stop those with it.
	n.cmd.SysProcAttr = dieWithParent(n.cred)
	if err := n.cmd.Start(); err != nil {
		_ = log.Close()
		n.cmd = nil
		return fmt.Errorf("starting mariadbd for Galera node %s: %w", n.Name, err)
	}
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); _ = log.Close(); close(done) }(n.cmd, n.done)
	return nil
}

// Alive reports whether the node's mariadbd is running (it may not be Synced yet).
func (n *GaleraNode) Alive() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Connect opens a pool for user on this node.
func (n *GaleraNode) Connect(user, password, database string) (*sql.DB, error) {
	return openDB(tcpConfig(n.Port, user, password, database))
}

// RootDB opens a pool for the node's root account.
func (n *GaleraNode) RootDB() (*sql.DB, error) { return n.Connect("root", "", "") }

// wsrepState reads the cluster size the node sees and its own state (Synced once it can serve).
func (n *GaleraNode) wsrepState(ctx context.Context, db *sql.DB) (size int, state string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx,
		"SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_local_state_comment')")
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return 0, "", err
		}
		switch strings.ToLower(name) {
		case "wsrep_cluster_size":
			_, _ = fmt.Sscan(value, &size)
		case "wsrep_local_state_comment":
			state = value
		}
	}
	return size, state, rows.Err()
}

// WaitSize waits until every live node reports wsrep_cluster_size == size and
// wsrep_local_state_comment == Synced.
func (g *Galera) WaitSize(ctx context.Context, size int) error {
	_, err := g.waitSize(ctx, size, nil)
	return err
}

// waitSize is WaitSize that also fails as soon as one of watched exits, and names the node it
// waited for last (or the one that exited).
func (g *Galera) waitSize(ctx context.Context, size int, watched []*GaleraNode) (*GaleraNode, error) {
	return g.poll(ctx, nil, watched, fmt.Sprintf("%d Synced nodes", size),
		func(got int, state string) bool { return got == size && state == "Synced" })
}

// poll waits until ok accepts the cluster size and state that polled reports (every live node if
// polled is nil), and fails as soon as one of watched exits. It returns the node it waited for
// last, or the one that exited.
func (g *Galera) poll(ctx context.Context, polled *GaleraNode, watched []*GaleraNode, what string,
	ok func(size int, state string) bool) (*GaleraNode, error) {
	nodes := g.Nodes
	if polled != nil {
		nodes = []*GaleraNode{polled}
	}
	pools := map[*GaleraNode]*sql.DB{}
	defer func() {
		for _, db := range pools {
			db.Close()
		}
	}()
	for {
		for _, n := range watched {
			if !n.Alive() {
				return n, fmt.Errorf("waiting for %s: node %s exited (%v)", what, n.Name, n.cmd.ProcessState)
			}
		}
		culprit, last := checkNodes(ctx, nodes, pools, ok)
		if culprit == nil {
			return nil, last
		}
		select {
		case <-ctx.Done():
			return culprit, fmt.Errorf("waiting for %s: %w; last: %w", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkNodes returns the first live node among nodes whose state ok rejects, or that cannot tell,
// with the reason; with none it returns an error only if no node is live.
func checkNodes(ctx context.Context, nodes []*GaleraNode, pools map[*GaleraNode]*sql.DB,
	ok func(size int, state string) bool) (*GaleraNode, error) {
	live := 0
	for _, n := range nodes {
		if !n.Alive() {
			continue
		}
		live++
		db := pools[n]
		if db == nil {
			var err error
			if db, err = n.RootDB(); err != nil {
				return nil, err
			}
			pools[n] = db
		}
		size, state, err := n.wsrepState(ctx, db)
		if err == nil && !ok(size, state) {
			err = fmt.Errorf("cluster size %d, state %q", size, state)
		}
		if err != nil {
			return n, fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	if live == 0 {
		return nil, errors.New("no Galera node is running")
	}
	return nil, nil
}

// CreateAdmin creates an account with every privilege and GRANT OPTION through the first live
// node; Galera replicates it to the others.
func (g *Galera) CreateAdmin(ctx context.Context, user, password string) error {
	for _, n := range g.Nodes {
		if !n.Alive() {
			continue
		}
		db, err := n.RootDB()
		if err != nil {
			return err
		}
		defer db.Close() //nolint:revive // the loop returns at its first live node: this defers once
		return createAdmin(ctx, db, user, password)
	}
	return errors.New("creating admin account: no Galera node is running")
}

// Kill stops node i with SIGKILL, as a lost machine would, and waits for it to exit. The survivors
// notice within the evs timeouts (3–6 s), during which writes block.
func (g *Galera) Kill(i int) {
	n := g.Nodes[i]
	if !n.Alive() {
		return
	}
	n.killGroup()
	<-n.done
}

// killGroup sends SIGKILL to the node's process group: mariadbd and any state-transfer script or
// rsync it started, which would otherwise linger and hold ports and files. Callers make sure the
// node has not been reaped yet, so its PID still names this group.
func (n *GaleraNode) killGroup() {
	if err := syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = n.cmd.Process.Kill()
	}
}

// stop asks the node to leave the cluster and shut down, and kills it after the grace period.
func (n *GaleraNode) stop(grace time.Duration) {
	if !n.Alive() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(grace):
		n.killGroup()
		<-n.done
	}
}

// Close stops every node and removes Dir. The nodes stop one after another, last first: each then
// leaves a cluster that acknowledges it in milliseconds, while nodes leaving together each wait
// evs.suspect_timeout for the others (3 s instead of 0.3 s for three nodes).
func (g *Galera) Close() {
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		g.Nodes[i].stop(galeraStopGrace)
	}
	if g.Dir != "" {
		_ = os.RemoveAll(g.Dir)
	}
}

// freePorts returns n distinct ports on 127.0.0.1 that nothing listens on right now. Unlike n
// calls of FreePort it holds every port until all are found, so none is handed out twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close() //nolint:revive // every port stays held until all are found, so none repeats
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
