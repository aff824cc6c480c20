-- Communes and EPCI of the territory (issue 13): names, INSEE codes, EPCI membership and
-- population from @etalab/decoupage-administratif; outlines imported from IGN's ADMIN EXPRESS
-- (`pcrs communes import`) or, for the demo, synthetic. Used to go to a commune, to extract by
-- commune or EPCI, and to name where things are.

CREATE TABLE epcis (
  siren       text PRIMARY KEY CHECK (siren ~ '^[0-9]{9}$'),
  name        text NOT NULL,
  -- CA, CC, CU, METRO, MET69.
  kind        text NOT NULL,
  population  integer CHECK (population >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE communes (
  insee           text PRIMARY KEY CHECK (insee ~ '^([0-9]{5}|2[AB][0-9]{3})$'),
  name            text NOT NULL,
  -- The name lower-cased, without accents, hyphens or apostrophes: what a search compares.
  name_search     text NOT NULL,
  departement     text NOT NULL,
  epci_siren      text REFERENCES epcis (siren) ON DELETE SET NULL,
  population      integer CHECK (population >= 0),
  postal_codes    text[] NOT NULL DEFAULT '{}',
  -- Lambert-93 outline; NULL until imported.
  geom            geometry(MultiPolygon, 2154),
  -- Where the outline comes from: the imported file's name, or 'synthetic-demo'.
  geom_source     text,
  geom_updated_at timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX communes_geom_gix ON communes USING gist (geom);
CREATE INDEX communes_name_search_idx ON communes (name_search text_pattern_ops);
CREATE INDEX communes_epci_idx ON communes (epci_siren);
