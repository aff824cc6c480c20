-- Catalogue: what the platform holds (datasets → versions → dalles → assets in storage tiers)
-- and the persistent jobs that produce it. Coordinates are Lambert-93 (EPSG:2154).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE datasets (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  kind        text NOT NULL CHECK (kind IN ('orthophoto', 'vector', 'raw-at', 'business')),
  title       text NOT NULL,
  description text,
  licence     text,
  territory   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- A version is a millésime or an update campaign. Versions are immutable once published; a newer
-- one wins over older ones where it has data (priority), older ones stay addressable.
CREATE TABLE versions (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_id       text NOT NULL REFERENCES datasets (id),
  name             text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
  kind             text NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'update')),
  campaign         text,
  acquisition_date date,
  status           text NOT NULL DEFAULT 'ingesting' CHECK (status IN ('ingesting', 'published', 'withdrawn')),
  priority         integer NOT NULL DEFAULT 0,
  description      text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  published_at     timestamptz,
  UNIQUE (dataset_id, name)
);

-- A dalle of a version ('pending' until its master is stored and verified, then 'registered',
-- 'published' once in the pyramid): its place in the 1 km or 200 m grid of its source CRS (Lambert-93, or a CC
-- zone for local deliveries; upper-left corner in units of its size) and its footprint in
-- Lambert-93 (trusted from the georeferencing, not the name).
CREATE TABLE dalles (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id       bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  name             text NOT NULL,
  size_m           integer NOT NULL CHECK (size_m IN (200, 1000)),
  grid_col         integer NOT NULL,
  grid_row         integer NOT NULL,
  footprint        geometry(Polygon, 2154) NOT NULL,
  source_crs       text NOT NULL DEFAULT 'EPSG:2154',
  acquisition_date date,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'registered', 'published', 'to-update', 'withdrawn')),
  validation       jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (version_id, source_crs, size_m, grid_col, grid_row)
);
CREATE INDEX dalles_footprint_gix ON dalles USING gist (footprint);
CREATE INDEX dalles_name_idx ON dalles (name);

-- A stored object in one tier. An asset is only 'stored' once written and verified against its
-- SHA-256; 'pending' rows are work in progress that a resumed job completes or discards.
CREATE TABLE assets (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('master', 'raw-at', 'archive-package', 'pyramid', 'vector-source', 'business', 'report')),
  dataset_id    text NOT NULL REFERENCES datasets (id),
  version_id    bigint REFERENCES versions (id) ON DELETE CASCADE,
  dalle_id      bigint REFERENCES dalles (id) ON DELETE CASCADE,
  tier          text NOT NULL CHECK (tier IN ('cold', 'intermediate', 'nas', 'hot')),
  location      text NOT NULL,
  bytes         bigint NOT NULL CHECK (bytes >= 0),
  sha256        text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'missing', 'corrupted', 'deleted')),
  storage_class text,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  verified_at   timestamptz,
  UNIQUE (tier, location)
);
CREATE INDEX assets_dalle_idx ON assets (dalle_id);
CREATE INDEX assets_version_idx ON assets (version_id, kind);

-- Persistent, resumable jobs. The same command re-run finds its job again by idempotency key and
-- continues from its checkpoint; a job whose heartbeat stopped (kill -9) can be taken over.
CREATE TABLE jobs (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind             text NOT NULL,
  idempotency_key  text UNIQUE,
  params           jsonb NOT NULL DEFAULT '{}'::jsonb,
  state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  progress_done    double precision NOT NULL DEFAULT 0,
  progress_total   double precision,
  progress_message text,
  eta_seconds      double precision,
  checkpoint       jsonb,
  result           jsonb,
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 3,
  error            text,
  owner            text,
  heartbeat_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_state_idx ON jobs (state, created_at);
