-- Past one process. `version` counts definition changes (create = 1, every PUT + 1): a PUT
-- naming a stale version is refused, and the run loop moves `next_run_at` on only if the
-- version it read is still current, so a PUT racing a run is never lost.
ALTER TABLE schedules ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- One row per fired tick: the scheduler replica that inserts it (ON CONFLICT DO NOTHING) is the
-- one that runs the tick, so each nominal fire time runs once however many replicas look.
CREATE TABLE schedule_ticks (
    schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    fire_at     TEXT NOT NULL,                -- the nominal fire time, RFC 3339 UTC
    claimed_by  TEXT NOT NULL,                -- the scheduler process that won it
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (schedule_id, fire_at)
);
CREATE INDEX schedule_ticks_by_age ON schedule_ticks(claimed_at);
