# One image for every front: with no arguments and a ResourceList on stdin
# it is the KRM function (kpt `image:`, kustomize `container:`); with
# `webhook` it is the admission webhook. Static, distroless, non-root.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#     -t ghcr.io/sidecar-injector/sidecar-injector:v0.1.0 .
#
# The argocd-cmp target adds kustomize, for the Argo CD plugin sidecar
# (examples/argocd): docker build --target argocd-cmp ...

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The Makefile's build: static (no cgo), paths trimmed, version stamped.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sidecar-injector ./cmd/sidecar-injector

FROM build AS kustomize
ARG KUSTOMIZE_VERSION=v5.8.2
RUN CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}

FROM gcr.io/distroless/static-debian12:nonroot AS argocd-cmp
COPY --from=kustomize /out/kustomize /usr/local/bin/kustomize
COPY --from=build /out/sidecar-injector /usr/local/bin/sidecar-injector
# Argo CD runs plugin sidecars as its own user.
USER 999:999

# The default target: the last stage.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sidecar-injector /sidecar-injector
USER 65532:65532
ENTRYPOINT ["/sidecar-injector"]
