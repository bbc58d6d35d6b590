-- The same schema as migrations/sqlite (0001 + 0002), in PostgreSQL's types. Timestamps stay
-- fixed-width RFC 3339 UTC text, as on SQLite: they sort as text, and both engines share the
-- queries (pkg_service::time makes them in one place).
CREATE TABLE documents (
    id             TEXT PRIMARY KEY,
    url            TEXT NOT NULL UNIQUE,
    final_url      TEXT NOT NULL,
    title          TEXT,
    description    TEXT,
    author         TEXT,
    published_at   TEXT,
    language       TEXT NOT NULL,
    word_count     BIGINT NOT NULL,
    reading_time_s BIGINT NOT NULL,
    readability    TEXT NOT NULL,
    sentiment      TEXT NOT NULL,
    keywords       TEXT NOT NULL,
    key_phrases    TEXT NOT NULL,
    tags           TEXT NOT NULL,
    quality        DOUBLE PRECISION NOT NULL,
    link_count     BIGINT NOT NULL,
    fetched_at     TEXT NOT NULL,
    analyzed_at    TEXT NOT NULL,
    trace_id       TEXT
);

CREATE TABLE document_tags (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (document_id, tag)
);
CREATE INDEX document_tags_by_tag ON document_tags(tag, document_id);

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    force           BOOLEAN NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL,
    error_code      TEXT,
    error_message   TEXT,
    document_id     TEXT,
    traceparent     TEXT,
    baggage         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    run_after       TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    tracestate      TEXT,
    lease_owner     TEXT,
    lease_until     TEXT,
    run_span        TEXT,
    idempotency_key TEXT
);
CREATE INDEX jobs_queue ON jobs(status, run_after);
CREATE INDEX jobs_leases ON jobs(status, lease_until);
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs(idempotency_key);
