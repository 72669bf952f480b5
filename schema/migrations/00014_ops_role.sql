-- +goose Up
-- The ops role: a token that reads payloads through the codec endpoint and
-- does nothing else.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('agent', 'supervisor', 'integration', 'ops'));

-- +goose Down
DELETE FROM api_tokens WHERE role = 'ops';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('agent', 'supervisor', 'integration'));
