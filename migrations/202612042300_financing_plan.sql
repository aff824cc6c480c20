-- The financing plan (issue 15): its six lines, the amounts the committee enters, and how each
-- line is shared among the partners. What the platform measures (storage, usage, contributions)
-- is not copied here: the plan reads it from its own tables when it is computed.

-- Amounts entered by the committee: a cost (what is paid, to a supplier) or a funding (what is
-- received: a subsidy — FEDER, the State, the Region — or a partner's payment).
CREATE TABLE financing_entries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year            smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  line            text NOT NULL CHECK (line IN ('acquisition', 'update', 'storage', 'contributions', 'access', 'usage')),
  kind            text NOT NULL CHECK (kind IN ('cost', 'funding')),
  label           text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
  -- Euros, cents exact (numeric, never float).
  amount_eur      numeric(14, 2) NOT NULL CHECK (amount_eur >= 0),
  -- A cost's supplier (free text).
  supplier        text CHECK (length(supplier) <= 200),
  -- A funding's source; 'partner' names the paying organisation.
  funder          text CHECK (funder IN ('feder', 'state', 'region', 'partner', 'other')),
  organisation_id bigint REFERENCES organisations (id),
  campaign_id     bigint REFERENCES campaigns (id),
  -- Hosting and serving costs are entered per month.
  month           smallint CHECK (month BETWEEN 1 AND 12),
  note            text CHECK (length(note) <= 2000),
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'funding') = (funder IS NOT NULL)),
  -- A partner's payment names the partner; nothing else names an organisation.
  CHECK ((funder IS NOT DISTINCT FROM 'partner') = (organisation_id IS NOT NULL))
);
CREATE INDEX financing_entries_year_idx ON financing_entries (year, line);

-- How a line of a year is shared among the partners (its allocation key).
--   fixed:      weights = { "<organisation id>": percent, … } summing to 100
--   network:    weights = { "<organisation id>": km of network declared, … }
--   population, area, usage: weights = {} and partners = the organisations sharing (their
--               population from the communes reference, their area of competence, their measured
--               requests of the year)
CREATE TABLE financing_keys (
  year       smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  line       text NOT NULL CHECK (line IN ('acquisition', 'update', 'storage', 'contributions', 'access', 'usage')),
  method     text NOT NULL CHECK (method IN ('fixed', 'population', 'area', 'network', 'usage')),
  weights    jsonb NOT NULL DEFAULT '{}'::jsonb,
  partners   bigint[] NOT NULL DEFAULT '{}',
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (year, line)
);
