# syntax=docker/dockerfile:1
# The operator image, for people who build with Docker: static Go binaries on distroless, running
# as a numeric non-root user. Releases are built without Docker (make release), into an image
# with the same user, entrypoint, files and labels; a test compares the two.
#   docker build --build-arg VERSION=v0.2.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     -t ghcr.io/stillwaters/db-concierge-operator:v0.2.0 .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
# Set by BuildKit for each --platform (a default here would override it); Go cross-compiles, so
# an arm64 laptop builds an amd64 image that runs on amd64 nodes
# (docker buildx build --platform linux/amd64,linux/arm64). The legacy builder sets neither.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
# CGO_ENABLED=0 makes the binaries static, so the final image needs no C library.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} \
    go build -trimpath -ldflags="-s -w -X github.com/stillwaters/db-concierge/internal/version.version=${VERSION} -X github.com/stillwaters/db-concierge/internal/version.revision=${REVISION}" \
    -o /out/db-concierge-operator ./cmd/operator
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} \
    go build -trimpath -ldflags="-s -w -X github.com/stillwaters/db-concierge/internal/version.version=${VERSION} -X github.com/stillwaters/db-concierge/internal/version.revision=${REVISION}" \
    -o /out/bootstrap-mysql-schema ./cmd/bootstrap-mysql-schema

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="db-concierge-operator" \
      org.opencontainers.image.description="DB Concierge: self-service MySQL databases, users and credential Secrets for application teams" \
      org.opencontainers.image.source="https://github.com/stillwaters/db-concierge" \
      org.opencontainers.image.url="https://github.com/stillwaters/db-concierge" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/db-concierge-operator /usr/local/bin/db-concierge-operator
# The developer CLI, for kubectl run / debugging from inside the cluster.
COPY --from=build /out/bootstrap-mysql-schema /usr/local/bin/bootstrap-mysql-schema
# 65532 is distroless's "nonroot" user; numeric, so Kubernetes can verify runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/db-concierge-operator"]
