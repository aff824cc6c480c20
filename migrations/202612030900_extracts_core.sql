-- Extracts by area (issue 13): the dalles' masters and the vector PCRS over an area, delivered as
-- one ZIP computed on the fly from a plan (names, sizes, CRC-32s, where each entry's bytes are),
-- so no archive is ever written. Re-used when the same content was asked before.

CREATE TABLE extracts (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  requester_actor    text NOT NULL,
  requester_user_id  bigint REFERENCES users (id) ON DELETE SET NULL,
  -- The request as normalised (area kind and label, contents, versions): shown back, and hashed.
  request            jsonb NOT NULL,
  request_hash       text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  area               geometry(MultiPolygon, 2154) NOT NULL,
  area_label         text NOT NULL,
  state              text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'ready', 'failed', 'expired')),
  job_id             bigint REFERENCES jobs (id) ON DELETE SET NULL,
  -- Once planned: SHA-256 of the entries (names and contents' SHA-256), the ZIP's size and entries.
  content_hash       text CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  zip_bytes          bigint CHECK (zip_bytes >= 0),
  entry_count        integer,
  -- When the content was planned (the ZIP's file dates): a re-used extract keeps its original's, so the same content is the same bytes.
  content_time       timestamptz,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  ready_at           timestamptz,
  expires_at         timestamptz
);
CREATE INDEX extracts_requester_idx ON extracts (requester_actor, created_at DESC);
CREATE INDEX extracts_hash_idx ON extracts (request_hash, state);
CREATE INDEX extracts_expiry_idx ON extracts (state, expires_at);

-- The ZIP's entries, in order. Bytes come from a catalogue asset (a master), from an object of the
-- intermediate tier written for this extract (the vector PCRS), or from this row (small texts).
CREATE TABLE extract_entries (
  extract_id  bigint NOT NULL REFERENCES extracts (id) ON DELETE CASCADE,
  seq         integer NOT NULL,
  name        text NOT NULL,
  bytes       bigint NOT NULL CHECK (bytes >= 0),
  crc32       bigint NOT NULL CHECK (crc32 BETWEEN 0 AND 4294967295),
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  asset_id    bigint REFERENCES assets (id),
  tier        text CHECK (tier IN ('intermediate')),
  location    text,
  inline      bytea,
  PRIMARY KEY (extract_id, seq),
  UNIQUE (extract_id, name),
  CHECK ((asset_id IS NOT NULL)::int + (location IS NOT NULL)::int + (inline IS NOT NULL)::int = 1)
);

-- CRC-32 of a master, computed once (the SHA-256 is verified on the same read): a second extract
-- over the same dalles plans without reading them again.
CREATE TABLE asset_crc32 (
  asset_id  bigint PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
  crc32     bigint NOT NULL CHECK (crc32 BETWEEN 0 AND 4294967295)
);
