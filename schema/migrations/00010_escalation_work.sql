-- +goose Up
-- Incidents and requests are worked after the interaction (seed 001: "Work
-- the Request or Incident per usual"): each has a state and an assignee, and
-- its own activity: opened, state and assignee changes, work notes.
ALTER TABLE incidents
    ADD COLUMN state text NOT NULL DEFAULT 'new'
        CONSTRAINT incidents_state_check CHECK (state IN ('new', 'in_progress', 'on_hold', 'resolved', 'closed', 'cancelled')),
    ADD COLUMN assigned_to text CONSTRAINT incidents_assigned_to_fkey REFERENCES agents (id),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE service_requests
    ADD COLUMN state text NOT NULL DEFAULT 'open'
        CONSTRAINT service_requests_state_check
        CHECK (state IN ('open', 'work_in_progress', 'closed_complete', 'closed_incomplete', 'cancelled')),
    ADD COLUMN assigned_to text CONSTRAINT service_requests_assigned_to_fkey REFERENCES agents (id),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Listed by contact (and through it, company), by assignee and state.
CREATE INDEX incidents_contact_idx ON incidents (contact_id, created_at DESC) WHERE contact_id IS NOT NULL;
CREATE INDEX incidents_assigned_idx ON incidents (assigned_to, state) WHERE assigned_to IS NOT NULL;
CREATE INDEX incidents_created_idx ON incidents (created_at DESC);
CREATE INDEX service_requests_contact_idx ON service_requests (contact_id, created_at DESC) WHERE contact_id IS NOT NULL;
CREATE INDEX service_requests_assigned_idx ON service_requests (assigned_to, state) WHERE assigned_to IS NOT NULL;
CREATE INDEX service_requests_created_idx ON service_requests (created_at DESC);

CREATE TABLE escalation_activity (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('incident', 'request')),
    number      text NOT NULL,
    what        text NOT NULL CHECK (what IN ('opened', 'state', 'assignee', 'work_note')),
    from_value  text NOT NULL DEFAULT '',
    to_value    text NOT NULL DEFAULT '',
    body        text NOT NULL DEFAULT '' CONSTRAINT escalation_activity_body_check CHECK (length(body) <= 5000),
    actor       text NOT NULL DEFAULT '',
    request_id  text CHECK (length(request_id) > 0),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX escalation_activity_record_idx ON escalation_activity (kind, number, id);
-- A work note sent again with its request id is recorded once.
CREATE UNIQUE INDEX escalation_activity_request_idx ON escalation_activity (kind, number, request_id)
    WHERE request_id IS NOT NULL;

-- Every record escalated so far was opened: its first line.
INSERT INTO escalation_activity (kind, number, what, to_value, actor, at)
SELECT 'incident', number, 'opened', 'new', created_by, created_at FROM incidents;
INSERT INTO escalation_activity (kind, number, what, to_value, actor, at)
SELECT 'request', number, 'opened', 'open', created_by, created_at FROM service_requests;

-- +goose Down
DROP TABLE escalation_activity;
DROP INDEX service_requests_created_idx;
DROP INDEX service_requests_assigned_idx;
DROP INDEX service_requests_contact_idx;
DROP INDEX incidents_created_idx;
DROP INDEX incidents_assigned_idx;
DROP INDEX incidents_contact_idx;
ALTER TABLE service_requests DROP COLUMN updated_at, DROP COLUMN assigned_to, DROP COLUMN state;
ALTER TABLE incidents DROP COLUMN updated_at, DROP COLUMN assigned_to, DROP COLUMN state;
