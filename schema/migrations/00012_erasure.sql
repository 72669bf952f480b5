-- +goose Up
-- A contact erased on request keeps its id (records still point at it) but
-- no personal data; erased_at says when.
ALTER TABLE contacts ADD COLUMN erased_at timestamptz;

-- +goose Down
ALTER TABLE contacts DROP COLUMN erased_at;
