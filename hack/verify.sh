#!/usr/bin/env bash
# Fails when committed generated output is stale: it regenerates, and if anything changed it says
# so (the working tree then holds the fresh output to commit). Also checks go.mod is tidy, that
# the Kubernetes test binaries are built at the version of the client libraries, and runs gofmt,
# go vet, golangci-lint and shellcheck.
set -euo pipefail
controller_gen=$1
generated() { cat api/v1/zz_generated.deepcopy.go crds/*.yaml charts/db-concierge/crds/*.yaml docs/api.md go.mod go.sum hack/release/go.mod hack/release/go.sum 2>/dev/null; }

before=$(generated | sha256sum)
"$controller_gen" object paths=./api/...
hack/generate-crds.sh "$controller_gen"
go run ./hack/gen-api-docs charts/db-concierge/crds docs/api.md
go mod tidy
(cd hack/release && go mod tidy)
after=$(generated | sha256sum)
if [[ "$before" != "$after" ]]; then
	echo "Generated files or go.mod were stale; they have been regenerated. Review and commit:" >&2
	git status --short -- api crds charts docs/api.md go.mod go.sum hack/release >&2 || true
	exit 1
fi

client=$(go list -m -f '{{.Version}}' k8s.io/client-go)
server=$(sed -nE 's/^[[:space:]]*k8s\.io\/kubernetes[[:space:]]+v([0-9.]+).*/\1/p' hack/kube-tools/go.mod)
if [[ "${client#v0.}" != "${server#1.}" ]]; then
	echo "hack/kube-tools builds kube-apiserver $server but the project uses client-go $client;" \
		"pin k8s.io/kubernetes v1.${client#v0.} there (and its replaces) so tests run the same version." >&2
	exit 1
fi
unformatted=$(gofmt -l api cmd internal test hack)
if [[ -n $unformatted ]]; then
	echo "Not gofmt-formatted (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet -tags integration ./...
hack/golangci-lint.sh run ./...
# The release tool is a module of its own, so ./... above does not reach it.
(cd hack/release && go vet ./... && ../golangci-lint.sh run ./...)

if command -v shellcheck >/dev/null; then
	shellcheck install.sh uninstall.sh hack/*.sh .ci/run
else
	echo "shellcheck is not installed (make deps installs it): shell scripts not checked" >&2
	exit 1
fi
echo "Generated files, go.mod, the test binaries' version, the Go code and the shell scripts are in order."
