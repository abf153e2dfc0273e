#!/usr/bin/env bash
# Prints the node_modules folder holding the npm packages that test/clients runs application
# Secrets through (test/clients/node/package.json), installing them from the npm registry first if
# this set has not been installed on this machine yet. They live outside the checkout, keyed by
# the package list, so a fresh clone reuses them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
manifest="$here/../test/clients/node/package.json"
key=$(sha256sum "$manifest" | cut -c1-16)
dir="${DB_CONCIERGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/db-concierge}/node-clients-$key"

if [[ -f "$dir/.complete" ]]; then
	echo "$dir/node_modules"
	exit 0
fi
command -v npm >/dev/null || { echo "npm is not installed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$dir"
cp "$manifest" "$dir/package.json"
echo "Installing the npm client packages into $dir (first run only)..." >&2
(cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) >&2
touch "$dir/.complete"
echo "$dir/node_modules"
