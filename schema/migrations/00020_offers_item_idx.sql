-- +goose Up
-- An item's offers in every state: booking numbers an item's next offer by
-- counting those it had, once per item it books, under its queues' locks.
-- The only index on item_id so far covered pending offers alone. On a large
-- offers table, build it first without blocking writes
-- (CREATE INDEX CONCURRENTLY offers_item_idx ON offers (item_id)); this
-- migration then leaves it as it is.
CREATE INDEX IF NOT EXISTS offers_item_idx ON offers (item_id);

-- +goose Down
DROP INDEX offers_item_idx;
