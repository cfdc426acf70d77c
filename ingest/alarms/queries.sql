-- Named SQL of ingest.alarms.queries (loaded by ingest.db.sql; never built in Python).

-- name: OPEN_FOR_UPDATE
SELECT id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session FROM alarms
WHERE sensor_id = %(sensor)s AND condition = %(condition)s AND drill = %(drill)s AND state <> 'closed' FOR UPDATE

-- name: BY_ID_FOR_UPDATE
SELECT id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session FROM alarms WHERE id = %(id)s FOR UPDATE

-- name: BY_ID
SELECT id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session FROM alarms WHERE id = %(id)s

-- name: INSERT
INSERT INTO alarms (sensor_id, building_id, zone, condition, family, signal_class, priority, state, active, latched, drill, suppressed, message, message_key, message_params, value, raised_at, last_seen_at, procedure, test_session)
VALUES (%(sensor)s, %(building)s, %(zone)s, %(condition)s, %(family)s, %(signal_class)s, %(priority)s, 'active_unacked', true, %(latched)s, %(drill)s, %(suppressed)s, %(message)s, %(message_key)s, %(message_params)s, %(value)s, %(at)s, %(at)s, %(procedure)s, %(test_session)s)
RETURNING id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session

-- name: UPDATE
-- One statement updates any subset of the mutable columns: NULL parameters keep the old value
-- unless the matching *_set flag says to write it.
UPDATE alarms SET state = coalesce(%(state)s, state),
    priority = coalesce(%(priority)s, priority),
    active = coalesce(%(active)s, active),
    message = coalesce(%(message)s, message),
    message_key = coalesce(%(message_key)s, message_key),
    message_params = coalesce(%(message_params)s, message_params),
    value = coalesce(%(value)s, value),
    occurrences = occurrences + %(occurrences)s,
    last_seen_at = greatest(last_seen_at, coalesce(%(last_seen_at)s, last_seen_at)),
    cleared_at = CASE WHEN %(cleared_set)s THEN %(cleared_at)s ELSE cleared_at END,
    acked_at = CASE WHEN %(acked_set)s THEN %(acked_at)s ELSE acked_at END,
    acked_by = CASE WHEN %(acked_set)s THEN %(acked_by)s ELSE acked_by END,
    assigned_to = CASE WHEN %(assigned_set)s THEN %(assigned_to)s ELSE assigned_to END,
    shelved_until = CASE WHEN %(shelved_set)s THEN %(shelved_until)s ELSE shelved_until END,
    shelved_by = CASE WHEN %(shelved_set)s THEN %(shelved_by)s ELSE shelved_by END,
    shelve_reason = CASE WHEN %(shelved_set)s THEN %(shelve_reason)s ELSE shelve_reason END,
    escalated_at = coalesce(escalated_at, %(escalated_at)s),
    confirmed = confirmed OR %(confirmed)s,
    closed_at = coalesce(closed_at, %(closed_at)s),
    closed_by = coalesce(closed_by, %(closed_by)s),
    disposition = coalesce(%(disposition)s, disposition),
    procedure = coalesce(%(procedure)s, procedure),
    version = version + 1,
    updated_at = now()
WHERE id = %(id)s
RETURNING id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session

-- name: JOURNAL
INSERT INTO alarm_journal (alarm_id, event_time, actor, action, from_state, to_state, note, details)
VALUES (%(alarm_id)s, %(event_time)s, %(actor)s, %(action)s, %(from_state)s, %(to_state)s, %(note)s, %(details)s)

-- name: NOTIFY
SELECT pg_notify('safecampus_alarms', %(payload)s)

-- name: OUTBOX_ADD
-- An alarm change for the notification planner (ingest.notify), in the change's transaction.
INSERT INTO notify_outbox (alarm_id, action) VALUES (%(alarm_id)s, %(action)s)

-- name: NOTIFY_ESCALATION
SELECT pg_notify('safecampus_escalations', %(payload)s)

-- name: LOCK_FIRE_ZONE
-- Until the batch commits: another batch raising a fire in this zone waits, then sees this one's alarm.
SELECT pg_advisory_xact_lock(%(key)s, hashtext(%(zone)s))

-- name: FIRE_IN_ZONE
SELECT id FROM alarms
WHERE condition = 'fire' AND zone = %(zone)s AND drill = %(drill)s AND state <> 'closed' AND sensor_id <> %(sensor)s AND raised_at >= %(since)s
ORDER BY id FOR UPDATE

-- name: RULE_STATES
-- A batch's sensor arrays go in binary form (psycopg's text form quotes and escapes each element).
SELECT sensor_id, state FROM rule_state WHERE sensor_id = ANY(%(ids)b)

-- name: SAVE_RULE_STATE
INSERT INTO rule_state (sensor_id, state, updated_at)
VALUES (%(sensor)s, %(state)s, now())
ON CONFLICT (sensor_id) DO UPDATE SET state = EXCLUDED.state,
    updated_at = now()

-- name: SAVE_RULE_STATES
-- A batch's rule states in one statement (one per sensor was a round trip each: thousands per
-- second in a drain); the ids come sorted, so rows are locked in one order.
INSERT INTO rule_state (sensor_id, state, updated_at)
SELECT x.sensor_id, x.state, now() FROM unnest(%(sensors)b::text[], %(states)b::jsonb[]) AS x(sensor_id, state)
ON CONFLICT (sensor_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()

-- name: DUE_SENSORS
-- The tick and the batches serialise per sensor on its sensors row: the tick finds the due
-- sensors without locking, then for each takes the sensor lock and only then reads its rule
-- state (a fresh statement sees what a batch committed meanwhile; no lost update).
SELECT sensor_id FROM rule_state WHERE (state ->> 'timer_at')::double precision <= %(now)s ORDER BY sensor_id

-- name: LOCK_SENSOR
SELECT id FROM sensors WHERE id = %(sensor)s FOR UPDATE

-- name: RULE_STATE_IF_DUE
SELECT state
FROM rule_state WHERE sensor_id = %(sensor)s
AND (state ->> 'timer_at')::double precision <= %(now)s

-- name: SENSOR_INFO
SELECT s.id, s.kind, s.building_id, r.zone, s.report_interval_s, s.thresholds, r.restricted, s.out_of_service_since IS NOT NULL AS oos FROM sensors s LEFT
JOIN rooms r ON r.id = s.room_id
WHERE s.retired_at IS NULL

-- name: OPEN_OFFLINE_FOR
SELECT sensor_id FROM alarms
WHERE condition = 'offline' AND state <> 'closed' AND active AND sensor_id = ANY(%(ids)b)

-- name: SILENT_SENSORS
SELECT s.id FROM sensors s
-- A sensor's own limit (thresholds.offline_after_s: a battery Zigbee device 25 h, LoRaWAN 3 h;
-- ingest.core.site) or else 'factor' reporting intervals.
WHERE s.registered AND s.retired_at IS NULL AND s.out_of_service_since IS NULL AND s.last_seen IS NOT NULL
AND s.kind <> 'checkpoint'  -- a patrol checkpoint is passive: only scans (a guard's tour) say it was seen
AND s.last_seen < %(now)s - make_interval(secs => coalesce((s.thresholds ->> 'offline_after_s')::double precision,
                                                           %(factor)s * s.report_interval_s))
AND NOT EXISTS (SELECT 1 FROM alarms a
WHERE a.sensor_id = s.id AND a.condition = 'offline' AND a.state <> 'closed' AND a.active)
ORDER BY s.id

-- name: STILL_SILENT
-- Locks the sensor and checks again once the lock is held (a batch may just have stored an event).
SELECT id FROM sensors s
WHERE id = %(sensor)s
AND s.last_seen < %(now)s - make_interval(secs => coalesce((s.thresholds ->> 'offline_after_s')::double precision,
                                                           %(factor)s * s.report_interval_s))
FOR UPDATE

-- name: SHELVES_EXPIRED
SELECT id FROM alarms
WHERE state <> 'closed' AND shelved_until IS NOT NULL AND shelved_until <= %(now)s
ORDER BY id

-- name: TO_ESCALATE
-- A walk test's alarms never escalate.
SELECT id FROM alarms
WHERE state = 'active_unacked' AND escalated_at IS NULL AND NOT suppressed AND test_session IS NULL
AND (shelved_until IS NULL OR shelved_until <= %(now)s)
AND ( (priority = 'critical' AND raised_at <= %(now)s - make_interval(secs => %(critical)s)) OR
    (priority = 'high' AND raised_at <= %(now)s - make_interval(secs => %(high)s)) OR
    (priority = 'medium' AND raised_at <= %(now)s - make_interval(secs => %(medium)s)) OR
    (priority = 'low' AND raised_at <= %(now)s - make_interval(secs => %(low)s)))
ORDER BY id

-- name: TICK_LOCK
SELECT pg_try_advisory_xact_lock(%(key)s)

-- name: LEADER_LOCK
SELECT pg_try_advisory_lock(%(key)s)

-- name: LISTEN_ALARMS
LISTEN safecampus_alarms

-- name: ALL_OPEN
SELECT id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session FROM alarms WHERE state <> 'closed' ORDER BY id

-- name: WATERMARK
SELECT value FROM meta WHERE key = 'watermark'

-- name: SET_WATERMARK
INSERT INTO meta (key, value)
VALUES ('watermark', %(value)s)
ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value::double precision, EXCLUDED.value::double precision)::text

-- name: JOURNAL_FOR
SELECT id, alarm_id, at, event_time, actor, action, from_state, to_state, note, details FROM alarm_journal
WHERE alarm_id = %(id)s
ORDER BY id

-- name: SENSORS_IN_TEST
-- -- walk tests (ingest.alarms.walktest) -------------------------------------------------------
-- Every device of a walk test not yet ended, with its session's window.
SELECT d.sensor_id, s.id, s.started_at, s.ends_at FROM test_devices d JOIN test_sessions s ON s.id = d.session_id
WHERE s.ended_at IS NULL

-- name: TEST_SIGNALLED
UPDATE test_devices SET signalled_at = coalesce(signalled_at, %(at)s), result = 'passed'
WHERE session_id = %(session)s AND sensor_id = %(sensor)s

-- name: SENSOR_TESTED
UPDATE sensors SET last_tested_at = greatest(last_tested_at, %(at)s) WHERE id = %(sensor)s

-- name: TESTS_DUE_TO_END
SELECT id FROM test_sessions WHERE ended_at IS NULL AND ends_at <= %(now)s ORDER BY id

-- name: TEST_SESSION_FOR_UPDATE
SELECT id, ended_at FROM test_sessions WHERE id = %(id)s FOR UPDATE

-- name: END_TEST_SESSION
UPDATE test_sessions SET ended_at = %(at)s, ended_by = %(by)s WHERE id = %(id)s

-- name: TEST_RESULTS_FINAL
UPDATE test_devices SET result = 'not_signalled' WHERE session_id = %(id)s AND result IS NULL

-- name: OPEN_TEST_ALARMS
SELECT id, active FROM alarms WHERE test_session = %(id)s AND state <> 'closed' ORDER BY id

-- name: TEST_ALARM_TO_REAL
-- A walk test ended while its device still signals: the condition is real from now on.
UPDATE alarms SET drill = false, test_session = NULL, state = 'active_unacked', acked_at = NULL, acked_by = NULL,
    raised_at = %(at)s, last_seen_at = greatest(last_seen_at, %(at)s), version = version + 1, updated_at = now()
WHERE id = %(id)s
RETURNING id, sensor_id, building_id, zone, condition, family, signal_class, priority, state, active,
    latched, drill, suppressed, confirmed, message, message_key, message_params, value, occurrences, raised_at, last_seen_at, cleared_at,
    acked_at, acked_by, assigned_to, shelved_until, shelved_by, shelve_reason, escalated_at, closed_at,
    closed_by, disposition, procedure, version, updated_at, test_session

-- name: START_TEST_SESSION
INSERT INTO test_sessions (reason, scope, started_by, ends_at) VALUES (%(reason)s, %(scope)s, %(by)s, %(ends)s)
RETURNING id, started_at, ends_at

-- name: ADD_TEST_DEVICE
INSERT INTO test_devices (session_id, sensor_id) VALUES (%(session)s, %(sensor)s)

-- name: TESTABLE_IN_ZONE
SELECT s.id FROM sensors s JOIN rooms r ON r.id = s.room_id
WHERE s.retired_at IS NULL AND s.registered AND s.kind IN ('smoke', 'door', 'lab') AND r.zone = %(zone)s ORDER BY s.id

-- name: TESTABLE_ON_FLOOR
SELECT s.id FROM sensors s JOIN rooms r ON r.id = s.room_id
WHERE s.retired_at IS NULL AND s.registered AND s.kind IN ('smoke', 'door', 'lab') AND s.building_id = %(building)s
  AND r.floor = %(floor)s ORDER BY s.id

-- name: TESTABLE_BY_ID
SELECT id FROM sensors WHERE retired_at IS NULL AND kind IN ('smoke', 'door', 'lab') AND id = ANY(%(ids)s) ORDER BY id

-- name: ALREADY_IN_TEST
SELECT d.sensor_id FROM test_devices d JOIN test_sessions s ON s.id = d.session_id
WHERE s.ended_at IS NULL AND d.sensor_id = ANY(%(ids)s)
