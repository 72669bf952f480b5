-- +goose Up
-- A queue may require a disposition code: its calls and chats are ended, and
-- its agents' wrap-ups ended by hand, only with one.
ALTER TABLE queues ADD COLUMN disposition_required boolean NOT NULL DEFAULT false;

-- Interactions are listed by disposition and by contact.
CREATE INDEX interactions_disposition_idx ON interactions (disposition, created_at DESC) WHERE disposition IS NOT NULL;
DROP INDEX interactions_contact_idx;
CREATE INDEX interactions_contact_idx ON interactions (contact_id, created_at DESC) WHERE contact_id IS NOT NULL;

-- +goose Down
DROP INDEX interactions_contact_idx;
CREATE INDEX interactions_contact_idx ON interactions (contact_id);
DROP INDEX interactions_disposition_idx;
ALTER TABLE queues DROP COLUMN disposition_required;
