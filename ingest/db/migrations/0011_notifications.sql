-- SafeCampus 0011: notifications (WeCom, DingTalk, Feishu, e-mail, webhooks) with escalation chains.
--
-- notify_outbox: every alarm change worth telling someone, written in the same transaction as
-- the change (ingest.alarms.lifecycle.notify), so a change is never lost between the database
-- and the sender. The notification planner turns each row into notifications and deletes it in
-- one transaction.
CREATE TABLE notify_outbox (
    id         bigserial PRIMARY KEY,
    alarm_id   bigint NOT NULL REFERENCES alarms (id),
    action     text NOT NULL,
    actor      text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One row per (alarm, step, recipient): the unique index makes "nothing twice" a property of the
-- table, whoever plans. Digests and test messages have no alarm.
CREATE TABLE notifications (
    id          bigserial PRIMARY KEY,
    alarm_id    bigint REFERENCES alarms (id),
    step        text NOT NULL,
    recipient   text NOT NULL,
    channel     text NOT NULL,
    language    text NOT NULL CHECK (language IN ('zh-CN', 'en')),
    urgency     smallint NOT NULL,  -- 0 fire alarm, 1 critical, 2 high, 3 medium, 4 low, 5 update or test
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'digested', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    due_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts    integer NOT NULL DEFAULT 0,
    in_doubt    boolean NOT NULL DEFAULT false,  -- a sender died while this was on the wire
    sent_at     timestamptz,
    digest_id   bigint REFERENCES notifications (id),
    body        jsonb,  -- a digest's alarms; a test message's requester
    last_error  text
);
CREATE UNIQUE INDEX notifications_once ON notifications (alarm_id, step, recipient) WHERE alarm_id IS NOT NULL;
CREATE INDEX notifications_due ON notifications (due_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notifications_alarm ON notifications (alarm_id);
CREATE INDEX notifications_created ON notifications (created_at);

-- Every delivery attempt: when, where, what the other side answered. Append-only.
CREATE TABLE notification_attempts (
    id              bigserial PRIMARY KEY,
    notification_id bigint NOT NULL REFERENCES notifications (id),
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    channel         text NOT NULL,
    ok              boolean NOT NULL,
    status          text,
    response        text,
    duration_ms     integer
);
CREATE INDEX notification_attempts_channel ON notification_attempts (channel, at);
CREATE INDEX notification_attempts_notification ON notification_attempts (notification_id);
CREATE TRIGGER notification_attempts_append_only BEFORE UPDATE OR DELETE ON notification_attempts
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
