-- +goose Up
-- Contact and company search by any part of the name ('%' || term || '%'),
-- which a b-tree cannot serve: trigram indexes (pg_trgm is a trusted
-- extension: the database's owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_name_trgm_idx ON contacts USING gin (lower(name) gin_trgm_ops);
CREATE INDEX companies_name_trgm_idx ON companies USING gin (lower(name) gin_trgm_ops);

-- An agent's last finished item (a disposition given when wrap-up ends)
-- without scanning every item the agent ever finished.
CREATE INDEX work_items_agent_done_idx ON work_items (agent_id, updated_at DESC, id) WHERE state = 'done';

-- +goose Down
DROP INDEX work_items_agent_done_idx;
DROP INDEX companies_name_trgm_idx;
DROP INDEX contacts_name_trgm_idx;
