-- Declarations (issue 11): webhooks — registered URLs that receive every action of the log
-- (declaration_actions) in order, signed with a per-webhook secret; and their delivery log.

CREATE TABLE declaration_webhooks (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url                text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
  -- Event types it receives ('declaration.opened', …); empty = all.
  events             text[] NOT NULL DEFAULT '{}'
                     CHECK (events <@ ARRAY['declaration.opened', 'declaration.commented', 'declaration.status-changed', 'declaration.assigned',
                                            'declaration.merged-duplicate', 'declaration.closed', 'declaration.reopened']::text[]),
  -- The signing secret, encrypted (AES-256-GCM, key derived from the server secret): the platform
  -- needs it back to sign. Shown once, at creation.
  secret_sealed      text NOT NULL,
  created_by         text NOT NULL,
  created_by_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  -- The cursor: the last action delivered (or skipped by the events filter). Starts at the last
  -- action when the webhook is registered.
  last_action_id     bigint NOT NULL CHECK (last_action_id >= 0),
  -- 'failing': paused after too many failed attempts at one event, until someone resumes it.
  state              text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'failing')),
  -- Failed attempts at the next event (reset when it is delivered or the webhook resumed).
  failures           integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
  -- No attempt before this (the backoff after a failure).
  next_attempt_at    timestamptz,
  last_error         text,
  failing_since      timestamptz,
  CHECK ((state = 'failing') = (failing_since IS NOT NULL))
);

-- One line per attempt: which event, which attempt, the HTTP status or the error, how long it took.
CREATE TABLE declaration_webhook_deliveries (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id  bigint NOT NULL REFERENCES declaration_webhooks (id) ON DELETE CASCADE,
  event_id    bigint NOT NULL,
  attempt     integer NOT NULL CHECK (attempt >= 1),
  status_code integer,
  error       text CHECK (length(error) <= 500),
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  at          timestamptz NOT NULL DEFAULT now(),
  -- After a failure: when the next attempt is due (the backoff); NULL when delivered or paused.
  retry_at    timestamptz,
  CHECK (status_code IS NOT NULL OR error IS NOT NULL)
);
CREATE INDEX declaration_webhook_deliveries_webhook_idx ON declaration_webhook_deliveries (webhook_id, id);

-- Actions become visible in the order of their ids, so a cursor never passes one that is still
-- being written: each INSERT statement takes a transaction-level advisory lock *before* its rows
-- get their ids (statement-level BEFORE triggers fire before the identity default is evaluated);
-- the lock is held until commit, so a later id is only allocated once the earlier one committed
-- (or rolled back, leaving a gap nobody waits for).
CREATE FUNCTION declaration_actions_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(4605202612030820);
  RETURN NULL;
END;
$$;
CREATE TRIGGER declaration_actions_in_order BEFORE INSERT ON declaration_actions
  FOR EACH STATEMENT EXECUTE FUNCTION declaration_actions_in_order();
