-- Vector PCRS (CNIG PCRS v2.0): one feature table for every class of every version of a vector
-- dataset (see docs/vector-store.md for why not one table per class), the imported files, and the
-- areas each version covers (which decide the current PCRS: latest published version per area).
CREATE TABLE vector_imports (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id    bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  file_name     text NOT NULL,
  sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  bytes         bigint NOT NULL,
  feature_count integer NOT NULL,
  by_class      jsonb NOT NULL DEFAULT '{}'::jsonb,
  source_crs    text[] NOT NULL DEFAULT '{}',
  report        jsonb,
  imported_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (version_id, sha256)
);

CREATE TABLE vector_features (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id              bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  import_id               bigint NOT NULL REFERENCES vector_imports (id) ON DELETE CASCADE,
  class                   text NOT NULL,
  namespace               text NOT NULL,
  gml_id                  text,
  id_objet                text,
  thematique              text,
  qualite_categorisation  text,
  precision_planimetrique text,
  precision_altimetrique  text,
  producteur              text,
  date_leve               text,
  attributes              jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Generic geometry (2D or 3D, any type) in Lambert-93: a typmod would force one dimension.
  geometry                geometry CHECK (ST_SRID(geometry) = 2154),
  dimension               smallint,
  curved                  boolean NOT NULL DEFAULT false,
  source_crs              text,
  srs_name                text,
  source_line             integer NOT NULL
);
CREATE INDEX vector_features_geom_gix ON vector_features USING gist (geometry);
CREATE INDEX vector_features_version_class_idx ON vector_features (version_id, class, id);
CREATE INDEX vector_features_import_idx ON vector_features (import_id);
CREATE INDEX vector_features_id_objet_idx ON vector_features (id_objet);

-- What a version covers, per imported file: the union of its EmpriseEchangePCRS footprints, or
-- when the file has none, the convex hull of its features. A published version with a higher
-- priority hides the features of older versions whose representative point lies in its areas.
CREATE TABLE vector_areas (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id  bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  import_id   bigint NOT NULL REFERENCES vector_imports (id) ON DELETE CASCADE,
  source      text NOT NULL CHECK (source IN ('emprise', 'hull')),
  footprint   geometry(Geometry, 2154) NOT NULL
);
CREATE INDEX vector_areas_footprint_gix ON vector_areas USING gist (footprint);
CREATE INDEX vector_areas_version_idx ON vector_areas (version_id);
