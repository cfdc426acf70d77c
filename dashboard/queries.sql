-- Named SQL of dashboard.queries (loaded by ingest.db.sql; never built in Python).

-- name: VISIBLE
-- Open alarms an operator should see: not shelved, not suppressed.
a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now())

-- name: WALL_COUNTS
SELECT
    (SELECT count(*) FROM sensors WHERE retired_at IS NULL)                                     AS sensors,
    (SELECT count(*) FROM alarms a WHERE a.condition = 'offline' AND a.active AND a.state <> 'closed') AS offline,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now()) AND a.priority = 'critical' AND NOT a.drill) AS critical,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now()) AND a.priority = 'high' AND NOT a.drill)     AS high,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now()) AND a.priority = 'medium' AND NOT a.drill)   AS medium,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now()) AND a.priority = 'low' AND NOT a.drill)      AS low,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now()) AND a.state = 'active_unacked')             AS unacked,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now()) AND a.drill)                                AS drills,
    (SELECT count(*) FROM alarms a WHERE a.state <> 'closed' AND a.shelved_until > now())                AS shelved,
    (SELECT max(last_seen) FROM sensors)                                                                 AS last_event,
    (SELECT count(*) FROM dead_letters WHERE received_at > now() - interval '1 hour') AS dead_letters_1h

-- name: WALL_ALARMS
-- The wall's rows: the incident's first fire alarm pinned (%(pin)s), then fires, unacknowledged,
-- priority, newest; total: how many there are in all (the wall says "+N more").
SELECT a.id, a.priority, a.state, a.condition, a.message, a.message_key, a.message_params, a.raised_at, a.drill, a.confirmed, a.occurrences,
       a.sensor_id, a.building, a.room, a.zone, a.building_zh, a.room_zh, count(*) OVER () AS total
FROM alarm_places a
WHERE a.state <> 'closed' AND NOT a.suppressed AND (a.shelved_until IS NULL OR a.shelved_until <= now())
ORDER BY a.id = %(pin)s DESC, (a.condition = 'fire' AND NOT a.drill) DESC, (a.state = 'active_unacked') DESC,
         array_position(ARRAY['critical','high','medium','low'], a.priority), a.raised_at DESC
LIMIT %(limit)s

-- name: WALL_FLOOD_TIMES
-- Activations (raised, or active again) of the last six hours, by the server's clock: the wall's flood test.
SELECT j.at FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id
WHERE j.action IN ('raised', 'returned') AND NOT a.drill AND j.at > now() - interval '6 hours'
ORDER BY j.at DESC
LIMIT 20000

-- name: WALL_FLOOD_GROUPS
-- In a flood: the open alarms by building and kind.
SELECT a.building_id, min(a.building) AS building, min(a.building_zh) AS building_zh, a.condition, count(*) AS n
FROM alarm_places a
WHERE a.state <> 'closed' AND NOT a.suppressed AND NOT a.drill AND (a.shelved_until IS NULL OR a.shelved_until <= now())
GROUP BY a.building_id, a.condition
ORDER BY n DESC

-- name: QUEUE
-- One page of the open alarms under the console's filters (and group), unacknowledged first,
-- then by priority and age, with the true total.
SELECT a.id, a.priority, a.state, a.condition, a.family, a.message, a.message_key, a.message_params, a.raised_at,
       a.drill, a.occurrences, a.assigned_to, a.shelved_until, a.active, a.latched, a.confirmed, a.escalated_at,
       a.building, a.building_id, a.department_id, a.room, a.sensor_id, a.building_zh, a.room_zh,
       count(*) OVER () AS total
FROM console_alarms(%(priorities)s::text[], %(states)s::text[], %(building)s::text, %(department)s::text,
                    %(family)s::text, %(shelved)s::boolean) a
WHERE %(group_key)s::text IS NULL
   OR console_group_key(%(group_by)s::text, a.building_id, a.condition, a.zone) = %(group_key)s::text
ORDER BY (a.state = 'active_unacked') DESC,
         array_position(ARRAY['critical','high','medium','low'], a.priority), a.raised_at, a.id
LIMIT %(limit)s OFFSET %(offset)s

-- name: QUEUE_GROUPS
-- The open alarms under the console's filters in groups (building, kind of alarm or zone): the
-- most urgent group first; read_at: what an action on a group may include (raised by then).
SELECT console_group_key(%(group_by)s::text, a.building_id, a.condition, a.zone) AS key,
       min(a.building) AS building, min(a.building_zh) AS building_zh,
       count(*) AS open, count(*) FILTER (WHERE a.state IN ('active_unacked', 'rtn_unacked')) AS unacked,
       min(array_position(ARRAY['critical','high','medium','low'], a.priority)) AS worst,
       min(a.raised_at) AS first_at, now() AS read_at
FROM console_alarms(%(priorities)s::text[], %(states)s::text[], %(building)s::text, %(department)s::text,
                    %(family)s::text, %(shelved)s::boolean) a
GROUP BY 1
ORDER BY worst, unacked DESC, open DESC, key
LIMIT 200

-- name: GROUP_MEMBERS
-- The alarms a group action takes: the group's under the same filters, raised by the time the
-- officer saw the group (nothing newer is acknowledged unseen), unacknowledged ones for an acknowledgement.
SELECT a.id
FROM console_alarms(%(priorities)s::text[], %(states)s::text[], %(building)s::text, %(department)s::text,
                    %(family)s::text, %(shelved)s::boolean) a
WHERE console_group_key(%(group_by)s::text, a.building_id, a.condition, a.zone) = %(group_key)s::text
  AND a.raised_at <= %(seen)s
  AND (NOT %(unacked)s OR a.state IN ('active_unacked', 'rtn_unacked'))
ORDER BY a.id
LIMIT 5000

-- name: DETAIL
SELECT * FROM alarm_places WHERE id = %(id)s

-- name: JOURNAL
SELECT at, actor, action, from_state, to_state, note, details FROM alarm_journal WHERE alarm_id = %(id)s ORDER BY id

-- name: RECENT_READINGS
SELECT time, metric, value FROM readings
WHERE sensor_id = %(sensor)s AND time > %(since)s
ORDER BY time

-- name: FILTER_CHOICES
SELECT 'building' AS what, id, name, name_zh FROM buildings WHERE retired_at IS NULL
UNION ALL SELECT 'department', id, name, name_zh FROM departments
ORDER BY 1, 3

-- name: SERIES_SENSOR_5M
-- -- trends: always from the rollups, never raw rows --------------------------------------
SELECT bucket, avg, min, max FROM readings_5m
WHERE sensor_id = %(sensor)s AND metric = %(metric)s AND bucket >= %(since)s ORDER BY bucket

-- name: SERIES_SENSOR_1H
SELECT bucket, avg, min, max FROM readings_1h
WHERE sensor_id = %(sensor)s AND metric = %(metric)s AND bucket >= %(since)s ORDER BY bucket

-- name: SERIES_BUILDING_5M
SELECT r.bucket, sum(r.avg * r.n) / sum(r.n) AS avg, min(r.min) AS min, max(r.max) AS max
FROM readings_5m r JOIN sensors s ON s.id = r.sensor_id
WHERE s.building_id = %(building)s AND r.metric = %(metric)s AND r.bucket >= %(since)s
GROUP BY r.bucket ORDER BY r.bucket

-- name: SERIES_BUILDING_1H
SELECT r.bucket, sum(r.avg * r.n) / sum(r.n) AS avg, min(r.min) AS min, max(r.max) AS max
FROM readings_1h r JOIN sensors s ON s.id = r.sensor_id
WHERE s.building_id = %(building)s AND r.metric = %(metric)s AND r.bucket >= %(since)s
GROUP BY r.bucket ORDER BY r.bucket

-- name: EVENT_RATES
SELECT bucket, kind, sum(n) AS n FROM events_1h
WHERE bucket >= %(since)s AND (%(building)s::text IS NULL OR building_id = %(building)s::text) AND kind <> 'status'
GROUP BY 1, 2 ORDER BY 1

-- name: DOOR_HEATMAP
SELECT extract(isodow FROM bucket AT TIME ZONE %(tz)s)::int AS dow,
       extract(hour FROM bucket AT TIME ZONE %(tz)s)::int AS hour, sum(n) AS n
FROM events_1h
WHERE kind = 'door' AND state IN ('access_granted', 'door_opened') AND bucket >= %(since)s
  AND (%(building)s::text IS NULL OR building_id = %(building)s::text)
GROUP BY 1, 2

-- name: ALARMS_PER_DAY
SELECT date_trunc('day', raised_at AT TIME ZONE %(tz)s) AS day, priority, count(*) AS n
FROM alarms WHERE NOT drill AND raised_at >= %(since)s
  AND (%(building)s::text IS NULL OR building_id = %(building)s::text)
GROUP BY 1, 2 ORDER BY 1

-- name: SENSOR_CHOICES
SELECT s.id, coalesce(s.name, s.id) AS name, s.thresholds -> 'metrics' AS metrics FROM sensors s
WHERE s.retired_at IS NULL AND s.kind = 'lab' AND (%(building)s::text IS NULL OR s.building_id = %(building)s::text)
ORDER BY s.id

-- name: SENSORS
-- -- sensor registry ---------------------------------------------------------------------------
SELECT * FROM (
    SELECT s.id, s.kind, coalesce(b.name, s.building_id) AS building, r.name AS room, b.name_zh AS building_zh,
           r.name_zh AS room_zh, s.last_seen, s.battery_pct,
           s.out_of_service_reason, s.source ->> 'adapter' AS adapter, s.source ->> 'key' AS device,
           CASE WHEN s.out_of_service_since IS NOT NULL THEN 'out of service'
                WHEN NOT s.registered THEN 'unregistered'
                WHEN s.last_seen IS NULL THEN 'never seen'
                WHEN s.last_seen < now() - make_interval(secs => coalesce(
                    (s.thresholds ->> 'offline_after_s')::double precision, 3 * s.report_interval_s)) THEN 'offline'
                ELSE 'online' END AS status
    FROM sensors s
    LEFT JOIN buildings b ON b.id = s.building_id
    LEFT JOIN rooms r ON r.id = s.room_id
    WHERE s.retired_at IS NULL
) x
WHERE (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(search)s::text IS NULL OR strpos(lower(id), lower(%(search)s::text)) > 0
       OR strpos(lower(coalesce(building, '')), lower(%(search)s::text)) > 0)  -- plain text, no LIKE wildcards
ORDER BY array_position(ARRAY['offline','unregistered','out of service','never seen','online'], status), id
LIMIT 2000

-- name: SET_OUT_OF_SERVICE
UPDATE sensors SET out_of_service_since = now(), out_of_service_reason = %(reason)s
WHERE id = %(id)s AND retired_at IS NULL AND out_of_service_since IS NULL

-- name: ROOM_CHOICES
SELECT r.id, r.name, r.name_zh, r.building_id, b.name AS building, b.name_zh AS building_zh
FROM rooms r JOIN buildings b ON b.id = r.building_id
WHERE r.retired_at IS NULL AND b.retired_at IS NULL
ORDER BY r.building_id, r.floor, r.id

-- name: SENSOR_KIND_SOURCE
SELECT kind, source FROM sensors WHERE id = %(id)s AND NOT registered AND retired_at IS NULL FOR UPDATE

-- name: SENSOR_METRICS_SEEN
-- What a device has measured in the last day (its site-file metrics when it is adopted).
SELECT DISTINCT metric FROM readings
WHERE sensor_id = %(id)s AND time > now() - interval '1 day'
ORDER BY metric

-- name: ADOPT_SENSOR
-- An unregistered device (a foreign one keeps its source) placed in a room by an admin.
UPDATE sensors s SET registered = true, room_id = r.id, building_id = r.building_id,
       name = coalesce(%(name)s, s.name, s.id), report_interval_s = %(interval_s)s,
       thresholds = s.thresholds || %(thresholds)s
FROM rooms r
WHERE s.id = %(id)s AND NOT s.registered AND s.retired_at IS NULL AND r.id = %(room)s AND r.retired_at IS NULL
RETURNING s.id, s.kind, s.source, r.id AS room, r.building_id

-- name: SET_IN_SERVICE
UPDATE sensors SET out_of_service_since = NULL, out_of_service_reason = NULL
WHERE id = %(id)s AND retired_at IS NULL AND out_of_service_since IS NOT NULL

-- name: DUTY_LOG_ADD
INSERT INTO duty_log (author, kind, note, details) VALUES (%(author)s, %(kind)s, %(note)s, %(details)s)

-- name: HANDOVER_OPEN
-- -- shift handover and duty log ----------------------------------------------------------------
SELECT a.id, a.priority, a.state, a.message, a.message_key, a.message_params, a.raised_at, a.shelved_until, a.shelve_reason, a.drill,
       coalesce(a.building, a.building_id) AS building, a.building_zh
FROM alarm_places a
WHERE a.state <> 'closed' AND NOT a.suppressed
ORDER BY (a.shelved_until > now()) NULLS FIRST,
         array_position(ARRAY['critical','high','medium','low'], a.priority), a.raised_at

-- name: OUT_OF_SERVICE
SELECT id, out_of_service_since, out_of_service_reason FROM sensors
WHERE out_of_service_since IS NOT NULL AND retired_at IS NULL ORDER BY out_of_service_since

-- name: DUTY_LOG_DAY
SELECT id, at, author, kind, note, details FROM duty_log
WHERE at >= %(start)s AND at < %(end)s ORDER BY at

-- name: LAST_EQUIPMENT_CHECK
SELECT max(at) FROM duty_log WHERE kind = 'equipment'

-- name: INGEST_HEALTH
SELECT instance, status, updated_at > now() - interval '30 seconds' AS fresh FROM service_health
WHERE service = 'ingest' AND updated_at > now() - interval '1 day' ORDER BY instance

-- name: BLOCKED_UNTIL
SELECT max(blocked_until) FROM login_failures
WHERE ((scope = 'account' AND key = %(account)s) OR (scope = 'address' AND key = %(address)s))
  AND blocked_until > now()

-- name: RECORD_FAILURE
INSERT INTO login_failures AS f (scope, key, failures, last_failure, blocked_until)
VALUES (%(scope)s, %(key)s, 1, now(), NULL)
ON CONFLICT (scope, key) DO UPDATE SET
    failures = CASE WHEN f.last_failure < now() - make_interval(secs => %(forget)s) THEN 1 ELSE f.failures + 1 END,
    last_failure = now(),
    blocked_until = CASE
        WHEN f.last_failure < now() - make_interval(secs => %(forget)s) OR f.failures + 1 < %(free)s THEN NULL
        ELSE now() + make_interval(secs => least(%(max)s, %(base)s * power(2, f.failures + 1 - %(free)s)))
    END

-- name: CLEAR_ACCOUNT
DELETE FROM login_failures WHERE scope = 'account' AND key = %(account)s

-- name: FORGET_OLD
DELETE FROM login_failures WHERE last_failure < now() - make_interval(secs => %(forget)s)

-- name: SESSION_USER
SELECT role, display_name, session_version, language, department_id, department_head FROM users
WHERE username = %(u)s AND disabled_at IS NULL

-- name: SET_USER_LANGUAGE
UPDATE users SET language = %(lang)s WHERE username = %(u)s

-- name: REVOKE_SESSIONS
UPDATE users SET session_version = session_version + 1 WHERE username = %(u)s

-- name: MAP_BUILDINGS
-- -- floor plans (/map, the wall, the console) ----------------------------------------------
-- Each building with its worst device state (visible_alarm_states: migration 0015).
SELECT b.id, b.name, b.name_zh, b.outline, b.floors,
       (SELECT o.device_state FROM visible_alarm_states o WHERE o.building_id = b.id ORDER BY o.rank LIMIT 1)
           AS worst,
       (SELECT count(*) FROM visible_alarm_states o WHERE o.building_id = b.id) AS alarms,
       (SELECT count(*) FROM visible_alarm_states o WHERE o.building_id = b.id AND o.unacked) AS unacked
FROM buildings b
WHERE b.retired_at IS NULL
ORDER BY b.id

-- name: MAP_FLOORS
-- A building's floors, top first: devices, placed devices, its plan, its worst state.
WITH floors AS (
    SELECT generate_series(0, b.floors - 1) AS floor FROM buildings b WHERE b.id = %(building)s
)
SELECT f.floor, fp.sha256 AS plan,
       count(DISTINCT s.id) AS devices, count(DISTINCT s.id) FILTER (WHERE s.plan_x IS NOT NULL) AS placed,
       count(DISTINCT o.sensor_id) AS alarms, count(DISTINCT o.sensor_id) FILTER (WHERE o.unacked) AS unacked,
       (array_agg(o.device_state ORDER BY o.rank) FILTER (WHERE o.device_state IS NOT NULL))[1] AS worst
FROM floors f
LEFT JOIN floor_plans fp ON fp.building_id = %(building)s AND fp.floor = f.floor
LEFT JOIN rooms r ON r.building_id = %(building)s AND r.floor = f.floor AND r.retired_at IS NULL
LEFT JOIN sensors s ON s.room_id = r.id AND s.retired_at IS NULL
LEFT JOIN visible_alarm_states o ON o.sensor_id = s.id AND o.building_id = %(building)s
GROUP BY f.floor, fp.sha256
ORDER BY f.floor DESC

-- name: MAP_PLAN
SELECT building_id, floor, sha256, width, height, media_type, origin, updated_at, updated_by
FROM floor_plans WHERE building_id = %(building)s AND floor = %(floor)s

-- name: MAP_PLAN_CONTENT
SELECT media_type, content, sha256 FROM floor_plans WHERE building_id = %(building)s AND floor = %(floor)s

-- name: MAP_DEVICES
-- Every sensor of a floor (placed or not) with its state: its most serious open alarm, else
-- out of service, else normal; ``unacked`` when any of its open alarms waits for an acknowledgement.
WITH open AS (
    SELECT DISTINCT ON (sensor_id) sensor_id, id, condition, raised_at, device_state AS state,
           bool_or(unacked) OVER (PARTITION BY sensor_id) AS unacked
    FROM visible_alarm_states
    WHERE building_id = %(building)s
    ORDER BY sensor_id, rank, raised_at DESC
)
SELECT s.id, s.kind, s.name, s.name_zh, s.plan_x AS x, s.plan_y AS y, s.plan_zone AS zone,
       r.id AS room_id, r.name AS room, r.name_zh AS room_zh, s.out_of_service_since IS NOT NULL AS disabled,
       o.id AS alarm_id, o.condition, o.state, coalesce(o.unacked, false) AS unacked, o.raised_at
FROM sensors s
JOIN rooms r ON r.id = s.room_id
LEFT JOIN open o ON o.sensor_id = s.id
WHERE r.building_id = %(building)s AND r.floor = %(floor)s AND s.retired_at IS NULL AND r.retired_at IS NULL
ORDER BY s.id

-- name: MAP_FOCUS
-- What the wall shows on a plan: a fire first, then the newest unacknowledged alarm, then the newest.
SELECT a.id, a.sensor_id, a.building_id, r.floor, a.condition, a.raised_at, b.name AS building,
       b.name_zh AS building_zh, r.name AS room, r.name_zh AS room_zh, fp.sha256 AS plan
FROM alarms a
JOIN sensors s ON s.id = a.sensor_id
JOIN rooms r ON r.id = s.room_id
JOIN buildings b ON b.id = a.building_id
LEFT JOIN floor_plans fp ON fp.building_id = r.building_id AND fp.floor = r.floor
WHERE a.state <> 'closed' AND NOT a.suppressed AND NOT a.drill AND (a.shelved_until IS NULL OR a.shelved_until <= now())
ORDER BY (a.condition = 'fire') DESC, (a.state IN ('active_unacked', 'rtn_unacked')) DESC, a.raised_at DESC, a.id DESC
LIMIT 1

-- name: MAP_FIRST_FIRE
-- The first fire alarm of the incident under way (首警): the earliest open fire alarm.
SELECT a.id, a.sensor_id, a.building_id, r.floor, a.raised_at, b.name AS building, b.name_zh AS building_zh,
       r.name AS room, r.name_zh AS room_zh
FROM alarms a
JOIN sensors s ON s.id = a.sensor_id
JOIN rooms r ON r.id = s.room_id
JOIN buildings b ON b.id = a.building_id
WHERE a.condition = 'fire' AND a.state <> 'closed' AND NOT a.suppressed AND NOT a.drill
ORDER BY a.raised_at, a.id
LIMIT 1

-- name: SENSOR_PLACE
SELECT s.id, r.building_id, r.floor FROM sensors s JOIN rooms r ON r.id = s.room_id
WHERE s.id = %(id)s AND s.retired_at IS NULL

-- name: PLACED_OUTSIDE
-- Placed sensors of a floor that a plan of this size would leave off it.
SELECT s.id FROM sensors s JOIN rooms r ON r.id = s.room_id
WHERE r.building_id = %(building)s AND r.floor = %(floor)s AND s.retired_at IS NULL AND s.plan_x IS NOT NULL
  AND (s.plan_x > %(width)s OR s.plan_y > %(height)s)
ORDER BY s.id

-- name: LAYOUT_EXPORT_PLANS
SELECT fp.building_id, fp.floor, fp.media_type, fp.content
FROM floor_plans fp JOIN buildings b ON b.id = fp.building_id
WHERE b.retired_at IS NULL ORDER BY fp.building_id, fp.floor

-- name: LAYOUT_EXPORT_POSITIONS
SELECT id, plan_x AS x, plan_y AS y, plan_zone AS zone FROM sensors
WHERE retired_at IS NULL AND registered AND plan_x IS NOT NULL ORDER BY id

-- name: GUARD_TOURS
-- -- guard tours (ingest.patrol) --------------------------------------------------------------
-- The tours a guard may be on now: theirs under way, then those that may be started (from 15
-- minutes before their start until their limit), then the next one planned.
(SELECT t.id, t.route_id, t.due_at, t.ends_at, t.state, t.guard, t.stops, t.visits, t.ordered,
        r.name, r.name_zh, 0 AS rank
 FROM tours t JOIN patrol_routes r ON r.id = t.route_id
 WHERE t.state = 'running' AND t.guard = %(u)s AND t.ends_at >= %(now)s - interval '10 minutes')
UNION ALL
(SELECT t.id, t.route_id, t.due_at, t.ends_at, t.state, t.guard, t.stops, t.visits, t.ordered,
        r.name, r.name_zh, 1 AS rank
 FROM tours t JOIN patrol_routes r ON r.id = t.route_id
 WHERE t.state = 'planned' AND t.due_at - interval '15 minutes' <= %(now)s AND t.ends_at >= %(now)s)
UNION ALL
(SELECT t.id, t.route_id, t.due_at, t.ends_at, t.state, t.guard, t.stops, t.visits, t.ordered,
        r.name, r.name_zh, 2 AS rank
 FROM tours t JOIN patrol_routes r ON r.id = t.route_id
 WHERE t.state = 'planned' AND t.due_at - interval '15 minutes' > %(now)s
 ORDER BY t.due_at LIMIT 1)
ORDER BY rank, due_at LIMIT 4

-- name: CHECKPOINT_PLACES
SELECT s.id, s.name, s.name_zh, s.tag, s.building_id, r.name AS room, r.name_zh AS room_zh, r.floor,
       b.name AS building, b.name_zh AS building_zh
FROM sensors s LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN buildings b ON b.id = s.building_id
WHERE s.id = ANY(%(ids)s)

-- name: GUARD_DISPATCHES
-- A guard's dispatches: open ones first, then those closed in the last 12 hours.
SELECT d.id, d.state, d.dispatched_at, d.dispatched_by, d.note, d.on_the_way_at, d.on_scene_at, d.resolved_at,
       a.id AS alarm_id, a.message, a.message_key, a.message_params, a.condition, a.priority, a.sensor_id,
       a.building_id, a.building, a.building_zh, a.room, a.room_zh, a.floor
FROM dispatches d JOIN alarm_places a ON a.id = d.alarm_id
WHERE d.guard = %(u)s AND (d.state NOT IN ('resolved', 'cancelled') OR d.updated_at > now() - interval '12 hours')
ORDER BY d.state IN ('resolved', 'cancelled'), d.dispatched_at DESC
LIMIT 20

-- name: GUARD_LIST
-- Guards an officer may send: who is on a tour, and how many dispatches each has open.
SELECT u.username, u.display_name,
       (SELECT t.route_id FROM tours t WHERE t.guard = u.username AND t.state = 'running'
        ORDER BY t.due_at DESC LIMIT 1) AS on_route,
       (SELECT count(*) FROM dispatches d WHERE d.guard = u.username
        AND d.state NOT IN ('resolved', 'cancelled')) AS open_dispatches
FROM users u WHERE u.role = 'guard' AND u.disabled_at IS NULL
ORDER BY u.display_name, u.username

-- name: ALARM_DISPATCHES
SELECT d.id, d.guard, u.display_name, d.state, d.dispatched_at, d.dispatched_by, d.on_the_way_at, d.on_scene_at,
       d.resolved_at, d.cancelled_at, d.note, d.photo IS NOT NULL AS has_photo
FROM dispatches d LEFT JOIN users u ON u.username = d.guard
WHERE d.alarm_id = %(id)s ORDER BY d.id

-- name: DISPATCH_PHOTO
SELECT photo, photo_type FROM dispatches WHERE id = %(id)s AND photo IS NOT NULL

-- name: PATROL_ROUTES
SELECT r.id, r.name, r.name_zh, r.ordered, r.schedule, r.limit_s, r.silent_after_s, r.priority, r.origin,
       r.updated_at, r.updated_by,
       coalesce(jsonb_agg(jsonb_build_object('checkpoint', s.checkpoint_id, 'min', s.min_s / 60, 'max', s.max_s / 60,
                                             'name', c.name, 'name_zh', c.name_zh)
                          ORDER BY s.position) FILTER (WHERE s.route_id IS NOT NULL), '[]'::jsonb) AS stops
FROM patrol_routes r LEFT JOIN patrol_stops s ON s.route_id = r.id LEFT JOIN sensors c ON c.id = s.checkpoint_id
WHERE r.retired_at IS NULL
GROUP BY r.id ORDER BY r.id

-- name: PATROL_TOURS_AROUND
-- Tours from %(since)s to two hours ahead, newest first (the patrol page and the handover).
SELECT t.id, t.route_id, r.name, r.name_zh, t.due_at, t.ends_at, t.state, t.guard, t.visits, t.stops,
       coalesce(u.display_name, t.guard) AS guard_name
FROM tours t JOIN patrol_routes r ON r.id = t.route_id LEFT JOIN users u ON u.username = t.guard
WHERE t.due_at >= %(since)s AND t.due_at <= %(now)s + interval '2 hours'
ORDER BY t.due_at DESC, t.route_id
LIMIT 60

-- name: CHECKPOINT_IDS
SELECT id FROM sensors WHERE kind = 'checkpoint' AND retired_at IS NULL

-- name: RETIRE_ROUTE
UPDATE patrol_routes SET retired_at = now(), updated_at = now(), updated_by = %(by)s
WHERE id = %(id)s AND retired_at IS NULL

-- name: SAFETY_PLANS
-- -- inspections, hazards, walk tests (ingest.safety, ingest.alarms.walktest) ---------------------
-- Every plan with the times of its signed inspections in the last 400 days and how many wait for a signature.
SELECT p.id, p.name, p.name_zh, p.frequency, p.checklist, p.items, p.department_id, p.building_id, p.active_since,
       d.name AS department, d.name_zh AS department_zh,
       coalesce(array_agg(i.inspected_at ORDER BY i.inspected_at DESC) FILTER (WHERE i.state = 'signed'), '{}')
           AS done,
       count(i.id) FILTER (WHERE i.state = 'submitted') AS unsigned
FROM inspection_plans p JOIN departments d ON d.id = p.department_id
LEFT JOIN inspections i ON i.plan_id = p.id AND i.inspected_at > now() - interval '400 days'
WHERE p.retired_at IS NULL
GROUP BY p.id, d.name, d.name_zh ORDER BY d.name, p.name

-- name: INSPECTIONS_TO_SIGN
SELECT i.id, i.plan_id, p.name, p.name_zh, i.department_id, i.inspector, i.inspected_at, i.results, i.note,
       p.items
FROM inspections i JOIN inspection_plans p ON p.id = i.plan_id
WHERE i.state = 'submitted' ORDER BY i.inspected_at DESC LIMIT 50

-- name: HAZARD_LIST
-- The hazards by deadline (closed ones too with %(closed)s), or with %(id)s that one hazard.
SELECT h.id, h.title, h.description, h.category, h.severity, h.state, h.deadline, h.created_at, h.created_by,
       h.source, h.source_ref, h.department_id, h.fix_note, h.fixed_by, h.fixed_at, h.fix_photo IS NOT NULL AS has_photo,
       h.closed_at, h.overdue_at, d.name AS department, d.name_zh AS department_zh, b.name AS building,
       b.name_zh AS building_zh, r.name AS room, r.name_zh AS room_zh
FROM hazards h JOIN departments d ON d.id = h.department_id
LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN rooms r ON r.id = h.room_id
-- (with an id: that one hazard, closed or not)
WHERE CASE WHEN %(id)s::bigint IS NULL THEN %(closed)s OR h.state <> 'closed' ELSE h.id = %(id)s END
ORDER BY h.state = 'closed', h.deadline
LIMIT 200

-- name: HAZARD_JOURNAL_OF
SELECT at, actor, action, note FROM hazard_journal WHERE hazard_id = %(id)s ORDER BY id

-- name: HAZARD_PHOTO
SELECT fix_photo AS photo, fix_photo_type AS photo_type FROM hazards WHERE id = %(id)s AND fix_photo IS NOT NULL

-- name: DEPARTMENT_SAFETY
-- Per department: its responsibility letter, the last real incident (its streak), open hazards, those
-- past their deadline, and detectors not tested within a year.
SELECT d.id, d.name, d.name_zh, d.letter,
       (SELECT max(a.closed_at) FROM alarm_places a WHERE a.department_id = d.id AND a.disposition = 'real'
          AND NOT a.drill) AS last_real,
       (SELECT count(*) FROM hazards h WHERE h.department_id = d.id AND h.state <> 'closed') AS open_hazards,
       (SELECT count(*) FROM hazards h WHERE h.department_id = d.id AND h.state = 'open'
          AND h.deadline < now()) AS overdue_hazards,
       (SELECT count(*) FROM sensors s LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN buildings b ON b.id = s.building_id
        WHERE s.kind = 'smoke' AND s.retired_at IS NULL AND s.registered
          AND coalesce(r.department_id, b.department_id) = d.id
          AND (s.last_tested_at IS NULL OR s.last_tested_at < now() - interval '365 days')) AS untested_detectors,
       (SELECT count(*) FROM sensors s LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN buildings b ON b.id = s.building_id
        WHERE s.kind = 'smoke' AND s.retired_at IS NULL AND s.registered
          AND coalesce(r.department_id, b.department_id) = d.id) AS detectors
FROM departments d ORDER BY d.name

-- name: TEST_SESSIONS
SELECT s.id, s.reason, s.scope, s.started_by, s.started_at, s.ends_at, s.ended_at, s.ended_by,
       count(d.sensor_id) AS devices, count(d.signalled_at) AS signalled,
       count(*) FILTER (WHERE d.result = 'not_signalled') AS silent,
       coalesce(array_agg(d.sensor_id ORDER BY d.sensor_id) FILTER (WHERE d.signalled_at IS NULL), '{}') AS waiting
FROM test_sessions s LEFT JOIN test_devices d ON d.session_id = s.id
WHERE s.ended_at IS NULL OR s.ended_at > now() - interval '7 days'
GROUP BY s.id ORDER BY s.ended_at IS NULL DESC, s.started_at DESC LIMIT 20

-- name: ZONES
SELECT DISTINCT zone FROM rooms WHERE zone IS NOT NULL AND retired_at IS NULL ORDER BY zone

-- name: ROOMS_OF
SELECT r.id, r.name, r.name_zh, r.floor, r.building_id FROM rooms r WHERE r.retired_at IS NULL ORDER BY r.building_id, r.floor, r.id

-- name: WALL_OVERDUE
-- What the wall's quiet line counts: hazards past their deadline, walk tests under way.
SELECT (SELECT count(*) FROM hazards WHERE state = 'open' AND deadline < now()) AS hazards,
       (SELECT count(*) FROM test_sessions WHERE ended_at IS NULL) AS tests
