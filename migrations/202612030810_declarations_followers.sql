-- Declarations, workflow (issue 11): who follows a declaration (users, and the e-mail address of an
-- anonymous declarant), areas users follow, and anonymous declarations waiting for their e-mail
-- confirmation. Geometries in Lambert-93.

-- Followers of one declaration: a user (its author from the start, anyone signed in who subscribes)
-- or, for an anonymous declaration, the e-mail address that confirmed it. A row deleted is an
-- unsubscription; an unsubscribe link names its row, so an old link never removes a newer row.
CREATE TABLE declaration_subscriptions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  declaration_id bigint NOT NULL REFERENCES declarations (id) ON DELETE CASCADE,
  user_id        bigint REFERENCES users (id) ON DELETE CASCADE,
  email          text CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254),
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((user_id IS NULL) <> (email IS NULL))
);
CREATE UNIQUE INDEX declaration_subscriptions_user_uq ON declaration_subscriptions (declaration_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX declaration_subscriptions_email_uq ON declaration_subscriptions (declaration_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX declaration_subscriptions_user_idx ON declaration_subscriptions (user_id);

-- Areas a user follows: every change of a declaration whose geometry intersects one is mailed,
-- and so is every new declaration there.
CREATE TABLE declaration_area_subscriptions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  geom       geometry(Polygon, 2154) NOT NULL CHECK (ST_IsValid(geom)),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX declaration_area_subscriptions_geom_gix ON declaration_area_subscriptions USING gist (geom);
CREATE INDEX declaration_area_subscriptions_user_idx ON declaration_area_subscriptions (user_id);

-- Anonymous error declarations until their e-mail address is confirmed (then they become a
-- declaration, `declaration_id`). The link's token is kept as its SHA-256 only. Unconfirmed rows
-- are deleted once expired; confirmed ones are kept until then so that a second click answers the
-- same declaration.
CREATE TABLE declaration_anonymous_pending (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash     text NOT NULL UNIQUE,
  email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  type           text NOT NULL CHECK (type = 'error'),
  geom           geometry(Geometry, 2154) NOT NULL CHECK (GeometryType(geom) IN ('POINT', 'LINESTRING', 'POLYGON')),
  title          text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  description    text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 10000),
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  confirmed_at   timestamptz,
  declaration_id bigint REFERENCES declarations (id) ON DELETE SET NULL,
  CHECK (declaration_id IS NULL OR confirmed_at IS NOT NULL)
);
CREATE INDEX declaration_anonymous_pending_expires_idx ON declaration_anonymous_pending (expires_at);

-- Authors follow their declarations, the ones declared before this migration too.
INSERT INTO declaration_subscriptions (declaration_id, user_id)
  SELECT id, author_user_id FROM declarations WHERE author_user_id IS NOT NULL;
