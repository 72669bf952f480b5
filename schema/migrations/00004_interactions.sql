-- +goose Up
-- Interactions: the record of one point of contact (a call, a chat, an email,
-- a walk-in, a self-service session), written by the interaction process as it
-- moves. Numbers are for people to read out: IMS0000042, INC0000007,
-- REQ0000003; past seven digits they grow one.

-- +goose StatementBegin
CREATE FUNCTION format_record_number(prefix text, n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT prefix || CASE WHEN n < 10000000 THEN lpad(n::text, 7, '0') ELSE n::text END
$$;
-- +goose StatementEnd

CREATE SEQUENCE interaction_number;
CREATE SEQUENCE incident_number;
CREATE SEQUENCE service_request_number;

-- version is the process's step counter: a change is applied only when it
-- carries a higher version, so a retried or late write never moves the record
-- backwards.
CREATE TABLE interactions (
    number            text PRIMARY KEY CONSTRAINT interactions_number_check CHECK (number ~ '^IMS[0-9]{7,}$'),
    channel           text NOT NULL CONSTRAINT interactions_channel_check
                          CHECK (channel IN ('phone', 'chat', 'email', 'walk_in', 'self_service')),
    direction         text NOT NULL CONSTRAINT interactions_direction_check CHECK (direction IN ('inbound', 'outbound')),
    state             text NOT NULL CONSTRAINT interactions_state_check
                          CHECK (state IN ('new', 'pending_acceptance', 'work_in_progress', 'closed_complete')),
    version           int  NOT NULL DEFAULT 1 CONSTRAINT interactions_version_check CHECK (version >= 1),
    -- Opened for: the contact (and its company) the interaction is with.
    contact_id        uuid REFERENCES contacts (id) ON DELETE RESTRICT,
    company_id        uuid REFERENCES companies (id) ON DELETE RESTRICT,
    contact_email     text CONSTRAINT interactions_contact_email_check CHECK (length(contact_email) BETWEEN 1 AND 254),
    contact_phone     text CONSTRAINT interactions_contact_phone_check CHECK (length(contact_phone) BETWEEN 1 AND 32),
    -- Assignment group and assigned to.
    queue             text REFERENCES queues (name),
    agent_id          text REFERENCES agents (id),
    short_description text NOT NULL DEFAULT '' CONSTRAINT interactions_short_description_check CHECK (length(short_description) <= 500),
    description       text NOT NULL DEFAULT '' CONSTRAINT interactions_description_check CHECK (length(description) <= 10000),
    -- What the caller chose in the IVR, as flat string pairs.
    ivr               jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT interactions_ivr_check CHECK (jsonb_typeof(ivr) = 'object'),
    call_id           text,
    chat_id           text,
    disposition       text,
    workflow_id       text NOT NULL CONSTRAINT interactions_workflow_id_check CHECK (length(workflow_id) > 0),
    created_by        text, -- the agent or integration that opened it; NULL when the platform did
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    accepted_at       timestamptz,
    closed_at         timestamptz,
    CONSTRAINT interactions_accepted_check CHECK (state <> 'work_in_progress' OR accepted_at IS NOT NULL),
    CONSTRAINT interactions_closed_check CHECK ((state = 'closed_complete') = (closed_at IS NOT NULL))
);
CREATE INDEX interactions_created_idx ON interactions (created_at DESC, number DESC);
CREATE INDEX interactions_state_idx ON interactions (state, created_at DESC);
CREATE INDEX interactions_agent_idx ON interactions (agent_id, created_at DESC);
CREATE INDEX interactions_queue_idx ON interactions (queue, created_at DESC);
CREATE INDEX interactions_channel_idx ON interactions (channel, created_at DESC);
CREATE INDEX interactions_contact_idx ON interactions (contact_id);
CREATE INDEX interactions_call_idx ON interactions (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX interactions_chat_idx ON interactions (chat_id) WHERE chat_id IS NOT NULL;

-- Every state an interaction went through, one row per process step that
-- changed it. Append-only; the primary key makes a retried write a no-op.
CREATE TABLE interaction_history (
    interaction  text NOT NULL REFERENCES interactions (number),
    version      int  NOT NULL CHECK (version >= 1),
    from_state   text NOT NULL DEFAULT '' -- '' when the interaction was opened
                     CHECK (from_state IN ('', 'new', 'pending_acceptance', 'work_in_progress', 'closed_complete')),
    to_state     text NOT NULL CHECK (to_state IN ('new', 'pending_acceptance', 'work_in_progress', 'closed_complete')),
    actor        text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (interaction, version)
);

-- Work notes: internal, never shown to the customer. Append-only;
-- request_id makes a retried write a no-op.
CREATE TABLE interaction_notes (
    id           bigserial PRIMARY KEY,
    interaction  text NOT NULL REFERENCES interactions (number),
    author       text NOT NULL CONSTRAINT interaction_notes_author_check CHECK (length(author) > 0),
    body         text NOT NULL CONSTRAINT interaction_notes_body_check CHECK (length(btrim(body)) > 0 AND length(body) <= 10000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    request_id   text CONSTRAINT interaction_notes_request_id_check CHECK (length(request_id) > 0),
    CONSTRAINT interaction_notes_request_id_key UNIQUE (request_id)
);
CREATE INDEX interaction_notes_interaction_idx ON interaction_notes (interaction, id);

-- Records related to an interaction: the case the caller named, the
-- incidents and requests it was escalated to.
CREATE TABLE interaction_related (
    interaction  text NOT NULL REFERENCES interactions (number),
    kind         text NOT NULL CONSTRAINT interaction_related_kind_check CHECK (kind IN ('case', 'incident', 'request')),
    ref          text NOT NULL CONSTRAINT interaction_related_ref_check CHECK (length(ref) BETWEEN 1 AND 64),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (interaction, kind, ref)
);

-- One row per ended call, as the platform reported it.
CREATE TABLE phone_logs (
    call_id           text PRIMARY KEY CONSTRAINT phone_logs_call_id_check CHECK (length(call_id) > 0),
    interaction       text NOT NULL REFERENCES interactions (number),
    from_number       text NOT NULL DEFAULT '',
    to_number         text NOT NULL DEFAULT '',
    agent_id          text REFERENCES agents (id),
    started_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz NOT NULL,
    duration_seconds  int NOT NULL CONSTRAINT phone_logs_duration_seconds_check CHECK (duration_seconds >= 0),
    CONSTRAINT phone_logs_ended_at_check CHECK (ended_at >= started_at)
);
CREATE INDEX phone_logs_interaction_idx ON phone_logs (interaction, started_at);

-- Transfers of an interaction from one agent to another agent or a queue.
CREATE TABLE interaction_transfers (
    id           bigserial PRIMARY KEY,
    interaction  text NOT NULL REFERENCES interactions (number),
    from_agent   text NOT NULL REFERENCES agents (id),
    to_agent     text REFERENCES agents (id),
    to_queue     text REFERENCES queues (name),
    at           timestamptz NOT NULL DEFAULT now(),
    request_id   text NOT NULL CONSTRAINT interaction_transfers_request_id_check CHECK (length(request_id) > 0),
    CONSTRAINT interaction_transfers_request_id_key UNIQUE (request_id),
    CONSTRAINT interaction_transfers_target_check CHECK (to_agent IS NOT NULL OR to_queue IS NOT NULL)
);
CREATE INDEX interaction_transfers_interaction_idx ON interaction_transfers (interaction, at);

-- A chat's transcript; seq is the order the process received the messages in.
CREATE TABLE chat_messages (
    interaction  text NOT NULL REFERENCES interactions (number),
    seq          int  NOT NULL CONSTRAINT chat_messages_seq_check CHECK (seq >= 0),
    sender       text NOT NULL CONSTRAINT chat_messages_sender_check CHECK (sender IN ('customer', 'agent')),
    text         text NOT NULL CONSTRAINT chat_messages_text_check CHECK (length(text) <= 20000),
    at           timestamptz NOT NULL,
    PRIMARY KEY (interaction, seq)
);

-- Incidents and service requests an interaction was escalated to. request_id
-- makes creation idempotent: a retried escalation finds the first record.
-- case_number is not a foreign key: cases are numbered by their own process.
CREATE TABLE incidents (
    number              text PRIMARY KEY DEFAULT format_record_number('INC', nextval('incident_number'))
                            CONSTRAINT incidents_number_check CHECK (number ~ '^INC[0-9]{7,}$'),
    interaction         text NOT NULL REFERENCES interactions (number),
    case_number         text CONSTRAINT incidents_case_number_check CHECK (length(case_number) BETWEEN 1 AND 64),
    short_description   text NOT NULL DEFAULT '' CONSTRAINT incidents_short_description_check CHECK (length(short_description) <= 500),
    description         text NOT NULL DEFAULT '' CONSTRAINT incidents_description_check CHECK (length(description) <= 10000),
    contact_id          uuid REFERENCES contacts (id) ON DELETE RESTRICT,
    chat_initiated_at   timestamptz,
    chat_accepted_at    timestamptz,
    chat_terminated_at  timestamptz,
    transcript          text NOT NULL DEFAULT '',
    created_by          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    request_id          text NOT NULL CONSTRAINT incidents_request_id_check CHECK (length(request_id) > 0),
    CONSTRAINT incidents_request_id_key UNIQUE (request_id)
);
CREATE INDEX incidents_interaction_idx ON incidents (interaction);

CREATE TABLE service_requests (
    number              text PRIMARY KEY DEFAULT format_record_number('REQ', nextval('service_request_number'))
                            CONSTRAINT service_requests_number_check CHECK (number ~ '^REQ[0-9]{7,}$'),
    interaction         text NOT NULL REFERENCES interactions (number),
    case_number         text CONSTRAINT service_requests_case_number_check CHECK (length(case_number) BETWEEN 1 AND 64),
    short_description   text NOT NULL DEFAULT '' CONSTRAINT service_requests_short_description_check CHECK (length(short_description) <= 500),
    description         text NOT NULL DEFAULT '' CONSTRAINT service_requests_description_check CHECK (length(description) <= 10000),
    contact_id          uuid REFERENCES contacts (id) ON DELETE RESTRICT,
    chat_initiated_at   timestamptz,
    chat_accepted_at    timestamptz,
    created_by          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    request_id          text NOT NULL CONSTRAINT service_requests_request_id_check CHECK (length(request_id) > 0),
    CONSTRAINT service_requests_request_id_key UNIQUE (request_id)
);
CREATE INDEX service_requests_interaction_idx ON service_requests (interaction);

-- Who escalated an interaction to which record, and when.
CREATE TABLE escalations (
    interaction  text NOT NULL REFERENCES interactions (number),
    kind         text NOT NULL CHECK (kind IN ('incident', 'request')),
    ref          text NOT NULL,
    actor        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (interaction, kind, ref)
);

-- +goose Down
DROP TABLE escalations;
DROP TABLE service_requests;
DROP TABLE incidents;
DROP TABLE chat_messages;
DROP TABLE interaction_transfers;
DROP TABLE phone_logs;
DROP TABLE interaction_related;
DROP TABLE interaction_notes;
DROP TABLE interaction_history;
DROP TABLE interactions;
DROP SEQUENCE service_request_number;
DROP SEQUENCE incident_number;
DROP SEQUENCE interaction_number;
DROP FUNCTION format_record_number(text, bigint);
