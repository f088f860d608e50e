# syntax=docker/dockerfile:1
#
# contribot container image.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t contribot .
#   docker run -p 3000:3000 -v contribot-data:/data \
#     -e GITHUB_APP_ID=... -e GITHUB_WEBHOOK_SECRET=... -e GITHUB_PRIVATE_KEY="$(cat key.pem)" contribot
#
# Without App credentials `serve` runs in dry-run mode (verifies and queues deliveries, logs what it
# would do), so the image can be smoke-tested with no secrets at all.

# Go version of the builder. go.mod requires go 1.26.8 and the golang images set GOTOOLCHAIN=local,
# so the image behind the 1.26 tag must be 1.26.8 or newer; pass a full version (--build-arg
# GO_VERSION=1.26.8) to pin the toolchain for reproducible builds.
ARG GO_VERSION=1.26

# ---------------------------------------------------------------------------------------------------
# Build stage. It runs on the build machine's own platform ($BUILDPLATFORM) and cross-compiles to the
# target platform: with CGO disabled Go needs no emulation, so a multi-arch build stays fast.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build

WORKDIR /src

# CGO off: the SQLite driver (modernc.org/sqlite) is pure Go, so the binary is fully static and runs
# on distroless/static, which has no libc.
ENV CGO_ENABLED=0

# Dependencies first, in their own layer: this layer is rebuilt only when go.mod/go.sum change, not on
# every source edit. (No cache mount here on purpose: the modules live in the layer, so they survive
# on builders that import layer cache but not BuildKit cache mounts, such as fresh remote builders.)
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# VERSION is stamped into main.version and reported by `contribot version` and the logs.
ARG VERSION=dev
# Set by BuildKit from --platform (default: the builder's own platform).
ARG TARGETOS
ARG TARGETARCH

# -trimpath: no build-machine paths in the binary (reproducible, nothing leaked).
# -s -w: drop the symbol table and DWARF; stack traces keep function names and lines.
# The build cache mount only speeds up rebuilds; it never ends up in the image.
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH}" \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/contribot ./cmd/contribot

# The runtime image has no shell, so /data cannot be created there with RUN mkdir: make it here and
# copy it across with the runtime user as owner (see below).
RUN mkdir -p /out/data

# ---------------------------------------------------------------------------------------------------
# Runtime stage: distroless static = CA certificates (needed for api.github.com and upstream hosts),
# tzdata, /etc/passwd with the nonroot user (uid/gid 65532), and nothing else — no shell, no package
# manager, nothing to exploit or patch besides our own binary.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
LABEL org.opencontainers.image.title="contribot" \
      org.opencontainers.image.description="GitHub App for the Sovereign Cloud Stack contributor workflow: DCO, module labels, welcome, upstream tracking" \
      org.opencontainers.image.source="https://github.com/SovereignCloudStack/contribot" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/contribot /contribot

# The SQLite database (and its -wal/-shm files, which SQLite creates next to it, hence a writable
# directory and not just a writable file) lives in /data. Owned by the runtime user so that:
#  - a Docker named volume, initialised from the image's directory on first use, is writable;
#  - on Fly.io, the volume mounted at /data is chowned by Fly's init to the image's USER.
# A bind mount from the host keeps the host's ownership: `chown 65532:65532` the host directory.
COPY --from=build --chown=65532:65532 /out/data /data

# DATABASE_URL points at the volume. The app's default (./data/contribot.db) is relative to the
# working directory, which the distroless nonroot image sets to its home directory, not /, so it
# would miss the volume. Set DATABASE_URL=postgres://... to use PostgreSQL instead (needed for more
# than one replica). PORT matches EXPOSE and fly.toml's internal_port.
ENV DATABASE_URL=/data/contribot.db \
    PORT=3000

# Numeric user and group: runtimes (Kubernetes runAsNonRoot, Fly's volume chown) can check and use
# them without looking names up in /etc/passwd.
USER 65532:65532

# Declared after the COPY/chown above, so the volume starts out with the right owner.
VOLUME ["/data"]

EXPOSE 3000

# No HEALTHCHECK: distroless has no shell, curl or wget to run one, and adding a busybox just for that
# would undo the point of the minimal image. Orchestrators probe HTTP themselves: fly.toml checks
# GET /healthz, Kubernetes should use /healthz (liveness) and /readyz (readiness).

ENTRYPOINT ["/contribot"]
CMD ["serve"]
