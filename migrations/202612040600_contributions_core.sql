-- Contributions (issue 12): partners send PCRS updates — orthophoto dalles or CNIG GML — for an
-- organisation; each file is uploaded resumably (tus), stored in the intermediate tier under its
-- SHA-256 and validated by a job with the same rules as the operator's ingest and import.
CREATE TABLE contributions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('raster', 'vector')),
  title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description     text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
  organisation_id bigint NOT NULL REFERENCES organisations (id),
  author_user_id  bigint REFERENCES users (id),
  -- 'user:12', 'key:7', 'operator': who created it.
  author_actor    text NOT NULL,
  surveyed_on     date,
  producer        text CHECK (length(producer) <= 200),
  -- draft: no file yet; validating: a file waits for or is in its validation; invalid: a file was
  -- rejected (replace it); valid: every file passed. A moderator then asks for changes (the
  -- contributor sends files again), rejects it (final), or accepts it: publishing (the update
  -- version is being built, not served yet), then accepted (published) — or back to valid if the
  -- publication failed.
  state           text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'validating', 'invalid', 'valid', 'changes-requested', 'rejected', 'publishing', 'accepted')),
  moderated_by    text,
  moderated_at    timestamptz,
  -- The moderator's words to the contributor (required to reject or ask for changes).
  reason          text CHECK (length(reason) <= 2000),
  -- The update version the accepted contribution became.
  version_id      bigint REFERENCES versions (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contributions_organisation_idx ON contributions (organisation_id, id DESC);
CREATE INDEX contributions_author_idx ON contributions (author_user_id, id DESC);

CREATE TABLE contribution_files (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contribution_id bigint NOT NULL REFERENCES contributions (id) ON DELETE CASCADE,
  name            text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$'),
  bytes           bigint NOT NULL CHECK (bytes > 0),
  sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- Key in the intermediate tier.
  location        text NOT NULL,
  uploaded_at     timestamptz NOT NULL DEFAULT now(),
  -- pending: waiting for its validation; then the report's verdict.
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'warning', 'rejected')),
  report          jsonb,
  job_id          bigint REFERENCES jobs (id) ON DELETE SET NULL,
  validated_at    timestamptz,
  -- Uploading a file of the same name replaces it.
  UNIQUE (contribution_id, name)
);

-- The declarations a contribution answers: resolved, with a link to the new version, when it is published.
CREATE TABLE contribution_declarations (
  contribution_id bigint NOT NULL REFERENCES contributions (id) ON DELETE CASCADE,
  declaration_id  bigint NOT NULL REFERENCES declarations (id),
  PRIMARY KEY (contribution_id, declaration_id)
);
