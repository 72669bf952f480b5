-- +goose Up
-- A 201's Location header, replayed with its answer under the same
-- Idempotency-Key.
ALTER TABLE idempotency_keys ADD COLUMN location text;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN location;
