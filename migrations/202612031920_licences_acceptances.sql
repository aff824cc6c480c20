-- Licence and charter acceptances (issue 13, item 3): who accepted which text, in which version,
-- when. A signed-in user is recorded by id; an anonymous browser by the SHA-256 of a random cookie
-- it carries (the cookie itself is never stored). Append-only, like the audit log.

CREATE TABLE licence_acceptances (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- 'licence-ouverte' (open data) or 'charter' (the usage charter of restricted data).
  licence      text NOT NULL CHECK (licence IN ('licence-ouverte', 'charter')),
  version      text NOT NULL CHECK (length(version) BETWEEN 1 AND 40),
  user_id      bigint REFERENCES users (id),
  browser_hash text CHECK (browser_hash ~ '^[0-9a-f]{64}$'),
  accepted_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (user_id IS NOT NULL OR browser_hash IS NOT NULL)
);
CREATE INDEX licence_acceptances_user ON licence_acceptances (user_id, licence, version) WHERE user_id IS NOT NULL;
CREATE INDEX licence_acceptances_browser ON licence_acceptances (browser_hash, licence, version) WHERE browser_hash IS NOT NULL;

CREATE FUNCTION licence_acceptances_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'licence_acceptances is append-only';
END $$;
CREATE TRIGGER licence_acceptances_append_only BEFORE UPDATE OR DELETE ON licence_acceptances
  FOR EACH ROW EXECUTE FUNCTION licence_acceptances_append_only();
