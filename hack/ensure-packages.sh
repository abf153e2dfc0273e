#!/usr/bin/env bash
# Makes sure the Debian packages that the tests and the demo use are installed: MariaDB (server
# and client, and the cracklib password check with its dictionary), Galera, and shellcheck. As root it installs what is missing with apt-get, without letting the
# packages start system services (the tests start their own throwaway servers); otherwise it says
# what to install.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }
have mariadbd || missing+=(mariadb-server)
have mariadb || missing+=(mariadb-client)
[[ -e /usr/lib/galera/libgalera_smm.so ]] || missing+=(galera-4)
[[ -e /usr/lib/mysql/plugin/cracklib_password_check.so ]] || missing+=(mariadb-plugin-cracklib-password-check)
have cracklib-check || missing+=(cracklib-runtime)
have rsync || missing+=(rsync)
have shellcheck || missing+=(shellcheck)

if ((${#missing[@]} == 0)); then
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "Missing Debian packages: ${missing[*]}" >&2
	echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "Installing Debian packages: ${missing[*]}" >&2
# policy-rc.d answering 101 stops maintainer scripts from starting a system mariadb on port 3306.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod +x "$policy"
	created_policy=true
fi
trap '$created_policy && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
