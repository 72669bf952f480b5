-- +goose Up
-- What agent desks and wallboards are told (GET /v1/agents/{id}/events,
-- GET /v1/events; docs/events.md). Triggers on the tables routing, the
-- processes and the API write fill this table in the same transaction as the
-- change, so no write path can forget an event and none is told of a change
-- that rolled back. Each insert notifies channel casehub_events with the id.
--
-- Readers go in (txid, id) order and read only rows whose transaction is older
-- than every transaction still running (txid < pg_snapshot_xmin): a row read is
-- final, and a row committed later always sorts after it. So a cursor (txid,
-- id) names a point in the stream that nothing can be inserted before.
CREATE TABLE events (
    id        bigserial PRIMARY KEY,
    txid      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- The agent whose desk shows it; NULL for the wall only.
    agent_id  text,
    -- Shown on the supervisors' stream.
    wall      boolean NOT NULL DEFAULT false,
    kind      text NOT NULL,
    data      jsonb NOT NULL,
    at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_cursor_idx ON events (txid, id);
CREATE INDEX events_agent_idx ON events (agent_id, txid, id) WHERE agent_id IS NOT NULL;
CREATE INDEX events_at_idx ON events (at);

-- +goose StatementBegin
CREATE FUNCTION casehub_event(p_agent text, p_wall boolean, p_kind text, p_data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO events (agent_id, wall, kind, data) VALUES (p_agent, p_wall, p_kind, p_data) RETURNING id INTO new_id;
    PERFORM pg_notify('casehub_events', new_id::text);
END
$$;
-- +goose StatementEnd

-- The record a work item's process is for, from its workflow id.
-- +goose StatementBegin
CREATE FUNCTION casehub_record_of(p_workflow_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_workflow_id LIKE 'interaction-%' THEN jsonb_build_object('interaction', substr(p_workflow_id, 13))
        WHEN p_workflow_id LIKE 'callback-%' THEN jsonb_build_object('callback_id', substr(p_workflow_id, 10))
        ELSE '{}'::jsonb
    END
$$;
-- +goose StatementEnd

-- An agent's presence, wrap-up and load.
-- +goose StatementBegin
CREATE FUNCTION agents_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    agent jsonb := jsonb_build_object('agent_id', NEW.id, 'name', NEW.name, 'presence', NEW.presence,
        'since', NEW.presence_at, 'voice_load', NEW.voice_load, 'chat_load', NEW.chat_load, 'max_chats', NEW.max_chats,
        'wrapup_item', NEW.wrapup_item, 'wrapup_until', NEW.wrapup_until);
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM casehub_event(NEW.id, true, 'agent.changed', agent);
        RETURN NULL;
    END IF;
    IF NEW.presence IS DISTINCT FROM OLD.presence OR NEW.presence_seq IS DISTINCT FROM OLD.presence_seq THEN
        PERFORM casehub_event(NEW.id, true, 'presence', agent || jsonb_build_object('previous', OLD.presence));
    END IF;
    IF NEW.wrapup_until IS NOT NULL AND NEW.presence = 'wrap_up'
       AND (OLD.presence <> 'wrap_up' OR NEW.wrapup_until IS DISTINCT FROM OLD.wrapup_until) THEN
        PERFORM casehub_event(NEW.id, true, 'wrapup.started', jsonb_build_object('agent_id', NEW.id,
            'item_id', NEW.wrapup_item, 'until', NEW.wrapup_until) || coalesce(
            (SELECT casehub_record_of(w.workflow_id) FROM work_items w WHERE w.id = NEW.wrapup_item), '{}'::jsonb));
    END IF;
    IF OLD.presence = 'wrap_up' AND NEW.presence <> 'wrap_up' THEN
        PERFORM casehub_event(NEW.id, true, 'wrapup.ended', jsonb_build_object('agent_id', NEW.id,
            'item_id', OLD.wrapup_item, 'presence', NEW.presence));
    END IF;
    IF (NEW.voice_load, NEW.chat_load, NEW.max_chats, NEW.name) IS DISTINCT FROM (OLD.voice_load, OLD.chat_load, OLD.max_chats, OLD.name)
       AND NEW.presence IS NOT DISTINCT FROM OLD.presence THEN
        PERFORM casehub_event(NEW.id, true, 'agent.changed', agent);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER agents_events AFTER INSERT OR UPDATE ON agents FOR EACH ROW EXECUTE FUNCTION agents_events();

-- Offers: booked (the agent is reserved), presented (the agent may answer),
-- and how each ended.
-- +goose StatementBegin
CREATE FUNCTION offers_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    item work_items%ROWTYPE;
    base jsonb;
    context jsonb := '{}'::jsonb;
    accept_by timestamptz;
BEGIN
    -- Most updates (the process receiving its offer) tell nobody anything.
    IF TG_OP = 'UPDATE' AND NOT (NEW.presented_at IS NOT NULL AND OLD.presented_at IS NULL AND NEW.state = 'pending')
       AND NOT (NEW.state <> 'pending' AND OLD.state = 'pending') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO item FROM work_items WHERE id = NEW.item_id;
    base := jsonb_build_object('offer_id', NEW.id, 'item_id', NEW.item_id, 'agent_id', NEW.agent_id,
        'queue', item.queue, 'channel', item.channel, 'kind', item.kind, 'workflow_id', item.workflow_id,
        'booked_at', NEW.offered_at) || casehub_record_of(item.workflow_id);
    IF TG_OP = 'INSERT' THEN
        PERFORM casehub_event(NEW.agent_id, true, 'offer.booked', base);
        RETURN NULL;
    END IF;
    IF NEW.presented_at IS NOT NULL AND OLD.presented_at IS NULL AND NEW.state = 'pending' THEN
        SELECT NEW.presented_at + make_interval(secs => q.acceptance_timeout_s) INTO accept_by FROM queues q WHERE q.name = item.queue;
        IF base ? 'interaction' THEN
            SELECT jsonb_build_object('caller', coalesce(i.contact_phone, i.contact_email), 'contact_id', i.contact_id,
                       'ivr', i.ivr, 'case_number', i.ivr_case_number, 'interaction_channel', i.channel,
                       'direction', i.direction, 'short_description', i.short_description)
              INTO context FROM interactions i WHERE i.number = base->>'interaction';
        ELSIF base ? 'callback_id' THEN
            SELECT jsonb_build_object('caller', c.number, 'ivr', c.ivr, 'case_number', c.case_number, 'mode', c.mode,
                       'reason', c.reason, 'attempts', c.attempts, 'max_attempts', c.max_attempts)
              INTO context FROM callbacks c WHERE c.id = base->>'callback_id';
        END IF;
        PERFORM casehub_event(NEW.agent_id, true, 'offer.presented',
            base || coalesce(context, '{}'::jsonb) || jsonb_build_object('presented_at', NEW.presented_at, 'accept_by', accept_by));
    END IF;
    IF NEW.state <> 'pending' AND OLD.state = 'pending' THEN
        PERFORM casehub_event(NEW.agent_id, true, 'offer.' || NEW.state,
            base || jsonb_build_object('closed_at', NEW.closed_at, 'was_presented', NEW.presented_at IS NOT NULL));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER offers_events AFTER INSERT OR UPDATE ON offers FOR EACH ROW EXECUTE FUNCTION offers_events();

-- Work items through their queues, for the wall.
-- +goose StatementBegin
CREATE FUNCTION work_items_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state IS NOT DISTINCT FROM OLD.state AND NEW.agent_id IS NOT DISTINCT FROM OLD.agent_id THEN
        RETURN NULL;
    END IF;
    PERFORM casehub_event(NULL, true, 'item', jsonb_build_object('item_id', NEW.id, 'queue', NEW.queue,
        'channel', NEW.channel, 'kind', NEW.kind, 'state', NEW.state, 'agent_id', NEW.agent_id,
        'enqueued_at', NEW.enqueued_at, 'previous', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END)
        || casehub_record_of(NEW.workflow_id));
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER work_items_events AFTER INSERT OR UPDATE ON work_items FOR EACH ROW EXECUTE FUNCTION work_items_events();

-- An interaction's state and agent, for the desk that works on it (and the
-- desk it was transferred away from).
-- +goose StatementBegin
CREATE FUNCTION interactions_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    body jsonb := jsonb_build_object('interaction', NEW.number, 'state', NEW.state, 'channel', NEW.channel,
        'direction', NEW.direction, 'agent_id', NEW.agent_id, 'queue', NEW.queue, 'contact_id', NEW.contact_id,
        'disposition', NEW.disposition, 'version', NEW.version, 'closed_at', NEW.closed_at);
BEGIN
    IF NEW.state IS NOT DISTINCT FROM OLD.state AND NEW.agent_id IS NOT DISTINCT FROM OLD.agent_id
       AND NEW.contact_id IS NOT DISTINCT FROM OLD.contact_id AND NEW.disposition IS NOT DISTINCT FROM OLD.disposition THEN
        RETURN NULL;
    END IF;
    IF NEW.agent_id IS NOT NULL THEN
        PERFORM casehub_event(NEW.agent_id, false, 'interaction', body);
    END IF;
    IF OLD.agent_id IS NOT NULL AND OLD.agent_id IS DISTINCT FROM NEW.agent_id THEN
        PERFORM casehub_event(OLD.agent_id, false, 'interaction', body);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER interactions_events AFTER UPDATE ON interactions FOR EACH ROW EXECUTE FUNCTION interactions_events();

-- A chat's messages, live on the desk of the agent on the chat.
-- +goose StatementBegin
CREATE FUNCTION chat_messages_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    agent text;
BEGIN
    SELECT agent_id INTO agent FROM interactions WHERE number = NEW.interaction;
    IF agent IS NOT NULL THEN
        PERFORM casehub_event(agent, false, 'chat.message', jsonb_build_object('interaction', NEW.interaction,
            'seq', NEW.seq, 'sender', NEW.sender, 'text', NEW.text, 'at', NEW.at));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER chat_messages_events AFTER INSERT ON chat_messages FOR EACH ROW EXECUTE FUNCTION chat_messages_events();

-- Callbacks: their state for the wall and the agent they are with, and each
-- dial's outcome, with whether the agent may dial again.
-- +goose StatementBegin
CREATE FUNCTION callbacks_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    body jsonb := jsonb_build_object('callback_id', NEW.id, 'queue', NEW.queue, 'mode', NEW.mode, 'state', NEW.state,
        'outcome', NEW.outcome, 'attempts', NEW.attempts, 'max_attempts', NEW.max_attempts, 'agent_id', NEW.agent_id,
        'scheduled_at', NEW.scheduled_at, 'next_attempt_at', NEW.next_attempt_at, 'interaction', NEW.interaction,
        'version', NEW.version);
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.state, NEW.outcome, NEW.attempts, NEW.agent_id, NEW.next_attempt_at, NEW.scheduled_at, NEW.interaction)
        IS NOT DISTINCT FROM (OLD.state, OLD.outcome, OLD.attempts, OLD.agent_id, OLD.next_attempt_at, OLD.scheduled_at, OLD.interaction) THEN
        RETURN NULL;
    END IF;
    PERFORM casehub_event(NULL, true, 'callback', body);
    IF NEW.agent_id IS NOT NULL THEN
        PERFORM casehub_event(NEW.agent_id, false, 'callback', body);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.agent_id IS NOT NULL AND OLD.agent_id IS DISTINCT FROM NEW.agent_id THEN
        PERFORM casehub_event(OLD.agent_id, false, 'callback', body);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER callbacks_events AFTER INSERT OR UPDATE ON callbacks FOR EACH ROW EXECUTE FUNCTION callbacks_events();

-- +goose StatementBegin
CREATE FUNCTION callback_attempts_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cb callbacks%ROWTYPE;
    unanswered boolean := NEW.outcome IN ('no_answer', 'busy', 'voicemail', 'failed');
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.outcome IS NOT DISTINCT FROM OLD.outcome THEN
        RETURN NULL;
    END IF;
    SELECT * INTO cb FROM callbacks WHERE id = NEW.callback;
    PERFORM casehub_event(NEW.agent_id, true, 'callback.attempt', jsonb_build_object('callback_id', NEW.callback,
        'mode', cb.mode, 'attempt', NEW.attempt, 'max_attempts', cb.max_attempts, 'outcome', NEW.outcome,
        'agent_id', NEW.agent_id, 'started_at', NEW.started_at, 'ended_at', NEW.ended_at,
        'unanswered', unanswered,
        'redial_allowed', unanswered AND NEW.attempt < cb.max_attempts,
        'attempt_limit', unanswered AND NEW.attempt >= cb.max_attempts));
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER callback_attempts_events AFTER INSERT OR UPDATE ON callback_attempts FOR EACH ROW EXECUTE FUNCTION callback_attempts_events();

-- +goose Down
DROP TRIGGER callback_attempts_events ON callback_attempts;
DROP FUNCTION callback_attempts_events();
DROP TRIGGER callbacks_events ON callbacks;
DROP FUNCTION callbacks_events();
DROP TRIGGER chat_messages_events ON chat_messages;
DROP FUNCTION chat_messages_events();
DROP TRIGGER interactions_events ON interactions;
DROP FUNCTION interactions_events();
DROP TRIGGER work_items_events ON work_items;
DROP FUNCTION work_items_events();
DROP TRIGGER offers_events ON offers;
DROP FUNCTION offers_events();
DROP TRIGGER agents_events ON agents;
DROP FUNCTION agents_events();
DROP FUNCTION casehub_record_of(text);
DROP FUNCTION casehub_event(text, boolean, text, jsonb);
DROP TABLE events;
