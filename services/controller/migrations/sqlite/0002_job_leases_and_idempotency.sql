-- Past one process: jobs are claimed under a lease, and every write after the claim is fenced
-- by (attempts, lease_owner). See src/store/jobs.rs.
ALTER TABLE jobs ADD COLUMN tracestate TEXT;          -- W3C tracestate of the submitting request
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;         -- instance id of the worker's process
ALTER TABLE jobs ADD COLUMN lease_until TEXT;         -- RFC 3339; past = claimable again
ALTER TABLE jobs ADD COLUMN run_span TEXT;            -- traceparent of the latest attempt's job.run
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;     -- the submitter's Idempotency-Key, if any
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs(idempotency_key);
CREATE INDEX jobs_leases ON jobs(status, lease_until);
-- Jobs left running by the single-process version have no lease: expire it now, so they are
-- taken over (and their attempt counted) like any other crashed run.
UPDATE jobs SET lease_until = updated_at WHERE status = 'running';
