-- Documents: one per normalised URL, the latest scrape wins.
CREATE TABLE documents (
    id             TEXT PRIMARY KEY,          -- UUIDv7: sorts by creation time
    url            TEXT NOT NULL UNIQUE,      -- normalised, the de-duplication key
    final_url      TEXT NOT NULL,
    title          TEXT,
    description    TEXT,
    author         TEXT,
    published_at   TEXT,
    language       TEXT NOT NULL,
    word_count     INTEGER NOT NULL,
    reading_time_s INTEGER NOT NULL,
    readability    TEXT NOT NULL,             -- JSON object
    sentiment      TEXT NOT NULL,             -- JSON object
    keywords       TEXT NOT NULL,             -- JSON array
    key_phrases    TEXT NOT NULL,             -- JSON array
    tags           TEXT NOT NULL,             -- JSON array, also in document_tags
    quality        REAL NOT NULL,
    link_count     INTEGER NOT NULL,
    fetched_at     TEXT NOT NULL,             -- RFC 3339, UTC
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
    id            TEXT PRIMARY KEY,           -- UUIDv7
    url           TEXT NOT NULL,              -- normalised
    force         INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    document_id   TEXT,
    traceparent   TEXT,                       -- the submitting request's span: workers join its trace
    baggage       TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    run_after     TEXT NOT NULL,              -- not picked before this (retry backoff)
    started_at    TEXT,
    finished_at   TEXT
);
CREATE INDEX jobs_queue ON jobs(status, run_after);
