-- +goose Up
-- Contact-center counters and histograms (GET /metrics, README "Metrics"),
-- kept by triggers in the transaction that made the change: a step counts
-- once when it commits, never when it rolls back, and a retried step that
-- changes nothing counts nothing. Every API replica reads the same totals at
-- scrape time. Labels are bounded: queue, channel, outcome, and for
-- histograms the bucket's upper bound (le); never an agent or a caller.
CREATE TABLE metric_counts (
    name     text NOT NULL,
    queue    text NOT NULL DEFAULT '',
    channel  text NOT NULL DEFAULT '',
    label    text NOT NULL DEFAULT '', -- an outcome, or a histogram's le
    value    double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (name, queue, channel, label)
);

-- The queue's service-level target: answered within this many seconds
-- (queue settings "service_level_seconds", 20 when unset).
-- +goose StatementBegin
CREATE FUNCTION casehub_service_level(p_queue text) RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT CASE WHEN jsonb_typeof(settings->'service_level_seconds') = 'number'
                                 THEN (settings->>'service_level_seconds')::double precision END
                     FROM queues WHERE name = p_queue), 20)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION casehub_count(p_name text, p_queue text, p_channel text, p_label text, p_delta double precision) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO metric_counts (name, queue, channel, label, value)
    VALUES (p_name, coalesce(p_queue, ''), coalesce(p_channel, ''), coalesce(p_label, ''), p_delta)
    ON CONFLICT (name, queue, channel, label) DO UPDATE SET value = metric_counts.value + excluded.value
$$;
-- +goose StatementEnd

-- Bucket upper bounds of each histogram, in seconds.
-- +goose StatementBegin
CREATE FUNCTION casehub_buckets(p_name text) RETURNS double precision[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_name
        WHEN 'answer_seconds' THEN ARRAY[1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600]::double precision[]
        WHEN 'handle_seconds' THEN ARRAY[15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600]::double precision[]
        WHEN 'wrapup_seconds' THEN ARRAY[5, 10, 15, 30, 60, 90, 120, 300, 600]::double precision[]
        WHEN 'dispatch_seconds' THEN ARRAY[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]::double precision[]
        WHEN 'callback_late_seconds' THEN ARRAY[0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]::double precision[]
        ELSE ARRAY[]::double precision[]
    END
$$;
-- +goose StatementEnd

-- One observation: every bucket at or above it, the sum and the count.
-- +goose StatementBegin
CREATE FUNCTION casehub_observe(p_name text, p_queue text, p_channel text, p_seconds double precision) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    le double precision;
    v double precision := greatest(coalesce(p_seconds, 0), 0);
BEGIN
    FOREACH le IN ARRAY casehub_buckets(p_name) LOOP
        IF v <= le THEN
            PERFORM casehub_count(p_name, p_queue, p_channel, le::text, 1);
        END IF;
    END LOOP;
    PERFORM casehub_count(p_name, p_queue, p_channel, '+Inf', 1);
    PERFORM casehub_count(p_name || '_sum', p_queue, p_channel, '', v);
END
$$;
-- +goose StatementEnd

-- Offers: made (with how long the dispatch took), and how each ended; an
-- accepted one is an answer, with its time from entering the queue and
-- whether that was within the queue's service level.
-- +goose StatementBegin
CREATE FUNCTION offers_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    item work_items%ROWTYPE;
    ready_at timestamptz;
    waited double precision;
BEGIN
    IF TG_OP = 'UPDATE' AND NOT (NEW.state <> 'pending' AND OLD.state = 'pending') THEN
        RETURN NULL; -- received or presented: nothing counted
    END IF;
    SELECT * INTO item FROM work_items WHERE id = NEW.item_id;
    IF TG_OP = 'INSERT' THEN
        PERFORM casehub_count('offers', item.queue, item.channel, '', 1);
        -- From the later of: the item entering (or re-entering) its queue, the
        -- agent becoming free.
        SELECT greatest(item.enqueued_at, a.idle_since, a.presence_at,
                   (SELECT max(o.closed_at) FROM offers o WHERE o.item_id = NEW.item_id AND o.id <> NEW.id))
          INTO ready_at FROM agents a WHERE a.id = NEW.agent_id;
        PERFORM casehub_observe('dispatch_seconds', item.queue, item.channel,
            extract(epoch FROM (NEW.offered_at - coalesce(ready_at, NEW.offered_at))));
        RETURN NULL;
    END IF;
    IF NEW.state <> 'pending' AND OLD.state = 'pending' THEN
        PERFORM casehub_count('offer_outcomes', item.queue, item.channel, NEW.state, 1);
        IF NEW.state = 'accepted' THEN
            waited := extract(epoch FROM (coalesce(NEW.closed_at, now()) - item.enqueued_at));
            PERFORM casehub_observe('answer_seconds', item.queue, item.channel, waited);
            IF waited <= casehub_service_level(item.queue) THEN
                PERFORM casehub_count('answered_within_target', item.queue, item.channel, '', 1);
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER offers_metrics AFTER INSERT OR UPDATE ON offers FOR EACH ROW EXECUTE FUNCTION offers_metrics();

-- Handle time: an item's accepted offer to its finish.
-- +goose StatementBegin
CREATE FUNCTION work_items_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    taken timestamptz;
BEGIN
    IF NEW.state = 'done' AND OLD.state = 'assigned' THEN
        SELECT max(closed_at) INTO taken FROM offers WHERE item_id = NEW.id AND state = 'accepted';
        PERFORM casehub_observe('handle_seconds', NEW.queue, NEW.channel, extract(epoch FROM (now() - coalesce(taken, now()))));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER work_items_metrics AFTER UPDATE ON work_items FOR EACH ROW EXECUTE FUNCTION work_items_metrics();

-- Wrap-up time, by the queue of the item wrapped up.
-- +goose StatementBegin
CREATE FUNCTION agents_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    item work_items%ROWTYPE;
BEGIN
    IF OLD.presence = 'wrap_up' AND NEW.presence <> 'wrap_up' THEN
        SELECT * INTO item FROM work_items WHERE id = OLD.wrapup_item;
        PERFORM casehub_observe('wrapup_seconds', item.queue, item.channel, extract(epoch FROM (now() - OLD.presence_at)));
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER agents_metrics AFTER UPDATE ON agents FOR EACH ROW EXECUTE FUNCTION agents_metrics();

-- Calls and chats closed before anyone answered, and callbacks: each dial
-- by outcome, and how late a scheduled callback's first dial started.
-- +goose StatementBegin
CREATE FUNCTION interactions_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'closed_complete' AND OLD.state <> 'closed_complete' AND NEW.direction = 'inbound' THEN
        PERFORM casehub_count('interactions_closed', NEW.queue, NEW.channel,
            CASE WHEN NEW.accepted_at IS NULL THEN 'unanswered' ELSE 'answered' END, 1);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER interactions_metrics AFTER UPDATE ON interactions FOR EACH ROW EXECUTE FUNCTION interactions_metrics();

-- +goose StatementBegin
CREATE FUNCTION callback_attempts_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cb callbacks%ROWTYPE;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.attempt = 1 THEN
        SELECT * INTO cb FROM callbacks WHERE id = NEW.callback;
        IF cb.scheduled_at IS NOT NULL THEN
            PERFORM casehub_observe('callback_late_seconds', cb.queue, 'voice', extract(epoch FROM (NEW.started_at - cb.scheduled_at)));
        END IF;
    ELSIF TG_OP = 'UPDATE' AND NEW.outcome IS DISTINCT FROM OLD.outcome AND NEW.outcome <> 'dialing' THEN
        SELECT * INTO cb FROM callbacks WHERE id = NEW.callback;
        PERFORM casehub_count('callback_attempts', cb.queue, 'voice', NEW.outcome, 1);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER callback_attempts_metrics AFTER INSERT OR UPDATE ON callback_attempts FOR EACH ROW EXECUTE FUNCTION callback_attempts_metrics();

-- +goose Down
DROP TRIGGER callback_attempts_metrics ON callback_attempts;
DROP FUNCTION callback_attempts_metrics();
DROP TRIGGER interactions_metrics ON interactions;
DROP FUNCTION interactions_metrics();
DROP TRIGGER agents_metrics ON agents;
DROP FUNCTION agents_metrics();
DROP TRIGGER work_items_metrics ON work_items;
DROP FUNCTION work_items_metrics();
DROP TRIGGER offers_metrics ON offers;
DROP FUNCTION offers_metrics();
DROP FUNCTION casehub_observe(text, text, text, double precision);
DROP FUNCTION casehub_buckets(text);
DROP FUNCTION casehub_count(text, text, text, text, double precision);
DROP FUNCTION casehub_service_level(text);
DROP TABLE metric_counts;
