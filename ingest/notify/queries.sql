-- Notifications: the planner (outbox → notifications), the sender (deliveries, attempts), reports.

-- name: OUTBOX_TAKE
-- The oldest alarm changes, removed as they are planned (in the planner's transaction).
DELETE FROM notify_outbox WHERE id IN (
    SELECT id FROM notify_outbox ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING id, alarm_id, action

-- name: ALARMS
SELECT * FROM alarm_places WHERE id = ANY(%(ids)s)

-- name: TOLD
-- Who has heard of these alarms (or is about to): updates go to them.
SELECT DISTINCT alarm_id, recipient, channel, language FROM notifications
WHERE alarm_id = ANY(%(ids)s) AND (step LIKE 'step-%%' OR step LIKE 're-alarm-%%')

-- name: STEPS_OF
SELECT alarm_id, step, recipient FROM notifications WHERE alarm_id = ANY(%(ids)s)

-- name: ADD
INSERT INTO notifications (alarm_id, step, recipient, channel, language, urgency, due_at)
VALUES (%(alarm_id)s, %(step)s, %(recipient)s, %(channel)s, %(language)s, %(urgency)s, %(due_at)s)
ON CONFLICT (alarm_id, step, recipient) WHERE alarm_id IS NOT NULL DO NOTHING

-- name: ADD_TEST
INSERT INTO notifications (step, recipient, channel, language, urgency, body)
VALUES ('test', %(recipient)s, %(channel)s, %(language)s, 5, %(body)s)
RETURNING id

-- name: WAKE
SELECT pg_notify('safecampus_notify', '')

-- name: TIMED_ALARMS
-- Unacknowledged alarms that may have a later step or a reminder due.
SELECT * FROM alarm_places
WHERE state = 'active_unacked' AND NOT suppressed
  AND (shelved_until IS NULL OR shelved_until <= %(now)s)
  AND (escalated_at IS NOT NULL OR priority = 'critical')

-- name: LEADER_LOCK
SELECT pg_try_advisory_lock(%(key)s)

-- name: LISTEN_ALARMS
LISTEN safecampus_alarms

-- name: LISTEN_NOTIFY
LISTEN safecampus_notify

-- name: RESET_IN_DOUBT
-- A new sender: what an earlier one had on the wire when it died may or may not have arrived.
-- Send it again, marked, under the same id (receivers that keep ids drop the repeat).
UPDATE notifications SET status = 'pending', in_doubt = true, due_at = clock_timestamp()
WHERE status = 'sending' RETURNING id

-- name: DUE
SELECT id, alarm_id, step, recipient, channel, language, urgency, created_at, attempts, in_doubt, body
FROM notifications
WHERE status = 'pending' AND due_at <= clock_timestamp()
ORDER BY urgency, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED

-- name: RECENT_SENDS
-- Requests made in the last minute, per channel (robots take about 20 a minute).
SELECT channel, count(*) FROM notification_attempts
WHERE at > clock_timestamp() - interval '60 seconds' GROUP BY channel

-- name: CLAIM
UPDATE notifications SET status = 'sending', attempts = attempts + 1 WHERE id = ANY(%(ids)s)

-- name: ADD_DIGEST
INSERT INTO notifications (step, recipient, channel, language, urgency, status, attempts)
VALUES ('digest', %(recipient)s, %(channel)s, %(language)s, %(urgency)s, 'sending', 1)
RETURNING id

-- name: DIGEST_MEMBERS
-- The alarms a digest speaks of (its rows point at it).
SELECT digest_id, alarm_id FROM notifications WHERE digest_id = ANY(%(ids)s) ORDER BY urgency, id

-- name: DIGESTED
UPDATE notifications SET status = 'digested', digest_id = %(digest)s WHERE id = ANY(%(ids)s)

-- name: ATTEMPT
INSERT INTO notification_attempts (notification_id, channel, ok, status, response, duration_ms)
VALUES (%(id)s, %(channel)s, %(ok)s, %(status)s, %(response)s, %(duration_ms)s)

-- name: SENT
UPDATE notifications SET status = CASE WHEN id = %(id)s THEN 'sent' ELSE status END,
    sent_at = clock_timestamp(), last_error = NULL
WHERE id = %(id)s OR (digest_id = %(id)s AND status = 'digested')
RETURNING id, alarm_id, step, recipient, channel

-- name: RETRY
UPDATE notifications SET status = 'pending', last_error = %(error)s,
    due_at = clock_timestamp() + make_interval(secs => %(wait)s)
WHERE id = %(id)s

-- name: GIVE_UP
UPDATE notifications SET status = 'failed', last_error = %(error)s
WHERE id = %(id)s OR (digest_id = %(id)s AND status = 'digested')
RETURNING id, alarm_id, step, recipient, channel

-- name: RELEASE
-- Claimed but not tried this round (the channel failed or paused): back to waiting.
UPDATE notifications SET status = 'pending', attempts = attempts - 1,
    due_at = clock_timestamp() + make_interval(secs => %(wait)s)
WHERE id = ANY(%(ids)s) AND status = 'sending'

-- name: JOURNAL_NOTIFIED
-- Who was told when, in the alarm's journal (append-only like every entry).
INSERT INTO alarm_journal (alarm_id, actor, action, from_state, to_state, note, details)
SELECT id, 'system', %(action)s, state, state, %(note)s, %(details)s FROM alarms WHERE id = %(alarm_id)s

-- name: CHANNEL_STATE
-- Each channel's latest attempt today, and since when it has failed without a success.
SELECT DISTINCT ON (channel) channel, ok, at, status, response,
    (SELECT min(f.at) FROM notification_attempts f WHERE f.channel = a.channel AND NOT f.ok
       AND f.at > coalesce((SELECT max(s.at) FROM notification_attempts s
                            WHERE s.channel = a.channel AND s.ok), '-infinity')) AS failing_since
FROM notification_attempts a
WHERE at > clock_timestamp() - interval '1 day'
ORDER BY channel, at DESC

-- name: BACKLOG
SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')),
       count(*) FILTER (WHERE status = 'failed' AND created_at > clock_timestamp() - interval '1 day')
FROM notifications WHERE status IN ('pending', 'sending', 'failed')

-- name: RECENT
-- The admin page: the latest notifications with their last attempt.
SELECT n.id, n.alarm_id, n.step, n.recipient, n.channel, n.language, n.status, n.attempts, n.in_doubt,
       n.created_at, n.sent_at, n.last_error
FROM notifications n ORDER BY n.id DESC LIMIT %(limit)s

-- name: PER_CHANNEL
-- The weekly review: notifications sent and failed per channel in a period (attempts, each counted).
SELECT channel, count(*) FILTER (WHERE ok) AS sent, count(*) FILTER (WHERE NOT ok) AS failed
FROM notification_attempts WHERE at >= %(start)s AND at < %(end)s
GROUP BY channel ORDER BY channel
