-- +goose Up
-- Callbacks: a customer asked to be called back, as soon as possible or at a
-- time in their own time zone. The API writes the request; the callback
-- process (callback-<id>) writes every step after it with a higher version,
-- so a retried or late write never moves the record backwards.
CREATE SEQUENCE callback_number;

CREATE TABLE callbacks (
    id                   text PRIMARY KEY CONSTRAINT callbacks_id_check CHECK (id ~ '^CB[0-9]{7,}$'),
    queue                text NOT NULL REFERENCES queues (name),
    number               text NOT NULL CONSTRAINT callbacks_number_check CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    mode                 text NOT NULL CONSTRAINT callbacks_mode_check CHECK (mode IN ('customer_first', 'agent_first')),
    -- scheduled: waiting for its time, a retry or the queue's opening hours;
    -- queued: waiting in the queue; in_progress: an agent or a dial has it.
    state                text NOT NULL DEFAULT 'scheduled' CONSTRAINT callbacks_state_check
                             CHECK (state IN ('scheduled', 'queued', 'in_progress', 'completed', 'failed', 'cancelled', 'expired')),
    outcome              text NOT NULL DEFAULT '',
    version              int  NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- When: NULL is as soon as possible; otherwise the instant, and the zone
    -- the customer asked in (kept for display and rescheduling).
    scheduled_at         timestamptz,
    time_zone            text NOT NULL DEFAULT 'UTC' CONSTRAINT callbacks_time_zone_check CHECK (length(time_zone) BETWEEN 1 AND 64),
    expires_at           timestamptz NOT NULL,
    -- Context for the agent.
    reason               text NOT NULL DEFAULT '' CONSTRAINT callbacks_reason_check CHECK (length(reason) <= 500),
    ivr                  jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT callbacks_ivr_check CHECK (jsonb_typeof(ivr) = 'object'),
    origin_interaction   text REFERENCES interactions (number),
    case_number          text CONSTRAINT callbacks_case_number_check CHECK (length(case_number) BETWEEN 1 AND 32),
    -- A callback that replaced a waiting call took over its work item's place.
    replaces_interaction text REFERENCES interactions (number),
    replaces_item        text,
    -- Inbound calls from the number while the callback was pending, linked.
    linked_interactions  text[] NOT NULL DEFAULT '{}',
    attempts             int  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts         int  NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    next_attempt_at      timestamptz,
    agent_id             text REFERENCES agents (id),
    -- The callback voice interaction made when the callback connected.
    interaction          text REFERENCES interactions (number),
    workflow_id          text NOT NULL CONSTRAINT callbacks_workflow_id_check CHECK (length(workflow_id) > 0),
    created_by           text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    closed_at            timestamptz,
    CONSTRAINT callbacks_closed_check CHECK ((state IN ('completed', 'failed', 'cancelled', 'expired')) = (closed_at IS NOT NULL))
);
-- One pending callback per number and queue: a second request finds the first.
CREATE UNIQUE INDEX callbacks_one_pending ON callbacks (queue, number) WHERE state IN ('scheduled', 'queued', 'in_progress');
CREATE INDEX callbacks_queue_idx ON callbacks (queue, created_at DESC);
CREATE INDEX callbacks_state_idx ON callbacks (state, created_at DESC);
CREATE INDEX callbacks_number_idx ON callbacks (number) WHERE state IN ('scheduled', 'queued', 'in_progress');

-- Every dial of a callback: when, which number, what came of it, and the
-- agent it was for. Keyed by the attempt number, which is also in the dial's
-- idempotency key.
CREATE TABLE callback_attempts (
    callback    text NOT NULL REFERENCES callbacks (id),
    attempt     int  NOT NULL CHECK (attempt >= 1),
    number      text NOT NULL,
    call_id     text,
    agent_id    text REFERENCES agents (id),
    outcome     text NOT NULL DEFAULT 'dialing' CONSTRAINT callback_attempts_outcome_check
                    CHECK (outcome IN ('dialing', 'answered', 'connected', 'no_answer', 'busy', 'voicemail', 'failed', 'hung_up', 'no_agent')),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    PRIMARY KEY (callback, attempt)
);

-- +goose Down
DROP TABLE callback_attempts;
DROP TABLE callbacks;
DROP SEQUENCE callback_number;
