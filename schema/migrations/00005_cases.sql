-- +goose Up
-- Cases: what a customer asked for, numbered CS-000123 for people to read out
-- on the phone. Numbers come from a sequence; past CS-999999 they grow a digit.
CREATE SEQUENCE case_number_seq;

-- +goose StatementBegin
CREATE FUNCTION next_case_number() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT 'CS-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END
    FROM (SELECT nextval('case_number_seq') AS n) s
$$;
-- +goose StatementEnd

CREATE TABLE cases (
    id                uuid PRIMARY KEY,
    number            text NOT NULL DEFAULT next_case_number() CHECK (number ~ '^CS-[0-9]{6,}$'),
    -- request_id makes creation idempotent: the process that creates a case
    -- supplies it, so a retried activity finds the case it already made.
    request_id        text CHECK (length(request_id) > 0),
    subject           text NOT NULL CHECK (length(btrim(subject)) > 0),
    description       text NOT NULL DEFAULT '',
    category          text NOT NULL DEFAULT '',
    priority          text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    status            text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'resolved', 'closed')),
    status_reason     text NOT NULL DEFAULT '',
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    contact_id        uuid NOT NULL REFERENCES contacts (id) ON DELETE RESTRICT,
    company_id        uuid REFERENCES companies (id) ON DELETE RESTRICT,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cases_number_key UNIQUE (number),
    CONSTRAINT cases_request_id_key UNIQUE (request_id)
);
CREATE INDEX cases_contact_idx ON cases (contact_id, created_at DESC);
CREATE INDEX cases_company_idx ON cases (company_id);
CREATE INDEX cases_status_idx ON cases (status, created_at DESC);

-- The interactions (calls, chats) a case came from or was discussed in.
-- interaction_id has no foreign key until interactions have a table.
CREATE TABLE case_interactions (
    case_id         uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    interaction_id  text NOT NULL CHECK (length(interaction_id) > 0),
    relation        text NOT NULL CHECK (relation IN ('created_from', 'consulted')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, interaction_id, relation)
);
CREATE INDEX case_interactions_interaction_idx ON case_interactions (interaction_id);

-- Notes of consultations given on a case during an interaction. The id is
-- chosen by the process that records it, so a retry writes nothing twice.
CREATE TABLE case_consultations (
    id              uuid PRIMARY KEY,
    case_id         uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    interaction_id  text NOT NULL CHECK (length(interaction_id) > 0),
    agent_id        text NOT NULL CHECK (length(agent_id) > 0),
    note            text NOT NULL CHECK (length(btrim(note)) > 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_consultations_case_idx ON case_consultations (case_id, created_at);

-- +goose Down
DROP TABLE case_consultations;
DROP TABLE case_interactions;
DROP TABLE cases;
DROP FUNCTION next_case_number();
DROP SEQUENCE case_number_seq;
