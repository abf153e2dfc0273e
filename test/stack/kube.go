package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	dbv1 "github.com/stillwaters/db-concierge/api/v1"
)

// Kube is a kube-apiserver and etcd started by envtest, with the project's CRDs installed.
type Kube struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	// Kubeconfig is a file granting cluster-admin, for the operator process and kubectl.
	Kubeconfig string
	// Kubectl is the kubectl built alongside the API server.
	Kubectl string

	dir string
}

// KubeOption changes how StartKube starts the control plane.
type KubeOption func(*envtest.Environment)

// WithoutCRDs starts an API server without the project's CRDs, as a cluster before installation.
func WithoutCRDs() KubeOption {
	return func(e *envtest.Environment) { e.CRDDirectoryPaths = nil }
}

// WithFastEtcd runs etcd without fsync, as on a fast disk: for benchmarks, where each API write
// would otherwise wait for this machine's disk, hiding the cost that is being measured.
func WithFastEtcd() KubeOption {
	return func(e *envtest.Environment) {
		if e.ControlPlane.Etcd == nil {
			e.ControlPlane.Etcd = &envtest.Etcd{}
		}
		e.ControlPlane.Etcd.Configure().Set("unsafe-no-fsync", "true")
	}
}

// StartKube starts the control plane from the binaries in $KUBEBUILDER_ASSETS (hack/kube-assets.sh
// builds them) and installs crds/.
func StartKube(opts ...KubeOption) (*Kube, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, or export KUBEBUILDER_ASSETS=$(hack/kube-assets.sh)")
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := dbv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	// envtest logs through controller-runtime's logger; tests read the API server, not its chatter.
	logf.SetLogger(logr.Discard())
	k := &Kube{
		Scheme:  scheme,
		Kubectl: filepath.Join(assets, "kubectl"),
		Env: &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "crds")},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: assets,
			Scheme:                scheme,
		},
	}
	for _, o := range opts {
		o(k.Env)
	}
	cfg, err := k.Env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	k.Config = cfg
	if k.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		k.Stop()
		return nil, err
	}
	if k.dir, err = os.MkdirTemp("", "db-concierge-kube-"); err != nil {
		k.Stop()
		return nil, err
	}
	admin, err := k.Env.AddUser(envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		k.Stop()
		return nil, err
	}
	if k.Kubeconfig, err = writeKubeconfig(k.dir, "admin", admin); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}

func writeKubeconfig(dir, name string, user *envtest.AuthenticatedUser) (string, error) {
	b, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".kubeconfig")
	return path, os.WriteFile(path, b, 0o600)
}

// Stop stops the API server and etcd and removes their files.
func (k *Kube) Stop() {
	_ = k.Env.Stop()
	if k.dir != "" {
		_ = os.RemoveAll(k.dir)
	}
}

// User is an identity on the test API server, with a client and a kubeconfig file for it.
type User struct {
	Client     client.Client
	Kubeconfig string
}

// AddUser creates a client-certificate identity with the given name and groups; RBAC decides what
// it may do.
func (k *Kube) AddUser(name string, groups ...string) (*User, error) {
	u, err := k.Env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	c, err := client.New(u.Config(), client.Options{Scheme: k.Scheme})
	if err != nil {
		return nil, err
	}
	path, err := writeKubeconfig(k.dir, safeFileName(name), u)
	if err != nil {
		return nil, err
	}
	return &User{Client: c, Kubeconfig: path}, nil
}

// ServiceAccountKubeconfig requests a token for a ServiceAccount, as a pod would get one, and
// writes a kubeconfig that authenticates with it.
func (k *Kube) ServiceAccountKubeconfig(ctx context.Context, namespace, name string) (string, error) {
	clientset, err := kubernetes.NewForConfig(k.Config)
	if err != nil {
		return "", err
	}
	expiry := int64(3600)
	tr, err := clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: k.Config.Host, CertificateAuthorityData: k.Config.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name}
	cfg.CurrentContext = "test"
	path := filepath.Join(k.dir, "sa-"+safeFileName(namespace+"-"+name)+".kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '@' || r == ':' {
			return '-'
		}
		return r
	}, s)
}
