-- +goose Up
-- Every event the telephony platform posted, once per event id, with what
-- casehub did with it (an event for an unknown call is kept, not dropped).
CREATE TABLE cti_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    call_id      text NOT NULL DEFAULT '',
    chat_id      text NOT NULL DEFAULT '',
    outcome      text NOT NULL,
    workflow_id  text NOT NULL DEFAULT '',
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cti_events_call_idx ON cti_events (call_id) WHERE call_id <> '';
CREATE INDEX cti_events_outcome_idx ON cti_events (outcome, received_at);

-- Which casehub process owns a call leg or chat on the platform.
CREATE TABLE cti_legs (
    leg_id       text PRIMARY KEY,
    workflow_id  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE cti_legs;
DROP TABLE cti_events;
