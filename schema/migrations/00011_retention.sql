-- +goose Up
-- Raw platform events and Idempotency-Key records are kept for a while,
-- then swept by the Retention schedule (README, "Personal data"): these
-- indexes make each sweep a range scan.
CREATE INDEX cti_events_received_idx ON cti_events (received_at);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP INDEX idempotency_keys_created_idx;
DROP INDEX cti_events_received_idx;
