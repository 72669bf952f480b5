-- +goose Up
-- Companies and contacts: the directory the case processes identify callers against.
CREATE TABLE companies (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX companies_name_key ON companies (lower(name));

CREATE TABLE contacts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    company_id  uuid REFERENCES companies (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_name_idx ON contacts (lower(name) text_pattern_ops);
CREATE INDEX contacts_company_idx ON contacts (company_id);

-- Communication options: normalised values (phone in E.164, email lower-cased).
-- Several contacts may share one number or address (the seed's "several match" branch);
-- one contact holds each value once.
CREATE TABLE contact_communication_options (
    contact_id  uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('phone', 'email')),
    value       text NOT NULL CHECK (length(value) > 0),
    label       text NOT NULL DEFAULT '',
    position    int  NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, kind, value)
);
CREATE INDEX contact_communication_options_value_idx ON contact_communication_options (kind, value);

-- API tokens: only a SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    secret_hash  bytea NOT NULL,
    role         text NOT NULL CHECK (role IN ('agent', 'supervisor', 'integration')),
    agent_id     text,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK ((role = 'agent') = (agent_id IS NOT NULL))
);

-- Idempotency-Key records for POST requests that create something.
CREATE TABLE idempotency_keys (
    principal     text NOT NULL,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  bytea NOT NULL,
    status        int,
    content_type  text,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (principal, key)
);

-- Self checks: the worker's end-to-end proof (workflow -> activity -> PostgreSQL).
CREATE TABLE self_checks (
    workflow_id  text PRIMARY KEY,
    run_id       text NOT NULL,
    note         text NOT NULL DEFAULT '',
    checked_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE self_checks;
DROP TABLE idempotency_keys;
DROP TABLE api_tokens;
DROP TABLE contact_communication_options;
DROP TABLE contacts;
DROP TABLE companies;
