# syntax=docker/dockerfile:1
# One Dockerfile for all four services: docker build --build-arg SERVICE=scraper .
#
# Stages: chef (toolchain + cargo-chef) → planner (dependency recipe) → builder (dependencies
# cooked in their own layer, cached until Cargo.lock changes; then the service) → runtime
# (a slim base, non-root, the binary and a static health-check binary; no shell needed).

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-20251117-slim

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Every service shares this layer: it does not depend on SERVICE.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=controller|scraper|analyzer|scheduler" && false)
RUN cargo build --release --locked --bin "${SERVICE}" \
 && mkdir -p /out && cp "target/release/${SERVICE}" /out/service
# The health check is linked statically so it also runs in images without glibc (Tempo's,
# Loki's): compose shares it with them through a volume.
RUN RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -p pkg-service --bin healthcheck \
      --target "$(rustc -vV | sed -n 's/^host: //p')" \
 && cp target/*/release/healthcheck /out/healthcheck

FROM ${RUNTIME_IMAGE} AS runtime
ARG SERVICE
RUN groupadd --gid 10001 skein && useradd --uid 10001 --gid skein --no-create-home --shell /usr/sbin/nologin skein \
 && mkdir -p /data && chown skein:skein /data
COPY --from=builder /out/service /usr/local/bin/service
COPY --from=builder /out/healthcheck /usr/local/bin/healthcheck
COPY config/schedules /etc/skein/schedules
USER 10001:10001
ENV HOST=0.0.0.0 LOG_FORMAT=json
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/service"]
