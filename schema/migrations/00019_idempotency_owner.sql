-- +goose Up
-- Who runs an unfinished Idempotency-Key request, and what it has set
-- aside so far. owner is the running API process's instance lock (an
-- advisory lock (7271003, owner) it holds while it lives): a retry finds
-- the lock gone when that process died, and takes the request over at
-- once instead of answering 409 until the claim is stale. progress is what
-- the first attempt allocated before its first side effect (a new
-- interaction's number, a callback's id), so the retry resumes that work
-- instead of doing it twice.
ALTER TABLE idempotency_keys ADD COLUMN owner int CHECK (owner > 0), ADD COLUMN progress text;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN progress, DROP COLUMN owner;
