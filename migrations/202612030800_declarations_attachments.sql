-- Attachments of declarations (issue 11): photos, PDF, GML and DXF extracts. The bytes live in the
-- intermediate storage tier under a key made of the declaration id and their SHA-256
-- (`declarations/<id>/attachments/<sha256>`), never of the uploader's file name. Deleting an
-- attachment sets deleted_at (the row stays for the record) and removes the bytes.

CREATE TABLE declaration_attachments (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  declaration_id   bigint NOT NULL REFERENCES declarations (id),
  -- The uploader's file name, sanitised for display (no path, no control or bidi characters).
  filename         text NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
  -- Sniffed from the bytes, never taken from the request.
  content_type     text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif', 'application/pdf', 'application/gml+xml', 'image/vnd.dxf')),
  size             bigint NOT NULL CHECK (size > 0),
  sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  tier             text NOT NULL DEFAULT 'intermediate' CHECK (tier IN ('cold', 'intermediate', 'nas', 'hot')),
  storage_key      text NOT NULL,
  uploader_actor   text NOT NULL,
  uploader_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  deleted_by       text,
  CHECK (storage_key = 'declarations/' || declaration_id || '/attachments/' || sha256)
);
CREATE INDEX declaration_attachments_declaration_idx ON declaration_attachments (declaration_id, id);
-- The same bytes once per declaration (their key is the same).
CREATE UNIQUE INDEX declaration_attachments_live_sha_idx ON declaration_attachments (declaration_id, sha256) WHERE deleted_at IS NULL;
