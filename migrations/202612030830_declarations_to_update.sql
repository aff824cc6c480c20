-- Declarations (issue 11): works "to update" marks, and the DT-DICT number made unique.

-- One works declaration per DT/DICT number: the guichet unique import is idempotent on it, and the
-- API answers 409 to a second declaration of the same works. (The CHECK of declarations already
-- keeps dt_dict_ref to works.)
CREATE UNIQUE INDEX declarations_dt_dict_ref_key ON declarations (dt_dict_ref) WHERE dt_dict_ref IS NOT NULL;

-- What works that durably change the street (a "travaux impactant le PCRS" theme) leave to update
-- once their planned end has passed: one mark per declaration and dalle of a gridded dataset
-- (orthophoto), or per declaration and vector version whose area the works cover (dalle_name NULL).
-- Written by the marking (a leased background loop, `pcrs declarations mark-to-update`); the update
-- campaign consumes them (consumed_at, consumed_by).
CREATE TABLE declaration_update_marks (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  declaration_id bigint NOT NULL REFERENCES declarations (id),
  version_id     bigint NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
  dalle_name     text,
  -- The works footprint in Lambert-93: the declared polygon, or a point/line buffered (see
  -- src/declarations/to-update.ts for how much and why).
  area           geometry(Polygon, 2154) NOT NULL,
  -- The works' planned end: the day after it, the area is to update.
  due_on         date NOT NULL,
  marked_at      timestamptz NOT NULL DEFAULT now(),
  consumed_at    timestamptz,
  consumed_by    text CHECK (length(consumed_by) BETWEEN 1 AND 200),
  CHECK ((consumed_at IS NULL) = (consumed_by IS NULL))
);
CREATE UNIQUE INDEX declaration_update_marks_once ON declaration_update_marks (declaration_id, version_id, COALESCE(dalle_name, ''));
CREATE INDEX declaration_update_marks_open_idx ON declaration_update_marks (version_id, id) WHERE consumed_at IS NULL;
CREATE INDEX declaration_update_marks_area_gix ON declaration_update_marks USING gist (area);
-- The marking looks for ended works with themes.
CREATE INDEX declarations_works_end_idx ON declarations (works_end) WHERE type = 'works' AND works_end IS NOT NULL;
