-- Named SQL of ingest.db.queries (loaded by ingest.db.sql; never built in Python).

-- name: TIMESCALE_AVAILABLE
-- -- migrations -----------------------------------------------------------------
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')

-- name: CREATE_TIMESCALE
CREATE EXTENSION IF NOT EXISTS timescaledb

-- name: CREATE_MIGRATIONS_TABLE
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: SCHEMA_VERSION
SELECT coalesce(max(version), 0) FROM schema_migrations

-- name: RECORD_MIGRATION
INSERT INTO schema_migrations (version, name) VALUES (%(version)s, %(name)s)

-- name: META_EXISTS
SELECT to_regclass('meta') IS NOT NULL

-- name: MIGRATIONS_EXIST
SELECT to_regclass('schema_migrations') IS NOT NULL

-- name: GET_META
SELECT value FROM meta WHERE key = %(key)s

-- name: SET_META
INSERT INTO meta (key, value) VALUES (%(key)s, %(value)s)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value

-- name: ADVISORY_LOCK
SELECT pg_advisory_lock(%(key)s)

-- name: ADVISORY_UNLOCK
SELECT pg_advisory_unlock(%(key)s)

-- name: REMOVE_RETENTION
-- -- TimescaleDB policies ---------------------------------------------------------
SELECT remove_retention_policy(%(table)s::regclass, if_exists => true)

-- name: ADD_RETENTION
SELECT add_retention_policy(%(table)s::regclass, %(after)s::interval)

-- name: REMOVE_COMPRESSION
SELECT remove_compression_policy(%(table)s::regclass, if_exists => true)

-- name: ADD_COMPRESSION
SELECT add_compression_policy(%(table)s::regclass, %(after)s::interval)

-- name: PRUNE_EVENTS
-- Plain PostgreSQL: the same retention, done by deleting old rows.
DELETE FROM events WHERE time < now() - %(after)s::interval

-- name: PRUNE_READINGS
-- The readings stored before migration 0018 (newer ones go with their events).
DELETE FROM readings_before WHERE time < now() - %(after)s::interval

-- name: STATUS
-- -- status ---------------------------------------------------------------------
SELECT
    (SELECT count(*) FROM sensors WHERE retired_at IS NULL)           AS sensors,
    (SELECT count(*) FROM sensors WHERE NOT registered)               AS unregistered,
    (SELECT count(*) FROM events)                                     AS events_total,
    (SELECT count(*) FROM dead_letters)                               AS dead_letters_total,
    (SELECT max(time) FROM events)                                    AS last_event_at

-- name: ALARMS_OPEN
SELECT count(*) FROM alarms WHERE state <> 'closed'

-- name: ALARMS_TABLE_EXISTS
SELECT to_regclass('alarms') IS NOT NULL

-- name: CREATE_STAGING
-- -- ingest batch write -----------------------------------------------------------
CREATE TEMP TABLE IF NOT EXISTS staging_events (
    time        timestamptz NOT NULL,
    sensor_id   text NOT NULL,
    building_id text NOT NULL,
    kind        text NOT NULL,
    event_id    text NOT NULL,
    seq         bigint,
    drill       boolean NOT NULL,
    state       text,
    payload     json NOT NULL,
    received_at timestamptz NOT NULL,
    reading_metrics text[],
    reading_values  double precision[]
) ON COMMIT DELETE ROWS

-- name: COPY_STAGING
-- The batch arrives without duplicates of its own (the writer drops them); binary COPY.
COPY staging_events (time, sensor_id, building_id, kind, event_id, seq, drill, state, payload, received_at,
                     reading_metrics, reading_values) FROM STDIN (FORMAT BINARY)

-- name: COPY_EVENTS
-- The usual batch (nothing of it stored before): straight into events, in a savepoint; a
-- duplicate makes the unique index refuse the COPY and the writer takes the staging path.
-- An event's readings travel in its row: its metrics and their values, two arrays in step.
COPY events (time, sensor_id, building_id, kind, event_id, seq, drill, state, payload, received_at,
             reading_metrics, reading_values) FROM STDIN (FORMAT BINARY)

-- name: SEE_SENSORS
-- One row per sensor of the batch, in id order, in one statement: a sensor seen for the first time
-- is registered as "unregistered" (its events are never dropped) with its earliest event's place
-- and kind (a device of another ecosystem nobody has placed yet keeps its source, adapter and key,
-- so an admin can adopt it from /sensors); a known one gets its first and last event time and the
-- battery and seq of its latest event that carried them. Every row is locked by its insert or
-- update until the batch commits, in id order, so two ingestors never deadlock and the alarm
-- rules of one sensor run in one batch at a time.
INSERT INTO sensors AS s (id, kind, building_id, registered, first_seen, source, last_seen, battery_pct, last_seq)
SELECT x.id, x.kind, x.building_id, false, x.first_time, x.source, x.last_time, x.battery, x.last_seq
FROM unnest(%(ids)b::text[], %(kinds)b::text[], %(buildings)b::text[], %(firsts)b::timestamptz[],
            %(sources)b::jsonb[], %(lasts)b::timestamptz[], %(batteries)b::real[], %(seqs)b::bigint[])
     AS x(id, kind, building_id, first_time, source, last_time, battery, last_seq)
ORDER BY x.id
ON CONFLICT (id) DO UPDATE SET
    last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen),
    first_seen = LEAST(coalesce(s.first_seen, EXCLUDED.first_seen), EXCLUDED.first_seen),
    battery_pct = coalesce(EXCLUDED.battery_pct, s.battery_pct),
    last_seq = CASE WHEN EXCLUDED.last_seen >= coalesce(s.last_seen, '-infinity')
                    THEN coalesce(EXCLUDED.last_seq, s.last_seq) ELSE s.last_seq END

-- name: INSERT_EVENTS
-- A batch holding events stored before (a redelivery): insert the new ones, drop the others;
-- return the keys of what was inserted.
INSERT INTO events (time, sensor_id, building_id, kind, event_id, seq, drill, state,
                    payload, received_at, reading_metrics, reading_values)
SELECT time, sensor_id, building_id, kind, event_id, seq, drill, state, payload, received_at,
       reading_metrics, reading_values
FROM staging_events
ON CONFLICT (sensor_id, event_id, time) DO NOTHING
RETURNING time, sensor_id, event_id

-- name: COPY_DEAD_LETTERS
COPY dead_letters (received_at, topic, payload, payload_size, reason, ingest_id) FROM STDIN

-- name: UPSERT_DEPARTMENT
-- -- registry -------------------------------------------------------------------------
INSERT INTO departments (id, name, name_zh, letter) VALUES (%(id)s, %(name)s, %(name_zh)s, %(letter)s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_zh = EXCLUDED.name_zh, letter = EXCLUDED.letter

-- name: UPSERT_BUILDING
INSERT INTO buildings (id, name, name_zh, use, department_id, outline, floors, retired_at)
VALUES (%(id)s, %(name)s, %(name_zh)s, %(use)s, %(department_id)s, %(outline)s, %(floors)s, NULL)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_zh = EXCLUDED.name_zh, use = EXCLUDED.use,
    department_id = EXCLUDED.department_id, outline = EXCLUDED.outline,
    floors = EXCLUDED.floors, retired_at = NULL

-- name: UPSERT_ROOM
INSERT INTO rooms (id, building_id, floor, name, name_zh, use, hazard_class, zone, restricted,
                   department_id, retired_at)
VALUES (%(id)s, %(building_id)s, %(floor)s, %(name)s, %(name_zh)s, %(use)s, %(hazard_class)s, %(zone)s,
        %(restricted)s, %(department_id)s, NULL)
ON CONFLICT (id) DO UPDATE SET building_id = EXCLUDED.building_id, floor = EXCLUDED.floor,
    name = EXCLUDED.name, name_zh = EXCLUDED.name_zh, use = EXCLUDED.use, hazard_class = EXCLUDED.hazard_class,
    zone = EXCLUDED.zone, restricted = EXCLUDED.restricted,
    department_id = EXCLUDED.department_id, retired_at = NULL

-- name: UPSERT_SENSOR
INSERT INTO sensors (id, kind, building_id, room_id, name, name_zh, report_interval_s, thresholds,
                     registered, retired_at, source, tag)
VALUES (%(id)s, %(kind)s, %(building_id)s, %(room_id)s, %(name)s, %(name_zh)s, %(report_interval_s)s,
        %(thresholds)s, true, NULL, %(source)s, %(tag)s)
ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, building_id = EXCLUDED.building_id,
    room_id = EXCLUDED.room_id, name = EXCLUDED.name, name_zh = EXCLUDED.name_zh,
    report_interval_s = EXCLUDED.report_interval_s, thresholds = EXCLUDED.thresholds,
    registered = true, retired_at = NULL, source = EXCLUDED.source, tag = EXCLUDED.tag

-- name: RETIRE_SENSORS
UPDATE sensors SET retired_at = now()
WHERE registered AND retired_at IS NULL AND NOT (id = ANY(%(keep)s))

-- name: RETIRE_ROOMS
UPDATE rooms SET retired_at = now() WHERE retired_at IS NULL AND NOT (id = ANY(%(keep)s))

-- name: RETIRE_BUILDINGS
UPDATE buildings SET retired_at = now() WHERE retired_at IS NULL AND NOT (id = ANY(%(keep)s))

-- name: REPORT_HEALTH
-- -- service health ---------------------------------------------------------------------------
INSERT INTO service_health (service, instance, status, updated_at) VALUES (%(service)s, %(instance)s, %(status)s, now())
ON CONFLICT (service, instance) DO UPDATE SET status = EXCLUDED.status, updated_at = now()

-- name: TRY_REFRESH_LOCK
-- -- rollups (ingest.db.rollups) ----------------------------------------------------------------
SELECT pg_try_advisory_xact_lock(%(key)s)

-- name: TRY_REFRESH_SESSION_LOCK
-- TimescaleDB refreshes commit on their own (CALL outside a transaction): a session lock.
SELECT pg_try_advisory_lock(%(key)s)

-- name: MARK_DIRTY
-- In the batch transaction: the 5-minute buckets the batch wrote to (one row each, no waiting).
INSERT INTO rollup_dirty (bucket) SELECT unnest(%(buckets)s::timestamptz[])

-- name: CLAIM_DIRTY
-- The buckets to bring up to date: those left claimed by a round that died, and every row
-- committed before this statement (a batch committing meanwhile waits for the next round).
WITH claimed AS (UPDATE rollup_dirty SET claimed = true WHERE NOT claimed RETURNING bucket)
SELECT bucket FROM claimed UNION SELECT bucket FROM rollup_dirty WHERE claimed ORDER BY 1

-- name: DONE_DIRTY
DELETE FROM rollup_dirty WHERE claimed AND bucket = ANY(%(buckets)s::timestamptz[])

-- name: REFRESH_READINGS_5M
-- The 5-minute buckets of one run of claimed buckets, [start, end), re-aggregated from their raw
-- rows; each hour that holds one is then summed from its 5-minute rows (an n-weighted average),
-- so a refresh costs what the buckets hold, however old they are. Constant bounds, planned for
-- their values (rollups.refresh executes it unprepared): the time index (BRIN, or TimescaleDB's
-- chunks) finds the rows in the view's every part; bounds a join supplies were planned as
-- unknown, and PostgreSQL chose to read all of `events` once per bucket. date_bin's origin is
-- time_bucket's (2000-01-03 UTC): the same buckets, the same numbers as on TimescaleDB.
INSERT INTO readings_5m (bucket, sensor_id, metric, avg, min, max, n)
SELECT date_bin(INTERVAL '5 minutes', time, TIMESTAMPTZ '2000-01-03 00:00:00+00'), sensor_id, metric,
       avg(value), min(value), max(value), count(*)
FROM readings
WHERE time >= %(start)s AND time < %(end)s
GROUP BY 1, 2, 3
ON CONFLICT (sensor_id, metric, bucket) DO UPDATE
SET avg = EXCLUDED.avg, min = EXCLUDED.min, max = EXCLUDED.max, n = EXCLUDED.n

-- name: REFRESH_READINGS_1H
INSERT INTO readings_1h (bucket, sensor_id, metric, avg, min, max, n)
SELECT h.bucket, r.sensor_id, r.metric, sum(r.avg * r.n) / sum(r.n)::double precision, min(r.min), max(r.max),
       sum(r.n)
FROM (SELECT DISTINCT date_bin(INTERVAL '1 hour', b, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket
      FROM unnest(%(buckets)s::timestamptz[]) AS b) AS h
JOIN readings_5m r ON r.bucket >= h.bucket AND r.bucket < h.bucket + INTERVAL '1 hour'
GROUP BY 1, 2, 3
ON CONFLICT (sensor_id, metric, bucket) DO UPDATE
SET avg = EXCLUDED.avg, min = EXCLUDED.min, max = EXCLUDED.max, n = EXCLUDED.n

-- name: REFRESH_EVENTS_5M
-- Plain PostgreSQL: like REFRESH_READINGS_5M, one run of claimed buckets at a time.
INSERT INTO events_5m (bucket, building_id, kind, state, n)
SELECT date_bin(INTERVAL '5 minutes', time, TIMESTAMPTZ '2000-01-03 00:00:00+00'), building_id, kind,
       coalesce(state, ''), count(*)
FROM events
WHERE time >= %(start)s AND time < %(end)s
GROUP BY 1, 2, 3, 4
ON CONFLICT (building_id, kind, state, bucket) DO UPDATE SET n = EXCLUDED.n

-- name: REFRESH_EVENTS_1H
INSERT INTO events_1h (bucket, building_id, kind, state, n)
SELECT h.bucket, e.building_id, e.kind, e.state, sum(e.n)
FROM (SELECT DISTINCT date_bin(INTERVAL '1 hour', b, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket
      FROM unnest(%(buckets)s::timestamptz[]) AS b) AS h
JOIN events_5m e ON e.bucket >= h.bucket AND e.bucket < h.bucket + INTERVAL '1 hour'
GROUP BY 1, 2, 3, 4
ON CONFLICT (building_id, kind, state, bucket) DO UPDATE SET n = EXCLUDED.n

-- name: CAGG_WATERMARK
-- TimescaleDB: where a continuous aggregate's materialised part ends (real-time aggregation
-- reads the raw rows from here on). The function its own real-time view calls.
-- Nothing materialised yet reads as 1970 (the function says 4714 BC, which Python cannot hold).
SELECT greatest(_timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(c.mat_hypertable_id)),
                TIMESTAMPTZ '1970-01-01 00:00:00+00')
FROM _timescaledb_catalog.continuous_agg c
WHERE c.user_view_schema = current_schema() AND c.user_view_name = %(view)s

-- name: REFRESH_CAGG
CALL refresh_continuous_aggregate(%(view)s::regclass, %(start)s::timestamptz, %(end)s::timestamptz)

-- name: REMOVE_CAGG_POLICY
SELECT remove_continuous_aggregate_policy(%(view)s::regclass, if_exists => true)

-- name: ADD_CAGG_POLICY
SELECT add_continuous_aggregate_policy(%(view)s::regclass, start_offset => %(start)s::interval,
                                       end_offset => %(end)s::interval, schedule_interval => %(every)s::interval)

-- name: ADD_USER
-- A new password or role revokes every session of the user (their cookies carry the old version).
INSERT INTO users (username, password_hash, role, display_name, card, department_id, department_head)
VALUES (%(u)s, %(h)s, %(r)s, %(n)s, %(card)s, %(dep)s, %(head)s)
ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role,
    display_name = EXCLUDED.display_name, card = EXCLUDED.card, department_id = EXCLUDED.department_id,
    department_head = EXCLUDED.department_head, disabled_at = NULL,
    session_version = users.session_version + 1

-- name: CARD_OWNER
SELECT username FROM users WHERE card = %(card)s AND username <> %(u)s

-- name: GET_USER
SELECT password_hash, role, display_name, session_version, language FROM users
WHERE username = %(u)s AND disabled_at IS NULL

-- name: RESTORE_NOT_EMPTY
SELECT count(*) FROM pg_tables WHERE schemaname = 'public'

-- name: RESTORE_PRE_RESTORE
SELECT timescaledb_pre_restore()

-- name: RESTORE_POST_RESTORE
SELECT timescaledb_post_restore()

-- name: ROLE_EXISTS
SELECT 1 FROM pg_roles WHERE rolname = %(role)s

-- name: SCENARIO_OPEN_ON
SELECT count(*) FROM alarms WHERE sensor_id = ANY(%(sensors)s) AND state <> 'closed'

-- name: SCENARIO_ALARMS_SINCE
SELECT id, sensor_id, condition, priority, drill, confirmed, raised_at, state FROM alarms
WHERE sensor_id = ANY(%(sensors)s) AND raised_at >= %(since)s ORDER BY raised_at

-- name: REPLAY_STORED_EVENTS
SELECT time, building_id, kind, sensor_id, coalesce(payload, payload_before::json) AS payload FROM events
WHERE time >= %(since)s AND time < %(until)s ORDER BY time, sensor_id

-- name: COUNT_USERS
SELECT count(*) FROM users

-- name: DATABASE_EXISTS
SELECT 1 FROM pg_database WHERE datname = %s

-- name: SET_LANGUAGE
UPDATE users SET language = %(lang)s WHERE username = %(u)s

-- name: SENSOR_SOURCES
-- What the device adapters bind to: sensors with a source, and (for a device named like a
-- sensor) the ids of every sensor without one. Registered sensors first.
SELECT id, kind, building_id, registered, source
FROM sensors
WHERE retired_at IS NULL
ORDER BY registered DESC, id

-- name: UPSERT_FLOOR_PLAN
-- -- floor plans and positions (site load, the placement tool) ------------------------------
INSERT INTO floor_plans (building_id, floor, media_type, content, sha256, width, height, origin, updated_by)
VALUES (%(building_id)s, %(floor)s, %(media_type)s, %(content)s, %(sha256)s, %(width)s, %(height)s, %(origin)s,
        %(updated_by)s)
ON CONFLICT (building_id, floor) DO UPDATE SET media_type = EXCLUDED.media_type, content = EXCLUDED.content,
    sha256 = EXCLUDED.sha256, width = EXCLUDED.width, height = EXCLUDED.height, origin = EXCLUDED.origin,
    updated_at = now(), updated_by = EXCLUDED.updated_by
WHERE floor_plans.sha256 <> EXCLUDED.sha256

-- name: PLACE_SENSOR
UPDATE sensors SET plan_x = %(x)s, plan_y = %(y)s, plan_zone = %(zone)s
WHERE id = %(id)s AND retired_at IS NULL
RETURNING id

-- name: CLEAR_TAGS
-- Tags move between checkpoints in one load: free them all first (the unique index checks each row).
UPDATE sensors SET tag = NULL WHERE tag IS NOT NULL AND NOT (id = ANY(%(keep)s))

-- name: UPSERT_ROUTE
-- A route from the site file (origin 'site') or an administrator's edit ('admin'); the next site load
-- writes the file's routes again.
INSERT INTO patrol_routes (id, name, name_zh, ordered, schedule, limit_s, silent_after_s, priority, origin)
VALUES (%(id)s, %(name)s, %(name_zh)s, %(ordered)s, %(schedule)s, %(limit_s)s, %(silent_after_s)s, %(priority)s,
        %(origin)s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_zh = EXCLUDED.name_zh, ordered = EXCLUDED.ordered,
    schedule = EXCLUDED.schedule, limit_s = EXCLUDED.limit_s, silent_after_s = EXCLUDED.silent_after_s,
    priority = EXCLUDED.priority, origin = EXCLUDED.origin, updated_at = now(), updated_by = %(by)s,
    retired_at = NULL

-- name: CLEAR_STOPS
DELETE FROM patrol_stops WHERE route_id = %(route)s

-- name: ADD_STOP
INSERT INTO patrol_stops (route_id, position, checkpoint_id, min_s, max_s)
VALUES (%(route)s, %(position)s, %(checkpoint)s, %(min_s)s, %(max_s)s)

-- name: RETIRE_ROUTES
UPDATE patrol_routes SET retired_at = now() WHERE origin = 'site' AND retired_at IS NULL AND NOT (id = ANY(%(keep)s))

-- name: UPSERT_INSPECTION_PLAN
INSERT INTO inspection_plans (id, name, name_zh, frequency, checklist, items, department_id, building_id)
VALUES (%(id)s, %(name)s, %(name_zh)s, %(frequency)s, %(checklist)s, %(items)s, %(department)s, %(building)s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_zh = EXCLUDED.name_zh, frequency = EXCLUDED.frequency,
    checklist = EXCLUDED.checklist, items = EXCLUDED.items, department_id = EXCLUDED.department_id,
    building_id = EXCLUDED.building_id, retired_at = NULL

-- name: RETIRE_INSPECTION_PLANS
UPDATE inspection_plans SET retired_at = now() WHERE retired_at IS NULL AND NOT (id = ANY(%(keep)s))

-- name: DEMO_HISTORY_EXISTS
-- -- the demo campus's past (sensors_sim/safety_history.py), written only into an empty history --------
SELECT EXISTS (SELECT 1 FROM inspections) OR EXISTS (SELECT 1 FROM hazards)

-- name: DEMO_PLANS_SINCE
UPDATE inspection_plans SET active_since = %(since)s

-- name: DEMO_INSPECTION
INSERT INTO inspections (plan_id, department_id, building_id, results, inspector, inspected_at, head, head_signed_at,
                         state)
VALUES (%(plan)s, %(department)s, %(building)s, %(results)s, %(by)s, %(at)s, %(head)s, %(signed)s, 'signed')

-- name: DEMO_TESTED
UPDATE sensors SET last_tested_at = %(at)s WHERE id = %(id)s

-- name: DEMO_HAZARD
INSERT INTO hazards (title, category, severity, department_id, building_id, source, state, deadline, created_by,
                     created_at, fixed_at, fixed_by, fix_note, closed_at, closed_by)
VALUES (%(title)s, %(category)s, %(severity)s, %(department)s, %(building)s, 'inspection', %(state)s, %(deadline)s,
        %(by)s, %(created)s, %(fixed_at)s, %(fixed_by)s, %(fix_note)s, %(closed_at)s, %(closed_by)s)
RETURNING id

-- name: DEMO_HAZARD_JOURNAL
INSERT INTO hazard_journal (hazard_id, actor, action, note, at) VALUES (%(id)s, %(by)s, 'reported', %(note)s, %(at)s)
