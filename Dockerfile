# Build: the release binary embeds templates, static files and migrations.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The query! macros read the committed query data (.sqlx/), not a database.
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked && strip target/release/newsdesk

# Run: a small Debian with the binary; the database is a separate service.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/newsdesk --create-home newsdesk
COPY --from=build /src/target/release/newsdesk /usr/local/bin/newsdesk
USER newsdesk
# A production image starts empty: no demo accounts, no passwords printed.
# The first admin: docker compose run --rm -T node1 create-user --username NAME --role admin
ENV NEWSDESK_BIND=0.0.0.0:8080 \
    NEWSDESK_DATA_DIR=/var/lib/newsdesk \
    NEWSDESK_LOG_FORMAT=json \
    NEWSDESK_DEMO=false
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["newsdesk"]
CMD ["serve"]
