-- The same schema as migrations/sqlite (0001 + 0002), in PostgreSQL's types. Timestamps are
-- fixed-width RFC 3339 UTC text on both engines (pkg_service::time), so queries are shared.
CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    cron         TEXT NOT NULL,
    timezone     TEXT NOT NULL,
    url          TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL,
    last_run_at  TEXT,
    last_status  TEXT,
    last_error   TEXT,
    last_job_id  TEXT,
    next_run_at  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX schedules_due ON schedules(enabled, next_run_at);

CREATE TABLE schedule_ticks (
    schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    fire_at     TEXT NOT NULL,
    claimed_by  TEXT NOT NULL,
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (schedule_id, fire_at)
);
CREATE INDEX schedule_ticks_by_age ON schedule_ticks(claimed_at);
