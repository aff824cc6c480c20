-- Usage counters (issue 15). Each node counts in memory and adds its counts here in batches
-- (INSERT … ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n): several nodes add up, none overwrites.
-- Organisation and key are plain ids, not foreign keys: the history of a deleted organisation or
-- key stays (the statistics label it as deleted). NULL = anonymous / no organisation.
CREATE TABLE usage_daily (
  day date NOT NULL,
  service text NOT NULL,
  layer text NOT NULL DEFAULT '',
  organisation_id bigint,
  key_id bigint,
  status_class smallint NOT NULL CHECK (status_class BETWEEN 1 AND 5),
  requests bigint NOT NULL CHECK (requests >= 0),
  bytes bigint NOT NULL CHECK (bytes >= 0),
  CONSTRAINT usage_daily_labels UNIQUE NULLS NOT DISTINCT (day, service, layer, organisation_id, key_id, status_class)
);
CREATE INDEX usage_daily_org_idx ON usage_daily (organisation_id, day);
CREATE INDEX usage_daily_key_idx ON usage_daily (key_id, day) WHERE key_id IS NOT NULL;

-- The same counts by month, written with the daily ones: kept long after the daily rows expire.
CREATE TABLE usage_monthly (
  month date NOT NULL CHECK (extract(day FROM month) = 1),
  service text NOT NULL,
  layer text NOT NULL DEFAULT '',
  organisation_id bigint,
  key_id bigint,
  status_class smallint NOT NULL CHECK (status_class BETWEEN 1 AND 5),
  requests bigint NOT NULL CHECK (requests >= 0),
  bytes bigint NOT NULL CHECK (bytes >= 0),
  CONSTRAINT usage_monthly_labels UNIQUE NULLS NOT DISTINCT (month, service, layer, organisation_id, key_id, status_class)
);
CREATE INDEX usage_monthly_org_idx ON usage_monthly (organisation_id, month);

-- Where tiles are asked for: requests per day and 1 km cell of Lambert-93 (the 1 km dalle grid).
CREATE TABLE usage_areas (
  day date NOT NULL,
  cell_x integer NOT NULL,
  cell_y integer NOT NULL,
  requests bigint NOT NULL CHECK (requests >= 0),
  PRIMARY KEY (day, cell_x, cell_y)
);
