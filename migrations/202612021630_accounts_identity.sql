-- Identity and access (issue 10): organisations, users and their memberships, server-side
-- sessions, API keys, one-time e-mail tokens, permissions (Géoplateforme-like grants), visibility
-- of datasets and versions, sign-in throttling and an append-only audit log.

CREATE TABLE organisations (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Short stable name used by the CLI and in URLs (fdel, sdis46, cahors…).
  slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind          text NOT NULL CHECK (kind IN ('aplc', 'departement', 'state-service', 'fire-service', 'epci', 'commune', 'company', 'technical-partner', 'other')),
  siren         text CHECK (siren ~ '^[0-9]{9}$'),
  -- INSEE code of a commune (5 characters, Corsica 2A/2B) or SIREN of an EPCI (9 digits).
  insee         text CHECK (insee ~ '^([0-9]{5}|2[AB][0-9]{3}|[0-9]{9})$'),
  -- E-mail domains whose users are suggested this organisation (lowercase, no @).
  email_domains text[] NOT NULL DEFAULT '{}',
  -- Area of competence (Lambert-93).
  area          geometry(MultiPolygon, 2154),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_area_idx ON organisations USING gist (area);

CREATE TABLE users (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Always stored lowercase (the application lowercases before every read and write).
  email            text NOT NULL UNIQUE CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$'),
  display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  -- argon2id (PHC string); null for users who sign in with OpenID Connect only.
  password_hash    text,
  email_verified_at timestamptz,
  -- Platform-wide roles; organisation roles live in memberships.
  platform_roles   text[] NOT NULL DEFAULT '{}' CHECK (platform_roles <@ ARRAY['platform-admin', 'moderator', 'technical']::text[]),
  oidc_issuer      text,
  oidc_subject     text,
  disabled_at      timestamptz,
  language         text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_signin_at   timestamptz,
  UNIQUE (oidc_issuer, oidc_subject)
);

-- A user's place in an organisation: requested by the user, decided by an org admin or a
-- platform admin. Only 'active' memberships give roles.
CREATE TABLE memberships (
  user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  role            text NOT NULL DEFAULT 'member' CHECK (role IN ('org-admin', 'member', 'contractor')),
  status          text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'active', 'refused')),
  message         text,
  requested_at    timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      bigint REFERENCES users (id) ON DELETE SET NULL,
  PRIMARY KEY (user_id, organisation_id)
);
CREATE INDEX memberships_organisation_idx ON memberships (organisation_id, status);

-- Server-side sessions: the cookie holds a random token, the table its SHA-256 only.
CREATE TABLE sessions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash   text NOT NULL UNIQUE,
  user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- Synchronizer token for cookie-authenticated writes (X-CSRF-Token).
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  ip           text,
  user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- API keys: `pcrs_<prefix>_<secret>`; the prefix identifies the key, the secret is stored as a
-- keyed hash (HMAC-SHA-256 with the server secret).
CREATE TABLE api_keys (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  prefix           text NOT NULL UNIQUE,
  secret_hash      text NOT NULL,
  user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The organisation the key acts for (null: the user's own rights only).
  organisation_id  bigint REFERENCES organisations (id) ON DELETE CASCADE,
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  scopes           text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'downloads', 'declarations:write', 'contributions:write', 'archive:restore', 'admin']::text[]),
  expires_at       timestamptz,
  allowed_cidrs    text[] NOT NULL DEFAULT '{}',
  allowed_referers text[] NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  revoked_at       timestamptz,
  last_used_at     timestamptz,
  request_count    bigint NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- E-mail verification and password reset links: SHA-256 of the token, single use, short life.
CREATE TABLE one_time_tokens (
  token_hash text PRIMARY KEY,
  purpose    text NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);

-- Visibility: public = open data (no key needed), restricted = only callers with a permission.
-- A version's own visibility (when set) wins over its dataset's; unpublished versions are
-- restricted whatever is set.
ALTER TABLE datasets ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'restricted'));
ALTER TABLE versions ADD COLUMN visibility text CHECK (visibility IN ('public', 'restricted'));
UPDATE datasets SET visibility = 'restricted' WHERE kind IN ('raw-at', 'business');

-- A grant to read a dataset (optionally one version), to an organisation or a user, optionally
-- limited to a perimeter and an end date, with the charter/licence the grantee accepted.
CREATE TABLE permissions (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organisation_id     bigint REFERENCES organisations (id) ON DELETE CASCADE,
  user_id             bigint REFERENCES users (id) ON DELETE CASCADE,
  dataset_id          text NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  version_name        text,
  perimeter           geometry(MultiPolygon, 2154),
  valid_until         timestamptz,
  charter             text,
  charter_accepted_at timestamptz,
  granted_by          bigint REFERENCES users (id) ON DELETE SET NULL,
  granted_at          timestamptz NOT NULL DEFAULT now(),
  revoked_at          timestamptz,
  CHECK ((organisation_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX permissions_grantee_idx ON permissions (organisation_id, user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins per account and per IP ('email:…', 'ip:…'): growing delay, temporary lockout.
CREATE TABLE signin_failures (
  subject         text PRIMARY KEY,
  failures        integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz NOT NULL DEFAULT now(),
  locked_until    timestamptz
);

-- Append-only: who did what, when, from where. Rows can be added, never changed or removed.
CREATE TABLE audit_log (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  -- 'user:12', 'key:7', 'operator', 'anonymous' (Caller.id).
  actor           text NOT NULL,
  actor_user_id   bigint,
  organisation_id bigint,
  action          text NOT NULL,
  target          text,
  details         jsonb NOT NULL DEFAULT '{}',
  ip              text
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, at);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
