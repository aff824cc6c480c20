-- The hot pyramid of each version: which tiled GeoTIFF holds each level-15 ("detail", levels
-- 22–15) or level-6 ("overview", levels 14–6) tile of 2154_5cm. Files are content-addressed and
-- immutable; rebuilding a file (a later delivery into the same version) points the row at a new
-- file. The file itself is an asset of the hot tier (fixity, usage).
CREATE TABLE pyramid_files (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id  bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  family      text NOT NULL CHECK (family IN ('detail', 'overview')),
  col         integer NOT NULL,
  row         integer NOT NULL,
  asset_id    bigint NOT NULL REFERENCES assets (id),
  key         text NOT NULL,
  bytes       bigint NOT NULL,
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  tile_count  integer NOT NULL,
  built_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (version_id, family, col, row)
);
CREATE INDEX pyramid_files_lookup_idx ON pyramid_files (family, col, row);
