#!/usr/bin/env bash
# Prints the folder holding kube-apiserver, etcd and kubectl for envtest, building them from the
# Go module proxy first if this version has not been built on this machine yet.
#
# The binaries live outside the checkout, keyed by the Kubernetes version pinned in
# hack/kube-tools/go.mod, so a fresh clone (CI) reuses them. A cold build takes several minutes
# and about 2 GB of memory; a warm one is a cache hit and returns at once.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools="$here/kube-tools"
version=$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?k8s\.io\/kubernetes[[:space:]]+v([0-9.]+).*/\2/p' "$tools/go.mod")
[[ -n "$version" ]] || { echo "cannot read the k8s.io/kubernetes version from $tools/go.mod" >&2; exit 1; }
# The suffix is the build recipe's: a binary built by an earlier recipe is not reused.
recipe=2
dir="${DB_CONCIERGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/db-concierge}/k8s-$version-$recipe"

if [[ -x "$dir/kube-apiserver" && -x "$dir/etcd" && -x "$dir/kubectl" ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "Building Kubernetes $version test binaries into $dir (first run only, takes several minutes)..." >&2
start=$SECONDS
(
	cd "$tools"
	export CGO_ENABLED=0
	# Stamped as a release build is, so that the API server reports its version: Helm checks a
	# chart's kubeVersion against it, and v0.0.0-master satisfies no minimum.
	minor=${version#*.}
	minor=${minor%%.*}
	stamp=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		stamp+=" -X $pkg.gitVersion=v$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	go build -trimpath -ldflags="-s$stamp" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
	go build -trimpath -ldflags="-s$stamp" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
	go build -trimpath -ldflags=-s -o "$tmp/etcd" go.etcd.io/etcd/server/v3
) >&2
mv "$tmp"/kube-apiserver "$tmp"/kubectl "$tmp"/etcd "$dir"/
echo "Built in $((SECONDS - start))s." >&2
echo "$dir"
