-- Vigil demo shop: the tables the default business queries
-- (exporters/sql/default_queries.yml) read. Small on purpose: each table
-- holds exactly what one business signal of the operations plan needs.
--
--   orders                  order processing time, conversion (numerator)
--   payments                daily revenue (captured payments)
--   sessions                conversion (denominator), active users
--   login_attempts          failed login attempts
--   satisfaction_responses  customer satisfaction (1-5 ratings)
--   security_events         suspicious activity (events a detector flagged)
--
-- Every time column is timestamptz and indexed, because every default
-- query filters on a recent time window.

CREATE TABLE IF NOT EXISTS orders (
    id            bigserial PRIMARY KEY,
    user_id       bigint       NOT NULL,
    status        text         NOT NULL
                  CHECK (status IN ('pending', 'paid', 'shipped', 'completed', 'cancelled')),
    total_amount  numeric(12, 2) NOT NULL CHECK (total_amount >= 0),
    created_at    timestamptz  NOT NULL DEFAULT now(),
    -- Set when the order reaches 'completed'; processing time = completed_at - created_at.
    completed_at  timestamptz,
    CHECK (completed_at IS NULL OR completed_at >= created_at),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS orders_created_at ON orders (created_at);
CREATE INDEX IF NOT EXISTS orders_completed_at ON orders (completed_at)
    WHERE completed_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS payments (
    id          bigserial PRIMARY KEY,
    order_id    bigint        NOT NULL REFERENCES orders (id),
    amount      numeric(12, 2) NOT NULL CHECK (amount >= 0),
    status      text          NOT NULL CHECK (status IN ('captured', 'failed', 'refunded')),
    created_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payments_created_at ON payments (created_at);

CREATE TABLE IF NOT EXISTS sessions (
    id            bigserial PRIMARY KEY,
    user_id       bigint,          -- NULL for an anonymous visitor
    started_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    CHECK (last_seen_at >= started_at)
);
CREATE INDEX IF NOT EXISTS sessions_started_at ON sessions (started_at);
CREATE INDEX IF NOT EXISTS sessions_last_seen_at ON sessions (last_seen_at);

CREATE TABLE IF NOT EXISTS login_attempts (
    id            bigserial PRIMARY KEY,
    username      text        NOT NULL,
    source_ip     inet        NOT NULL,
    succeeded     boolean     NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_attempts_attempted_at ON login_attempts (attempted_at);
-- Lets the cumulative failed-login count be an index-only scan.
CREATE INDEX IF NOT EXISTS login_attempts_failed ON login_attempts (id) WHERE NOT succeeded;

CREATE TABLE IF NOT EXISTS satisfaction_responses (
    id            bigserial PRIMARY KEY,
    order_id      bigint      REFERENCES orders (id),
    rating        smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    responded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS satisfaction_responses_responded_at
    ON satisfaction_responses (responded_at);

-- Everything the security tooling records; `flagged` marks what a detector
-- classified as suspicious (credential stuffing, card testing, impossible
-- travel...). Suspicious activity = flagged events; any increase alerts.
CREATE TABLE IF NOT EXISTS security_events (
    id           bigserial PRIMARY KEY,
    kind         text        NOT NULL,
    flagged      boolean     NOT NULL,
    source_ip    inet,
    detail       text,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS security_events_flagged ON security_events (id) WHERE flagged;
