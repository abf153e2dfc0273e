# syntax=docker/dockerfile:1
# The operator image: static Go binaries on distroless, running as a numeric non-root user.
#   docker build -t db-concierge-operator:latest .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# CGO_ENABLED=0 makes the binaries static, so the final image needs no C library.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/db-concierge-operator ./cmd/operator
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/bootstrap-mysql-schema ./cmd/bootstrap-mysql-schema

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="db-concierge-operator" \
      org.opencontainers.image.source="https://github.com/stillwaters/db-concierge" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/db-concierge-operator /usr/local/bin/db-concierge-operator
# The developer CLI, for kubectl run / debugging from inside the cluster.
COPY --from=build /out/bootstrap-mysql-schema /usr/local/bin/bootstrap-mysql-schema
# 65532 is distroless's "nonroot" user; numeric, so Kubernetes can verify runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/db-concierge-operator"]
