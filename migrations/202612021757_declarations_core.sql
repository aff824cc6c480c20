-- Declarations (issue 11, first slice): errors, update requests, works and interventions reported
-- on the territory, their triage status and an append-only action log. Geometries in Lambert-93.

CREATE TABLE declarations (
  id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type                     text NOT NULL CHECK (type IN ('error', 'update-request', 'works', 'intervention')),
  -- Point, LineString or Polygon, valid, in Lambert-93 (WGS84 and CC-zone input is transformed).
  geom                     geometry(Geometry, 2154) NOT NULL CHECK (GeometryType(geom) IN ('POINT', 'LINESTRING', 'POLYGON')),
  title                    text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  description              text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 10000),
  -- The layer it is about (a dataset, optionally one of its versions), or none.
  dataset_id               text REFERENCES datasets (id),
  version_name             text CHECK (version_name IS NULL OR dataset_id IS NOT NULL),
  author_user_id           bigint REFERENCES users (id) ON DELETE SET NULL,
  -- The caller's stable id when declared ('user:12', 'key:7', 'operator').
  author_actor             text NOT NULL,
  author_organisation_id   bigint REFERENCES organisations (id) ON DELETE SET NULL,
  status                   text NOT NULL DEFAULT 'submitted'
                           CHECK (status IN ('submitted', 'acknowledged', 'in-progress', 'resolved', 'rejected', 'duplicate')),
  assigned_user_id         bigint REFERENCES users (id) ON DELETE SET NULL,
  assigned_organisation_id bigint REFERENCES organisations (id) ON DELETE SET NULL,
  -- Works (the DT-DICT form's fields): reference, planned dates, "travaux impactant le PCRS" themes.
  dt_dict_ref              text CHECK (length(dt_dict_ref) BETWEEN 1 AND 64),
  works_start              date,
  works_end                date CHECK (works_end IS NULL OR works_start IS NULL OR works_end >= works_start),
  themes                   text[] NOT NULL DEFAULT '{}'
                           CHECK (themes <@ ARRAY['02', '03A', '03B', '04', '05', '06', '07', '08', '09', '10']::text[]),
  duplicate_of             bigint REFERENCES declarations (id) CHECK (duplicate_of IS NULL OR duplicate_of <> id),
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  CHECK (type = 'works' OR (dt_dict_ref IS NULL AND works_start IS NULL AND works_end IS NULL AND themes = '{}')),
  CHECK (duplicate_of IS NULL OR status = 'duplicate')
);
CREATE INDEX declarations_geom_gix ON declarations USING gist (geom);
CREATE INDEX declarations_status_idx ON declarations (status, updated_at);
CREATE INDEX declarations_updated_idx ON declarations (updated_at, id);
CREATE INDEX declarations_author_org_idx ON declarations (author_organisation_id);
CREATE INDEX declarations_themes_idx ON declarations USING gin (themes);

-- What happened to a declaration, in order: who, when, what, with which text. Append-only.
CREATE TABLE declaration_actions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  declaration_id bigint NOT NULL REFERENCES declarations (id),
  action         text NOT NULL CHECK (action IN ('opened', 'commented', 'status-changed', 'assigned', 'merged-duplicate', 'closed', 'reopened')),
  actor          text NOT NULL,
  actor_user_id  bigint REFERENCES users (id) ON DELETE SET NULL,
  at             timestamptz NOT NULL DEFAULT now(),
  text           text CHECK (length(text) <= 10000),
  from_status    text,
  to_status      text,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX declaration_actions_declaration_idx ON declaration_actions (declaration_id, id);

CREATE FUNCTION declaration_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'declaration_actions is append-only';
END;
$$;
CREATE TRIGGER declaration_actions_no_change BEFORE UPDATE OR DELETE ON declaration_actions
  FOR EACH ROW EXECUTE FUNCTION declaration_actions_append_only();
CREATE TRIGGER declaration_actions_no_truncate BEFORE TRUNCATE ON declaration_actions
  FOR EACH STATEMENT EXECUTE FUNCTION declaration_actions_append_only();
