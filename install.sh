#!/usr/bin/env bash
# Installs DB Concierge into the cluster of the current kubectl context:
#   1. the AppDatabase and MySQLCluster CRDs
#   2. the db-concierge namespace, RBAC, the namespace admission policy and the metrics Service
#   3. the MySQL admin Secret, from prompts (the password is read without echo)
#   4. the operator image: built and pushed to ECR (EKS), Artifact Registry (GKE), loaded into
#      kind or minikube, pushed to any registry, or skipped when already pushed
#   5. the operator Deployment
#   6. optionally, developer access (deploy/dev-rbac.yaml) for one namespace
#
# Every prompt has a flag and an environment variable; --yes answers the rest with defaults, for
# scripts and CI. --dry-run prints every command that changes something instead of running it.
# Run ./install.sh --help for the options.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly here
readonly namespace=db-concierge
readonly admin_secret=db-concierge-mysql-admin
readonly image_name=db-concierge-operator
# The release this checkout is: deploy/deployment.yaml runs its published image.
readonly release_version=v0.2.0
readonly released_image=ghcr.io/stillwaters/db-concierge-operator:$release_version
KUBECTL=${KUBECTL:-kubectl}

yes=false
dry_run=false
admin_host=${MYSQL_ADMIN_HOST:-}
admin_port=${MYSQL_ADMIN_PORT:-}
admin_user=${MYSQL_ADMIN_USER:-}
admin_password=${MYSQL_ADMIN_PASSWORD:-}
cluster_name=${MYSQL_CLUSTER_NAME:-}
app_host=${MYSQL_APP_HOST:-}
app_port=${MYSQL_APP_PORT:-}
keep_admin_secret=${KEEP_ADMIN_SECRET:-}
registry=${IMAGE_REGISTRY:-}
image=${IMAGE:-}
tag=${IMAGE_TAG:-}
aws_region=${AWS_REGION:-}
gcp_project=${GCP_PROJECT:-}
gcp_region=${GCP_REGION:-}
ar_repository=${AR_REPOSITORY:-db-concierge}
kind_cluster=${KIND_CLUSTER_NAME:-}
minikube_profile=${MINIKUBE_PROFILE:-}
buildspec=${WRITE_BUILDSPEC:-}
buildspec_file=${BUILDSPEC_FILE:-$here/buildspec.yml}
dev_rbac=${DEV_RBAC:-}
dev_namespace=${DEV_NAMESPACE:-}
dev_group=${DEV_GROUP:-}
dev_user=${DEV_USER:-}

usage() {
	cat <<EOF
Usage: ./install.sh [options]

Installs DB Concierge into the cluster of the current kubectl context. Anything not given as a
flag or environment variable is asked for; with --yes, defaults are taken instead.

General:
  -y, --yes                    non-interactive: take defaults for everything not given
      --dry-run                print the commands that would change something; change nothing
  -h, --help                   this help

MySQL admin Secret (db-concierge/db-concierge-mysql-admin):
      --admin-host HOST        MYSQL_ADMIN_HOST      e.g. cluster1-haproxy.default.svc.cluster.local
      --admin-port PORT        MYSQL_ADMIN_PORT      default 3306
      --admin-user USER        MYSQL_ADMIN_USER      default root
      --admin-password PASS    MYSQL_ADMIN_PASSWORD  (prefer the variable: flags show in ps)
      --cluster-name NAME      MYSQL_CLUSTER_NAME    the clusterRef AppDatabases use; default cluster1-haproxy
      --app-host HOST          MYSQL_APP_HOST        host written into app Secrets; default the admin host
      --app-port PORT          MYSQL_APP_PORT        port written into app Secrets; default the admin port
      --keep-admin-secret      KEEP_ADMIN_SECRET=yes leave an existing admin Secret as it is

Operator image:
      --registry KIND          IMAGE_REGISTRY: release | ecr | artifact-registry | kind | minikube | other | skip
                               release runs the published image $released_image;
                               the others build this checkout with docker
      --image REF              IMAGE: the full image reference (other, skip)
      --tag TAG                IMAGE_TAG for a build; default the checkout's commit, plus a hash of
                               uncommitted changes, so that each different build rolls the Deployment
      --aws-region REGION      AWS_REGION (ecr); default: aws configure get region
      --gcp-project PROJECT    GCP_PROJECT (artifact-registry); default: gcloud config get-value project
      --gcp-region REGION      GCP_REGION (artifact-registry); default us-central1
      --ar-repository NAME     AR_REPOSITORY (artifact-registry); default db-concierge
      --kind-cluster NAME      KIND_CLUSTER_NAME (kind); default: NAME of a kind-NAME context, else kind
      --minikube-profile NAME  MINIKUBE_PROFILE (minikube); default minikube
      --buildspec              WRITE_BUILDSPEC=yes: write buildspec.yml for AWS CodeBuild (ecr)
      --buildspec-file PATH    BUILDSPEC_FILE: where to write it; default buildspec.yml here

Developer access:
      --dev-namespace NS       DEV_NAMESPACE: bind appdatabase-creator in this namespace
      --dev-group GROUP        DEV_GROUP (default developers)
      --dev-user USER          DEV_USER
      --no-dev-rbac            DEV_RBAC=no: skip developer access
EOF
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

# shellcheck disable=SC2034 # some of these are only read through namerefs (ask, confirm)
while (($#)); do
	case $1 in
	-y | --yes) yes=true ;;
	--dry-run) dry_run=true ;;
	-h | --help)
		usage
		exit 0
		;;
	--admin-host) admin_host=${2:?--admin-host needs a value}; shift ;;
	--admin-port) admin_port=${2:?--admin-port needs a value}; shift ;;
	--admin-user) admin_user=${2:?--admin-user needs a value}; shift ;;
	--admin-password) admin_password=${2:?--admin-password needs a value}; shift ;;
	--cluster-name) cluster_name=${2:?--cluster-name needs a value}; shift ;;
	--app-host) app_host=${2:?--app-host needs a value}; shift ;;
	--app-port) app_port=${2:?--app-port needs a value}; shift ;;
	--keep-admin-secret) keep_admin_secret=yes ;;
	--registry) registry=${2:?--registry needs a value}; shift ;;
	--image) image=${2:?--image needs a value}; shift ;;
	--tag) tag=${2:?--tag needs a value}; shift ;;
	--aws-region) aws_region=${2:?--aws-region needs a value}; shift ;;
	--gcp-project) gcp_project=${2:?--gcp-project needs a value}; shift ;;
	--gcp-region) gcp_region=${2:?--gcp-region needs a value}; shift ;;
	--ar-repository) ar_repository=${2:?--ar-repository needs a value}; shift ;;
	--kind-cluster) kind_cluster=${2:?--kind-cluster needs a value}; shift ;;
	--minikube-profile) minikube_profile=${2:?--minikube-profile needs a value}; shift ;;
	--buildspec) buildspec=yes ;;
	--buildspec-file) buildspec_file=${2:?--buildspec-file needs a value}; shift ;;
	--dev-namespace) dev_namespace=${2:?--dev-namespace needs a value}; shift ;;
	--dev-group) dev_group=${2:?--dev-group needs a value}; shift ;;
	--dev-user) dev_user=${2:?--dev-user needs a value}; shift ;;
	--no-dev-rbac) dev_rbac=no ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

# --- helpers -------------------------------------------------------------------------------

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

step() { printf '\n==> %s\n' "$*"; }

# show prints a command as it would be typed, with the admin password masked.
show() {
	local line="$*"
	if [[ -n $admin_password ]]; then
		line=${line//"$admin_password"/********}
	fi
	printf '$ %s\n' "$line"
}

# run shows a command that changes something and runs it, unless this is a dry run.
run() {
	show "$@"
	$dry_run || "$@"
}

# ask VAR PROMPT DEFAULT: keeps VAR if set; otherwise asks (or takes DEFAULT with --yes).
ask() {
	local -n var=$1
	local prompt=$2 default=${3:-}
	[[ -n $var ]] && return 0
	if $yes || [[ ! -t 0 ]]; then
		var=$default
	else
		read -r -p "$prompt${default:+ [$default]}: " var
		var=${var:-$default}
	fi
}

# ask_secret VAR PROMPT: like ask, without echo and without a default.
ask_secret() {
	local -n var=$1
	[[ -n $var ]] && return 0
	if $yes || [[ ! -t 0 ]]; then
		return 0
	fi
	read -r -s -p "$2: " var
	echo
}

# confirm VAR QUESTION DEFAULT(yes|no): answers a yes/no question into VAR.
confirm() {
	local -n answer=$1
	local question=$2 default=$3 reply
	if [[ -z $answer ]]; then
		if $yes || [[ ! -t 0 ]]; then
			answer=$default
		else
			read -r -p "$question [$([[ $default == yes ]] && echo Y/n || echo y/N)]: " reply
			case ${reply,,} in
			y | yes) answer=yes ;;
			n | no) answer=no ;;
			*) answer=$default ;;
			esac
		fi
	fi
	[[ $answer == yes ]]
}

# kind_cluster_of_context names the kind cluster of the current context: kind calls its contexts
# kind-NAME. Any other context gets kind's default cluster name.
kind_cluster_of_context() {
	local context
	context=$("$KUBECTL" config current-context 2>/dev/null || true)
	case $context in
	kind-?*) echo "${context#kind-}" ;;
	*) echo kind ;;
	esac
}

# detect_registry guesses the image registry from the current context.
detect_registry() {
	local context server
	context=$("$KUBECTL" config current-context 2>/dev/null || true)
	server=$("$KUBECTL" config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || true)
	case "$context $server" in
	*eks.amazonaws.com* | *arn:aws:eks:*) echo ecr ;;
	gke_*) echo artifact-registry ;;
	kind-*) echo kind ;;
	minikube*) echo minikube ;;
	*) echo release ;;
	esac
}

# source_tag tags an image built from this checkout: git describe, and a hash of the uncommitted
# changes when there are any. Every different build gets a different tag, so applying the
# Deployment again rolls it; with one fixed tag, IfNotPresent would keep the old image running.
source_tag() {
	local described changes
	if ! described=$(git -C "$here" describe --tags --always 2>/dev/null); then
		echo "$release_version-local-$(date -u +%Y%m%d%H%M%S)"
		return
	fi
	# Untracked files count too: a new source file changes the build as much as an edit.
	if [[ -n $(git -C "$here" status --porcelain) ]]; then
		changes=$({
			git -C "$here" diff HEAD
			git -C "$here" ls-files -z --others --exclude-standard | (cd "$here" && xargs -0 -r sha256sum)
		} | sha256sum)
		described="$described-dirty-${changes:0:8}"
	fi
	echo "$described"
}

# --- 1. CRD --------------------------------------------------------------------------------

command -v "$KUBECTL" >/dev/null || die "kubectl not found (set KUBECTL to its path)"
echo "DB Concierge installer — context: $("$KUBECTL" config current-context 2>/dev/null || echo '(none)')"
$dry_run && echo "(dry run: nothing is changed)"

step "1/6 Installing the AppDatabase and MySQLCluster CRDs"
run "$KUBECTL" apply -f "$here/crds/appdatabase-crd.yaml"
run "$KUBECTL" wait --for=condition=Established --timeout=60s crd/appdatabases.db.stillwaters.io crd/mysqlclusters.db.stillwaters.io

# --- 2. namespace, RBAC, admission policy, Service -----------------------------------------

step "2/6 Creating namespace $namespace, RBAC and the namespace admission policy"
for f in namespace serviceaccount clusterrole clusterrolebinding admission-policy service; do
	run "$KUBECTL" apply -f "$here/deploy/$f.yaml"
done

# --- 3. admin Secret -----------------------------------------------------------------------

step "3/6 MySQL admin credentials (Secret $namespace/$admin_secret)"
secret_exists=false
if "$KUBECTL" get secret "$admin_secret" -n "$namespace" >/dev/null 2>&1; then
	secret_exists=true
fi
if $secret_exists && [[ -z $admin_host && -z $admin_password ]] &&
	confirm keep_admin_secret "Secret $admin_secret exists. Keep it as it is?" yes; then
	echo "Keeping the existing admin Secret."
elif [[ $keep_admin_secret == yes ]] && $secret_exists; then
	echo "Keeping the existing admin Secret."
else
	ask admin_host "MySQL Admin Host" "cluster1-haproxy.default.svc.cluster.local"
	ask admin_port "MySQL Admin Port" "3306"
	ask admin_user "MySQL Admin User" "root"
	ask_secret admin_password "MySQL Admin Password"
	[[ -n $admin_password ]] || $dry_run || die "the MySQL admin password is required (MYSQL_ADMIN_PASSWORD or --admin-password)"
	# The values go through a private file, never the command line, where ps would show them.
	env_file="$workdir/admin.env"
	(umask 077 && : >"$env_file")
	{
		echo "MYSQL_ADMIN_HOST=$admin_host"
		echo "MYSQL_ADMIN_PORT=$admin_port"
		echo "MYSQL_ADMIN_USER=$admin_user"
		echo "MYSQL_ADMIN_PASSWORD=$admin_password"
		[[ -z $cluster_name ]] || echo "MYSQL_CLUSTER_NAME=$cluster_name"
		[[ -z $app_host ]] || echo "MYSQL_APP_HOST=$app_host"
		[[ -z $app_port ]] || echo "MYSQL_APP_PORT=$app_port"
	} >"$env_file"
	show "$KUBECTL" create secret generic "$admin_secret" -n "$namespace" --from-env-file=FILE --dry-run=client -o yaml "|" "$KUBECTL" apply -f -
	if ! $dry_run; then
		"$KUBECTL" create secret generic "$admin_secret" -n "$namespace" --from-env-file="$env_file" --dry-run=client -o yaml |
			"$KUBECTL" apply -f -
	fi
fi

# --- 4. image ------------------------------------------------------------------------------

step "4/6 Operator image"
if [[ -z $registry ]]; then
	detected=$(detect_registry)
	if $yes || [[ ! -t 0 ]]; then
		registry=$detected
	else
		cat <<EOF
Which operator image should run?
  1. release            the published image $released_image
  Or build this checkout with docker and:
  2. ecr                push it to AWS Elastic Container Registry (EKS)
  3. artifact-registry  push it to Google Artifact Registry (GKE; Container Registry no longer accepts pushes)
  4. kind               load it into a local kind cluster
  5. minikube           load it into minikube
  6. other              push it to Docker Hub or any registry you can push to (docker login first)
  7. skip               an image you built and pushed already (--image)
EOF
		read -r -p "Choice [$detected]: " registry
		registry=${registry:-$detected}
		case $registry in 1) registry=release ;; 2) registry=ecr ;; 3) registry=artifact-registry ;; 4) registry=kind ;; 5) registry=minikube ;; 6) registry=other ;; 7) registry=skip ;; esac
	fi
fi
if [[ $registry != release && $registry != skip && -z $tag ]]; then
	tag=$(source_tag)
fi

# The image says which source it was built from: --version and db_concierge_build_info show it.
build() {
	run docker build --build-arg VERSION="$tag" --build-arg REVISION="$(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)" -t "$1" "$here"
}

case $registry in
release)
	image=$released_image
	echo "Using the published image $image."
	;;
ecr)
	account=$(aws sts get-caller-identity --query Account --output text)
	[[ -n $aws_region ]] || aws_region=$(aws configure get region)
	[[ -n $aws_region ]] || die "no AWS region: pass --aws-region or run aws configure"
	ecr_host="$account.dkr.ecr.$aws_region.amazonaws.com"
	image="$ecr_host/$image_name:$tag"
	if ! aws ecr describe-repositories --repository-names "$image_name" --region "$aws_region" >/dev/null 2>&1; then
		run aws ecr create-repository --repository-name "$image_name" --region "$aws_region"
	fi
	show aws ecr get-login-password --region "$aws_region" "|" docker login --username AWS --password-stdin "$ecr_host"
	if ! $dry_run; then
		aws ecr get-login-password --region "$aws_region" | docker login --username AWS --password-stdin "$ecr_host"
	fi
	if confirm buildspec "Also write buildspec.yml for AWS CodeBuild?" no; then
		show "write $buildspec_file"
		$dry_run || cat >"$buildspec_file" <<EOF
version: 0.2
phases:
  pre_build:
    commands:
      - aws ecr get-login-password --region \$AWS_DEFAULT_REGION | docker login --username AWS --password-stdin $ecr_host
  build:
    commands:
      - docker build --build-arg VERSION=$tag --build-arg REVISION=\$CODEBUILD_RESOLVED_SOURCE_VERSION -t $image .
  post_build:
    commands:
      - docker push $image
EOF
	fi
	build "$image"
	run docker push "$image"
	;;
artifact-registry)
	[[ -n $gcp_project ]] || gcp_project=$(gcloud config get-value project 2>/dev/null)
	[[ -n $gcp_project ]] || die "no Google Cloud project: pass --gcp-project or run gcloud config set project"
	gcp_region=${gcp_region:-us-central1}
	ar_host="$gcp_region-docker.pkg.dev"
	image="$ar_host/$gcp_project/$ar_repository/$image_name:$tag"
	if ! gcloud artifacts repositories describe "$ar_repository" --location="$gcp_region" --project="$gcp_project" >/dev/null 2>&1; then
		run gcloud artifacts repositories create "$ar_repository" --repository-format=docker --location="$gcp_region" --project="$gcp_project"
	fi
	run gcloud auth configure-docker "$ar_host" --quiet
	build "$image"
	run docker push "$image"
	;;
kind)
	image="$image_name:$tag"
	build "$image"
	run kind load docker-image "$image" --name "${kind_cluster:-$(kind_cluster_of_context)}"
	;;
minikube)
	image="$image_name:$tag"
	build "$image"
	run minikube image load "$image" -p "${minikube_profile:-minikube}"
	;;
other)
	ask image "Image reference to push (registry/repository:tag)" ""
	[[ -n $image ]] || die "--image is required with --registry other"
	build "$image"
	run docker push "$image"
	;;
skip)
	[[ -n $image ]] || die "--registry skip needs --image: the reference of the image you pushed"
	echo "Using image $image (already built and pushed)."
	;;
*) die "unknown registry '$registry': release, ecr, artifact-registry, kind, minikube, other or skip" ;;
esac

# --- 5. Deployment -------------------------------------------------------------------------

step "5/6 Deploying the operator ($image)"
deployment="$workdir/deployment.yaml"
sed "s|image: $released_image\$|image: $image|" "$here/deploy/deployment.yaml" >"$deployment"
grep -qF "image: $image" "$deployment" || die "deploy/deployment.yaml does not run $released_image; is this checkout's install.sh out of date?"
run "$KUBECTL" apply -f "$deployment"

# --- 6. developer access -------------------------------------------------------------------

step "6/6 Developer access"
if [[ -n $dev_namespace ]]; then
	dev_rbac=${dev_rbac:-yes}
fi
if confirm dev_rbac "Let developers create AppDatabases in a namespace now?" no; then
	ask dev_namespace "Namespace" "default"
	ask dev_group "Group to grant (empty for none)" "developers"
	ask dev_user "User to grant (empty for none)" ""
	if ! $dry_run && ! "$KUBECTL" get namespace "$dev_namespace" >/dev/null 2>&1; then
		die "namespace $dev_namespace does not exist: create it first, or run again with another --dev-namespace"
	fi
	# The ClusterRole is the first document of dev-rbac.yaml; the RoleBinding is made for the
	# chosen namespace and subjects.
	clusterrole="$workdir/appdatabase-creator.yaml"
	awk '/^---/ {exit} {print}' "$here/deploy/dev-rbac.yaml" >"$clusterrole"
	run "$KUBECTL" apply -f "$clusterrole"
	subjects=()
	[[ -z $dev_group ]] || subjects+=(--group="$dev_group")
	[[ -z $dev_user ]] || subjects+=(--user="$dev_user")
	((${#subjects[@]})) || die "developer access needs --dev-group or --dev-user"
	show "$KUBECTL" create rolebinding developers-can-create-databases -n "$dev_namespace" --clusterrole=appdatabase-creator "${subjects[@]}" "|" "$KUBECTL" apply -f -
	if ! $dry_run; then
		"$KUBECTL" create rolebinding developers-can-create-databases -n "$dev_namespace" \
			--clusterrole=appdatabase-creator "${subjects[@]}" --dry-run=client -o yaml |
			"$KUBECTL" label --local -f - app.kubernetes.io/part-of=db-concierge -o yaml |
			"$KUBECTL" apply -f -
	fi
else
	echo "Skipped. Later: edit deploy/dev-rbac.yaml and kubectl apply -f deploy/dev-rbac.yaml"
fi

cat <<EOF

DB Concierge is installed$($dry_run && echo " (dry run)"). Check it with:
  kubectl get pods -n $namespace
  kubectl get crd appdatabases.db.stillwaters.io
EOF
