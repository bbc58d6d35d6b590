# syntax=docker/dockerfile:1
# One Dockerfile for all four services: docker build --build-arg SERVICE=scraper .
#
# Stages: chef (toolchain + cargo-chef) → planner (dependency recipe) → builder (dependencies
# cooked in their own layer, cached until Cargo.lock changes; then all four services and the
# health probe in ONE cargo invocation) → runtime (a slim base, non-root, one service's binary
# and the probe; no shell tools needed).
#
# Nothing before the runtime stage reads SERVICE, so the four service images share every
# builder step: BuildKit (and `docker compose build`, which bakes all four at once) compiles
# the workspace once, not once per image.

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-20251117-slim

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src
# The container build profile: the workspace's release profile (codegen-units = 1, thin LTO)
# is tuned for benchmarks and needs a lot of memory and time on a small Docker VM; the images
# are built with rustc's release defaults instead (16 codegen units, no cross-crate LTO).
# Set here, so `cook` and `build` agree on it and the cooked layer is reused.
ENV CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_INCREMENTAL=0

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked \
      --bin controller --bin scraper --bin analyzer --bin scheduler --bin healthcheck \
 && mkdir -p /out \
 && for bin in controller scraper analyzer scheduler healthcheck; do cp "target/release/$bin" /out/; done

FROM ${RUNTIME_IMAGE} AS runtime
RUN groupadd --gid 10001 skein && useradd --uid 10001 --gid skein --no-create-home --shell /usr/sbin/nologin skein \
 && mkdir -p /data && chown skein:skein /data
# The probe is the images' own health check (debian-slim has no curl or wget).
COPY --from=builder /out/healthcheck /usr/local/bin/healthcheck
COPY config/schedules /etc/skein/schedules
USER 10001:10001
ENV HOST=0.0.0.0 LOG_FORMAT=json
WORKDIR /data
# The one per-service step, last: it only copies a binary the builder stage already made.
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=controller|scraper|analyzer|scheduler" && false)
COPY --from=builder /out/${SERVICE} /usr/local/bin/service
ENTRYPOINT ["/usr/local/bin/service"]
