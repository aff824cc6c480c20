-- Update campaigns (issue 14): the APLC orders a survey of an area (orthophoto, vector or both) from
-- a contractor; the campaign lists the dalles it expects, ticks them off as deliveries arrive
-- (`pcrs ingest --campaign`), and is published as one update version.

CREATE TABLE campaigns (
  id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Short stable name used by the CLI and in URLs (e.g. 2027-cahors); also names its versions.
  slug                       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,47}$'),
  title                      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  kind                       text NOT NULL CHECK (kind IN ('ortho', 'vector', 'mixed')),
  status                     text NOT NULL DEFAULT 'planned'
                             CHECK (status IN ('planned', 'ordered', 'in-acquisition', 'delivered', 'checked', 'published', 'cancelled')),
  -- Grid of the expected dalles: 1 km or 200 m.
  dalle_size                 integer NOT NULL CHECK (dalle_size IN (200, 1000)),
  -- The target area (Lambert-93) and how it was built: drawn, the open "to update" marks, communes,
  -- or the current dalles older than N years.
  area                       geometry(MultiPolygon, 2154) NOT NULL,
  area_source                text NOT NULL CHECK (area_source IN ('drawn', 'to-update', 'communes', 'older-than')),
  area_details               jsonb NOT NULL DEFAULT '{}'::jsonb,
  contractor_organisation_id bigint REFERENCES organisations (id),
  planned_start              date,
  planned_end                date,
  CHECK (planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start),
  -- Budget lines [{label, category, amountEur}]: what the financing plan sums.
  budget                     jsonb NOT NULL DEFAULT '[]'::jsonb,
  description                text CHECK (length(description) <= 10000),
  created_by                 text NOT NULL,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  -- The orthophoto version its deliveries go into (unpublished until the campaign is).
  ortho_version_id           bigint REFERENCES versions (id),
  published_at               timestamptz
);
CREATE INDEX campaigns_area_gix ON campaigns USING gist (area);

-- Each delivery received into a campaign: where from, what it held, its report's summary.
CREATE TABLE campaign_deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  source        text NOT NULL CHECK (source IN ('ingest', 'gml-import', 'contribution')),
  label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 500),
  acquired_on   date,
  received_by   text NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  summary       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX campaign_deliveries_campaign_idx ON campaign_deliveries (campaign_id, id);

-- The dalles a campaign expects (from its area, on its grid) and what became of them. A delivered
-- dalle outside the area gets a row too, flagged `outside`.
CREATE TABLE campaign_dalles (
  campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  grid_col      integer NOT NULL,
  grid_row      integer NOT NULL,
  -- X-Y of the upper-left corner as in dalle names: km on 4 digits (1 km), hm on 5 digits (200 m).
  label         text NOT NULL,
  footprint     geometry(Polygon, 2154) NOT NULL,
  expected      boolean NOT NULL DEFAULT true,
  state         text NOT NULL DEFAULT 'expected' CHECK (state IN ('expected', 'received', 'accepted', 'rejected')),
  reason        text CHECK (length(reason) <= 2000),
  -- The delivery that last touched it, and the catalogue dalle it became.
  delivery_id   bigint REFERENCES campaign_deliveries (id) ON DELETE SET NULL,
  dalle_id      bigint REFERENCES dalles (id) ON DELETE SET NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, grid_col, grid_row)
);

-- The action log of a campaign (status changes, deliveries, decisions), newest last.
CREATE TABLE campaign_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  at            timestamptz NOT NULL DEFAULT now(),
  actor         text NOT NULL,
  action        text NOT NULL,
  from_status   text,
  to_status     text,
  note          text CHECK (length(note) <= 2000)
);
CREATE INDEX campaign_events_campaign_idx ON campaign_events (campaign_id, id);
