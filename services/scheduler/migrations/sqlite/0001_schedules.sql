CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,            -- UUIDv7
    name         TEXT NOT NULL UNIQUE,
    cron         TEXT NOT NULL,               -- as given: 5 fields, or 6 with seconds first
    timezone     TEXT NOT NULL,               -- IANA name
    url          TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    last_run_at  TEXT,
    last_status  TEXT,                        -- 'ok' or 'error'
    last_error   TEXT,
    last_job_id  TEXT,
    next_run_at  TEXT,                        -- NULL while disabled
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX schedules_due ON schedules(enabled, next_run_at);
