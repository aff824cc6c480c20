-- The vector PCRS per commune in the bulk publication tree (issue 13, item 4): one CNIG GML file per
-- commune of the current PCRS, built by a job into the intermediate tier. A build is one state of
-- its inputs (`stamp`: the published vector versions and their imports, the commune outlines); the
-- tree shows the newest finished build, so that a mirror never copies a half-built one.
CREATE TABLE publication_vector_builds (
  stamp       text PRIMARY KEY CHECK (stamp ~ '^[0-9a-f]{64}$'),
  job_id      bigint REFERENCES jobs (id) ON DELETE SET NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  files       integer
);
CREATE INDEX publication_vector_builds_finished_idx ON publication_vector_builds (finished_at);

CREATE TABLE publication_vector_files (
  stamp     text NOT NULL REFERENCES publication_vector_builds (stamp) ON DELETE CASCADE,
  insee     text NOT NULL,
  -- `46042-cahors.gml`: what the tree names it.
  name      text NOT NULL CHECK (name ~ '^[0-9AB]{5}-[a-z0-9-]{1,80}\.gml$'),
  bytes     bigint NOT NULL CHECK (bytes > 0),
  sha256    text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- Key of the file in the intermediate tier.
  location  text NOT NULL,
  features  integer NOT NULL CHECK (features > 0),
  built_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stamp, insee),
  UNIQUE (stamp, name)
);
