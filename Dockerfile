# rfbcast container image.
#
#   docker build -t rfbcast:0.1.0 .
#   docker run --rm --security-opt seccomp=helm/rfbcast/files/rfbcast-io-uring.json \
#     -p 5900:5900 -p 5800:5800 -p 9860:9860 rfbcast:0.1.0 --upstream host.docker.internal:5901
#
# rfbcast needs io_uring, which Docker's and containerd's default seccomp profiles block: run it
# with the profile shipped in the Helm chart (above), or it exits at start-up saying so.
#
# Every path the build stage writes is an ARG so that scripts/check-dockerfile.sh can run the
# stage's commands outside Docker, in a temporary directory.

FROM debian:bookworm-slim AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG SRC=/src
ARG BUILD_DIR=/build
ARG PREFIX=/opt/rfbcast
ENV DEBIAN_FRONTEND=noninteractive

# The same package list as CI (install-deps.sh), in its own layer so a source change does not
# reinstall it. npm fetches the noVNC viewer during the build. The guard skips the Debian packages
# where npm is already present (Debian's npm conflicts with other node builds). Versions are not
# pinned: bookworm's point releases only carry fixes.
# hadolint ignore=DL3008
COPY scripts/install-deps.sh ${SRC}/scripts/install-deps.sh
RUN bash "${SRC}/scripts/install-deps.sh" \
    && if ! command -v npm >/dev/null; then \
         apt-get update -qq \
         && apt-get install -y -qq --no-install-recommends ca-certificates nodejs npm; \
       fi \
    && rm -rf /var/lib/apt/lists/*

COPY . ${SRC}
WORKDIR ${SRC}
RUN cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DRFBCAST_TESTS=OFF -DRFBCAST_BENCH=OFF \
    && cmake --build "${BUILD_DIR}" \
    && cmake --install "${BUILD_DIR}" --prefix "${PREFIX}"

FROM debian:bookworm-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="rfbcast" \
      org.opencontainers.image.description="Multi-viewer VNC (RFB) reflector with a browser viewer" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# Only the libraries `ldd rfbcast` names (check-dockerfile.sh verifies the list covers them),
# tini to reap and forward signals as PID 1, and CA certificates for `--upstream-ca system`.
# libprometheus-cpp-core1.0 is for the metrics endpoint.
# hadolint ignore=DL3008
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
         tini ca-certificates \
         libc6 libstdc++6 libgcc-s1 \
         liburing2 libxxhash0 libturbojpeg0 libzstd1 zlib1g libisal2 \
         libnettle8 libhogweed6 libgmp10 libgnutls30 libtomlplusplus3 \
         libprometheus-cpp-core1.0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 rfbcast \
    && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
         --shell /usr/sbin/nologin rfbcast \
    && mkdir -p /etc/rfbcast

COPY --from=build /opt/rfbcast /opt/rfbcast

# Environment variables act as the flags of the same name (flags given to `docker run` win).
# The metrics listener is on in the image so that HEALTHCHECK and the Kubernetes probes have
# /healthz and /readyz; the drain stays inside the 30 s most orchestrators wait after SIGTERM.
ENV PATH=/opt/rfbcast/bin:${PATH} \
    RFBCAST_HTTP_LISTEN=0.0.0.0:5800 \
    RFBCAST_METRICS_LISTEN=0.0.0.0:9860 \
    RFBCAST_LOG_FORMAT=json \
    RFBCAST_DRAIN_TIMEOUT=25

# 5900 viewers (RFB and WebSocket), 5800 browser viewer, 5500 repeater (when configured),
# 9860 metrics, /healthz and /readyz.
EXPOSE 5900 5800 5500 9860
USER 65532:65532
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["rfbcast", "--healthcheck"]
ENTRYPOINT ["tini", "--", "rfbcast"]
