#!/usr/bin/env bash
# Runs helm, building it first from the Go module proxy if this version has not been built on this
# machine yet. The binary lives outside the checkout, keyed by version, so a fresh clone reuses it.
set -euo pipefail
version=v4.3.1
dir="${DB_CONCIERGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/db-concierge}/helm-$version"
if [[ ! -x $dir/helm ]]; then
	echo "Building helm $version into $dir (first run only, takes a few minutes)..." >&2
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	GOBIN=$tmp CGO_ENABLED=0 go install -trimpath -ldflags=-s "helm.sh/helm/v4/cmd/helm@$version" >&2
	mv "$tmp/helm" "$dir/helm"
fi
exec "$dir/helm" "$@"
