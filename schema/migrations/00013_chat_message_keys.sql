-- +goose Up
-- A chat message is kept once per key (the platform's event id, or the
-- interaction process's own count of the agent's messages), at the next
-- place in its transcript: the API records customers' messages itself
-- instead of passing each one through the interaction's process.
ALTER TABLE chat_messages ADD COLUMN message_key text CONSTRAINT chat_messages_message_key_check CHECK (length(message_key) BETWEEN 1 AND 240);
CREATE UNIQUE INDEX chat_messages_key ON chat_messages (interaction, message_key);

-- +goose Down
DROP INDEX chat_messages_key;
ALTER TABLE chat_messages DROP COLUMN message_key;
