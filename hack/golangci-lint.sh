#!/usr/bin/env bash
# Runs golangci-lint with the given arguments, building it first from the Go module proxy if this
# version has not been built on this machine yet.
#
# The version and every dependency are pinned in hack/lint-tools/go.mod, a module of its own so the
# linter's dependency graph never reaches the operator's go.mod. The binary lives outside the
# checkout, keyed by that version, so a fresh clone (CI) reuses it; a cold build takes a minute
# or two on two cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools="$here/lint-tools"
pkg=github.com/golangci/golangci-lint/v2
version=$(sed -nE 's/^[[:space:]]*(require[[:space:]]+)?github\.com\/golangci\/golangci-lint\/v2[[:space:]]+(v[0-9.]+).*/\2/p' "$tools/go.mod")
[[ -n "$version" ]] || { echo "cannot read the $pkg version from $tools/go.mod" >&2; exit 1; }
dir="${DB_CONCIERGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/db-concierge}/golangci-lint-$version"

if [[ ! -x "$dir/golangci-lint" ]]; then
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "Building golangci-lint $version into $dir (first run only, takes a minute or two)..." >&2
	start=$SECONDS
	# Built inside the tools module, the binary cannot read its own version from the module
	# information, so it is stamped in; a date stops it from overwriting the stamp.
	(
		cd "$tools"
		CGO_ENABLED=0 go build -trimpath \
			-ldflags="-s -X main.version=${version#v} -X main.date=unknown" \
			-o "$tmp/golangci-lint" "$pkg/cmd/golangci-lint"
	) >&2
	mv "$tmp/golangci-lint" "$dir/golangci-lint"
	# exec below would skip the EXIT trap, so the emptied build folder goes now.
	rmdir "$tmp"
	trap - EXIT
	echo "Built in $((SECONDS - start))s." >&2
fi
exec "$dir/golangci-lint" "$@"
