-- +goose Up
-- The offer protocol (routing/): an offer is booked by dispatch, received by
-- its item's process (acked_at), and shown to the agent only once that process
-- will take the agent's answer and has written its record (presented_at). A
-- customer-first callback stays received but not presented while the customer
-- is dialled: the agent is reserved for it, with no offer to answer.
ALTER TABLE offers ADD COLUMN presented_at timestamptz;
CREATE INDEX offers_presented_idx ON offers (agent_id) WHERE state = 'pending' AND presented_at IS NOT NULL;

-- What finishing an item did (which agent it freed, whether that agent went
-- to wrap-up and until when), so finishing it again answers the same.
ALTER TABLE work_items ADD COLUMN finished jsonb;

-- An agent's wrap-up, as the transaction that finished its item started it:
-- the item and the moment the post-processing time ends. The agent's process
-- counts down to wrapup_until; the API shows it.
ALTER TABLE agents ADD COLUMN wrapup_item text;
ALTER TABLE agents ADD COLUMN wrapup_until timestamptz;

-- Counts every change of an agent's presence. Routing's signals carry the
-- count their change made, so the agent's process applies changes in the
-- order PostgreSQL made them, whatever order the signals arrive in (a
-- break from a time-out never overrides the agent's later "available").
ALTER TABLE agents ADD COLUMN presence_seq bigint NOT NULL DEFAULT 0;

-- The first answer of each routing step, keyed by the activity that asked
-- (its run and activity id): a retried activity whose transaction committed
-- returns that answer instead of what the changed state would say now.
-- Rows older than a day are pruned; no activity retries for that long.
CREATE TABLE routing_results (
    key         text PRIMARY KEY,
    result      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_results_created_idx ON routing_results (created_at);

-- +goose Down
DROP TABLE routing_results;
ALTER TABLE agents DROP COLUMN presence_seq;
ALTER TABLE agents DROP COLUMN wrapup_until;
ALTER TABLE agents DROP COLUMN wrapup_item;
ALTER TABLE work_items DROP COLUMN finished;
DROP INDEX offers_presented_idx;
ALTER TABLE offers DROP COLUMN presented_at;
