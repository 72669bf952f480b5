-- +goose Up
-- The case number a caller keyed in the IVR, as given. It is related to the
-- interaction as a case only when such a case exists.
ALTER TABLE interactions ADD COLUMN ivr_case_number text
    CONSTRAINT interactions_ivr_case_number_check CHECK (length(ivr_case_number) BETWEEN 1 AND 64);

-- What an offer that runs out does to its item, as on_reject does for a
-- rejected one: offer it again (the default) or close it (seed 000).
ALTER TABLE queues ADD COLUMN on_timeout text NOT NULL DEFAULT 'reoffer'
    CONSTRAINT queues_on_timeout_check CHECK (on_timeout IN ('close', 'reoffer'));

-- +goose Down
ALTER TABLE queues DROP COLUMN on_timeout;
ALTER TABLE interactions DROP COLUMN ivr_case_number;
