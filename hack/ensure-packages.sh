#!/usr/bin/env bash
# Makes sure the Debian packages that the tests and the demo use are installed: MariaDB (server
# and client, and the cracklib password check with its dictionary), Galera, shellcheck, and the
# client libraries applications read their Secrets with (MariaDB Connector/J with a JDK, Node.js,
# PyMySQL, SQLAlchemy, python-dotenv). As root it installs what is missing with apt-get, without letting the
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
have javac || missing+=(default-jdk-headless)
[[ -e /usr/share/java/mariadb-java-client.jar ]] || missing+=(libmariadb-java)
have node || missing+=(nodejs)
have npm || missing+=(npm)
for module in pymysql:python3-pymysql sqlalchemy:python3-sqlalchemy dotenv:python3-dotenv; do
	/usr/bin/python3 -c "import ${module%%:*}" 2>/dev/null || missing+=("${module#*:}")
done

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
