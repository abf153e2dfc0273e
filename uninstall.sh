#!/usr/bin/env bash
# Removes DB Concierge from the cluster of the current kubectl context. It never touches MySQL:
# databases, users and grants stay as they are, and so do the applications' credential Secrets
# (unless --delete-app-secrets).
#
# Order matters: the operator is stopped first, then the deletion finalizers are removed from every
# AppDatabase, and only then are the CRD and the namespace removed. So no deletionPolicy: Delete
# finalizer can drop a database on the way out, and nothing hangs on a finalizer no one handles.
set -euo pipefail

readonly namespace=db-concierge
readonly finalizer=db.stillwaters.io/drop-database
readonly crd=appdatabases.db.stillwaters.io
KUBECTL=${KUBECTL:-kubectl}

yes=false
dry_run=false
delete_admin_secret=${DELETE_ADMIN_SECRET:-}
delete_namespace=${DELETE_NAMESPACE:-}
delete_crd=${DELETE_CRD:-}
delete_app_secrets=${DELETE_APP_SECRETS:-no}

usage() {
	cat <<'EOF_USAGE'
Usage: ./uninstall.sh [options]

Removes the operator, its RBAC, admission policy and Service. Asks before removing the admin
Secret, the namespace and the CRD. MySQL is never touched.

  -y, --yes               non-interactive: answer yes to the questions not answered by a flag
      --dry-run           print the commands that would change something; change nothing
      --keep-secrets      keep the admin Secret        (DELETE_ADMIN_SECRET=no)
      --keep-namespace    keep the db-concierge namespace (DELETE_NAMESPACE=no)
      --keep-crd          keep the CRD and so every AppDatabase (DELETE_CRD=no)
      --delete-app-secrets  also delete the applications' credential Secrets; applications that
                          still run lose their credentials (DELETE_APP_SECRETS=yes; never by --yes)
  -h, --help              this help
EOF_USAGE
}

die() {
	echo "uninstall.sh: $*" >&2
	exit 1
}

# shellcheck disable=SC2034 # some of these are only read through the confirm nameref
while (($#)); do
	case $1 in
	-y | --yes) yes=true ;;
	--dry-run) dry_run=true ;;
	--keep-secrets) delete_admin_secret=no ;;
	--keep-namespace) delete_namespace=no ;;
	--keep-crd) delete_crd=no ;;
	--delete-app-secrets) delete_app_secrets=yes ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

step() { printf '\n==> %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
run() {
	show "$@"
	$dry_run || "$@"
}

# confirm VAR QUESTION: answers a yes/no question into VAR (yes with --yes).
confirm() {
	local -n answer=$1
	local reply
	if [[ -z $answer ]]; then
		if $yes; then
			answer=yes
		elif [[ ! -t 0 ]]; then
			answer=no
		else
			read -r -p "$2 [y/N]: " reply
			case ${reply,,} in y | yes) answer=yes ;; *) answer=no ;; esac
		fi
	fi
	[[ $answer == yes ]]
}

command -v "$KUBECTL" >/dev/null || die "kubectl not found (set KUBECTL to its path)"
echo "DB Concierge uninstaller — context: $("$KUBECTL" config current-context 2>/dev/null || echo '(none)')"
echo "MySQL databases, users and grants are not touched."
$dry_run && echo "(dry run: nothing is changed)"

step "Stopping the operator"
run "$KUBECTL" delete deployment db-concierge-operator -n "$namespace" --ignore-not-found --wait=true
if ! $dry_run; then
	"$KUBECTL" wait --for=delete pod -l app.kubernetes.io/name=db-concierge-operator -n "$namespace" --timeout=120s 2>/dev/null || true
fi

crd_present=false
if "$KUBECTL" get crd "$crd" >/dev/null 2>&1; then
	crd_present=true
fi

step "Removing the deletion finalizer from every AppDatabase (nothing will be dropped)"
if $crd_present; then
	while read -r ns name finalizers; do
		[[ -n $name ]] || continue
		remaining=()
		found=false
		for f in $finalizers; do
			if [[ $f == "$finalizer" ]]; then found=true; else remaining+=("\"$f\""); fi
		done
		$found || continue
		patch="{\"metadata\":{\"finalizers\":[$(IFS=,; echo "${remaining[*]}")]}}"
		run "$KUBECTL" patch appdatabase "$name" -n "$ns" --type=merge -p "$patch"
	done < <("$KUBECTL" get appdatabases -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{" "}{.metadata.finalizers[*]}{"\n"}{end}')
else
	echo "No AppDatabase CRD: nothing to do."
fi

step "Removing the admission policy, Service and RBAC"
run "$KUBECTL" delete validatingadmissionpolicybinding appdatabase-namespace-rule.db.stillwaters.io --ignore-not-found
run "$KUBECTL" delete validatingadmissionpolicy appdatabase-namespace-rule.db.stillwaters.io --ignore-not-found
run "$KUBECTL" delete service db-concierge-operator -n "$namespace" --ignore-not-found
run "$KUBECTL" delete rolebinding,role db-concierge-operator -n "$namespace" --ignore-not-found
run "$KUBECTL" delete clusterrolebinding,clusterrole db-concierge-operator --ignore-not-found
run "$KUBECTL" delete serviceaccount db-concierge-operator -n "$namespace" --ignore-not-found
# Developer access: the ClusterRole of dev-rbac.yaml and the RoleBindings install.sh made for it.
run "$KUBECTL" delete rolebinding -A -l app.kubernetes.io/part-of=db-concierge --ignore-not-found
run "$KUBECTL" delete clusterrole appdatabase-creator --ignore-not-found

step "Secrets"
if confirm delete_admin_secret "Delete the MySQL admin Secret $namespace/db-concierge-mysql-admin?"; then
	run "$KUBECTL" delete secret db-concierge-mysql-admin -n "$namespace" --ignore-not-found
fi
if [[ $delete_app_secrets == yes ]]; then
	echo "Deleting the applications' credential Secrets: applications that still use them lose their credentials."
	run "$KUBECTL" delete secret -A -l app.kubernetes.io/managed-by=db-concierge-operator --ignore-not-found
else
	echo "Application credential Secrets are kept (kubectl get secrets -A -l app.kubernetes.io/managed-by=db-concierge-operator)."
fi

step "CRDs"
if $crd_present && confirm delete_crd "Delete the AppDatabase and MySQLCluster CRDs? This deletes every AppDatabase and MySQLCluster object (the databases stay in MySQL)."; then
	run "$KUBECTL" delete crd "$crd" mysqlclusters.db.stillwaters.io --ignore-not-found --wait=true
fi

step "Namespace"
if confirm delete_namespace "Delete namespace $namespace?"; then
	run "$KUBECTL" delete namespace "$namespace" --ignore-not-found --wait=false
fi

echo
echo "DB Concierge is uninstalled$($dry_run && echo " (dry run)"). MySQL was not touched."
