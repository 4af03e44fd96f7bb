# syntax=docker/dockerfile:1
# Just.Trades: one static-ish binary (templates and static files are compiled in). The
# runtime image holds only that binary: production uses a managed PostgreSQL through
# DATABASE_URL / JT_APP_DATABASE_URL, so no PostgreSQL is installed.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build artifacts between builds; the binary is copied out
# of the mounted target dir so the next stage can see it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin justtrades \
    && cp target/release/justtrades /usr/local/bin/justtrades

# glibc, libgcc, CA certificates and a `nonroot` user (uid 65532); no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/justtrades /usr/local/bin/justtrades
USER nonroot:nonroot
ENV JT_BIND=0.0.0.0:8080 \
    JT_LOG_FORMAT=json \
    JT_DATA_DIR=/tmp/justtrades
EXPOSE 8080
# fly.toml's processes override this: `justtrades web` and `justtrades worker`; the release
# command is `justtrades migrate`.
CMD ["/usr/local/bin/justtrades", "serve"]
