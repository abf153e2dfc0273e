package stack

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

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

// StartKube starts the control plane from the binaries in $KUBEBUILDER_ASSETS (hack/kube-assets.sh
// builds them) and installs crds/.
func StartKube() (*Kube, error) {
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
