-- +goose Up
-- Queues and their settings.
CREATE TABLE queues (
    name                 text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    description          text NOT NULL DEFAULT '',
    acceptance_timeout_s int  NOT NULL DEFAULT 30 CHECK (acceptance_timeout_s BETWEEN 1 AND 3600),
    wrapup_timeout_s     int  NOT NULL DEFAULT 60 CHECK (wrapup_timeout_s BETWEEN 0 AND 86400),
    on_reject            text NOT NULL DEFAULT 'reoffer' CHECK (on_reject IN ('close', 'reoffer')),
    outbound_number      text NOT NULL DEFAULT '' CHECK (outbound_number = '' OR outbound_number ~ '^\+[1-9][0-9]{6,14}$'),
    settings             jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Agents. presence is what the agent (or its timers) chose; the loads are
-- what routing has booked on it (pending offers plus accepted items).
CREATE TABLE agents (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    name        text NOT NULL DEFAULT '',
    presence    text NOT NULL DEFAULT 'offline' CHECK (presence IN ('offline', 'available', 'on_break', 'wrap_up')),
    max_chats   int  NOT NULL DEFAULT 3 CHECK (max_chats BETWEEN 0 AND 20),
    voice_load  int  NOT NULL DEFAULT 0 CHECK (voice_load BETWEEN 0 AND 1),
    chat_load   int  NOT NULL DEFAULT 0 CHECK (chat_load >= 0),
    idle_since  timestamptz,
    presence_at timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (chat_load <= max_chats OR chat_load = 0)
);

CREATE TABLE queue_members (
    queue     text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    agent_id  text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, agent_id)
);
CREATE INDEX queue_members_agent_idx ON queue_members (agent_id);

-- Work items wait in their queue ordered by position; an item that replaces
-- another takes over its position.
CREATE SEQUENCE work_item_position;
CREATE TABLE work_items (
    id            text PRIMARY KEY,
    queue         text NOT NULL REFERENCES queues (name),
    channel       text NOT NULL CHECK (channel IN ('voice', 'chat')),
    kind          text NOT NULL,
    workflow_id   text NOT NULL,
    position      bigint NOT NULL,
    state         text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'offered', 'assigned', 'done')),
    agent_id      text REFERENCES agents (id),
    target_agent  text REFERENCES agents (id),
    excluded      text[] NOT NULL DEFAULT '{}',
    disposition   text,
    enqueued_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX work_items_position_key ON work_items (position) WHERE state IN ('waiting', 'offered');
CREATE INDEX work_items_waiting_idx ON work_items (queue, position) WHERE state = 'waiting';
CREATE INDEX work_items_agent_idx ON work_items (agent_id) WHERE state IN ('offered', 'assigned');

-- Offers: one item offered to one agent. At most one pending offer per item.
CREATE TABLE offers (
    id            text PRIMARY KEY,
    item_id       text NOT NULL REFERENCES work_items (id),
    agent_id      text NOT NULL REFERENCES agents (id),
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected', 'timed_out', 'withdrawn')),
    acked_at      timestamptz,
    offered_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz
);
CREATE UNIQUE INDEX offers_one_pending_per_item ON offers (item_id) WHERE state = 'pending';
CREATE INDEX offers_unacked_idx ON offers (offered_at) WHERE state = 'pending' AND acked_at IS NULL;
CREATE INDEX offers_agent_idx ON offers (agent_id, state);

-- +goose Down
DROP TABLE offers;
DROP TABLE work_items;
DROP SEQUENCE work_item_position;
DROP TABLE queue_members;
DROP TABLE agents;
DROP TABLE queues;
