-- Storage tiers: fixity log, restore requests of the cold archive, notifications to requesters,
-- daily usage snapshots, and leases for work that one node of a cluster runs (scheduled scrubs).

-- Append-only: one row per object checked. Never updated, never deleted by the platform.
CREATE TABLE fixity_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  checked_at   timestamptz NOT NULL DEFAULT now(),
  job_id       bigint,
  tier         text NOT NULL CHECK (tier IN ('cold', 'intermediate', 'nas', 'hot')),
  location     text NOT NULL,
  asset_id     bigint REFERENCES assets (id) ON DELETE SET NULL,
  outcome      text NOT NULL CHECK (outcome IN ('ok', 'missing', 'corrupted', 'unlisted', 'repaired', 'repair-failed', 'quarantined')),
  method       text NOT NULL DEFAULT 'read' CHECK (method IN ('read', 'head', 'list', 'repair')),
  expected_sha256 text,
  actual_sha256   text,
  expected_bytes  bigint,
  actual_bytes    bigint,
  detail       text
);
CREATE INDEX fixity_log_asset_idx ON fixity_log (asset_id, checked_at);
CREATE INDEX fixity_log_time_idx ON fixity_log (checked_at);

CREATE FUNCTION fixity_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'fixity_log is append-only';
END;
$$;
CREATE TRIGGER fixity_log_no_update BEFORE UPDATE OR DELETE ON fixity_log
  FOR EACH ROW EXECUTE FUNCTION fixity_log_append_only();

-- A technical user's request to restore an archive package from the cold tier.
CREATE TABLE restore_requests (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  asset_id      bigint NOT NULL REFERENCES assets (id),
  requester     text NOT NULL,
  days          integer NOT NULL CHECK (days BETWEEN 1 AND 365),
  state         text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'in-progress', 'available', 'expired', 'failed')),
  error         text,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  checked_at    timestamptz,
  available_at  timestamptz,
  expires_at    timestamptz,
  notified_at   timestamptz
);
CREATE INDEX restore_requests_open_idx ON restore_requests (state) WHERE state IN ('requested', 'in-progress');

-- Messages to users (e-mail delivery comes with accounts; until then they are recorded and logged).
CREATE TABLE notifications (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recipient   text NOT NULL,
  kind        text NOT NULL,
  subject     text NOT NULL,
  body        text NOT NULL,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);

-- Bytes and objects per tier and dataset, measured from the stores, one row per day (time series).
CREATE TABLE storage_usage_daily (
  day        date NOT NULL,
  tier       text NOT NULL CHECK (tier IN ('cold', 'intermediate', 'nas', 'hot')),
  dataset_id text NOT NULL,
  objects    bigint NOT NULL,
  bytes      bigint NOT NULL,
  taken_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (day, tier, dataset_id)
);

-- Leases: work that exactly one node runs at a time (scheduled fixity scrubs).
CREATE TABLE leases (
  name        text PRIMARY KEY,
  owner       text,
  lease_until timestamptz,
  last_run_at timestamptz
);
