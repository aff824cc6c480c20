-- Contributions (issue 12), continued: vector files in other formats, converted into the PCRS, and
-- business data (hydrants, lighting, street furniture…) kept as datasets of their own.
ALTER TABLE contributions DROP CONSTRAINT contributions_kind_check;
ALTER TABLE contributions ADD CONSTRAINT contributions_kind_check CHECK (kind IN ('raster', 'vector', 'business'));
-- A business contribution's target: {"dataset": id, "title": …, "visibility": "public"|"restricted", "readers": [organisation slugs]}.
ALTER TABLE contributions ADD COLUMN business jsonb;
ALTER TABLE contributions ADD CONSTRAINT contributions_business_check CHECK ((kind = 'business') = (business IS NOT NULL));

-- CNIG properties a vector contribution gives for every object of its files that lacks them (a DXF
-- carries no attributes): {"thematique": "03", "precisionPlanimetrique": "010", …}.
ALTER TABLE contributions ADD COLUMN attribute_defaults jsonb NOT NULL DEFAULT '{}'::jsonb;

-- A vector file sent as GeoPackage, GeoJSON, zipped Shapefile or DXF: the CNIG GML it was converted
-- into (a key of the intermediate tier) — what was validated, and what is published.
ALTER TABLE contribution_files ADD COLUMN converted_location text;

-- Business datasets: the organisation that owns each (only its members' contributions replace its
-- content and choose its readers).
CREATE TABLE business_datasets (
  dataset_id      text PRIMARY KEY REFERENCES datasets (id) ON DELETE CASCADE,
  organisation_id bigint NOT NULL REFERENCES organisations (id),
  -- Organisations granted read when the dataset is restricted (the owner always reads).
  readers         bigint[] NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
