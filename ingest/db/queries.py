"""Named SQL statements. Parameters only through ``%(name)s``; never string-built."""

# -- migrations -----------------------------------------------------------------
TIMESCALE_AVAILABLE = "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
CREATE_TIMESCALE = "CREATE EXTENSION IF NOT EXISTS timescaledb"
CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM schema_migrations"
RECORD_MIGRATION = "INSERT INTO schema_migrations (version, name) VALUES (%(version)s, %(name)s)"
META_EXISTS = "SELECT to_regclass('meta') IS NOT NULL"
MIGRATIONS_EXIST = "SELECT to_regclass('schema_migrations') IS NOT NULL"
GET_META = "SELECT value FROM meta WHERE key = %(key)s"
SET_META = """
INSERT INTO meta (key, value) VALUES (%(key)s, %(value)s)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"""
ADVISORY_LOCK = "SELECT pg_advisory_lock(%(key)s)"
ADVISORY_UNLOCK = "SELECT pg_advisory_unlock(%(key)s)"

# -- TimescaleDB policies ---------------------------------------------------------
REMOVE_RETENTION = "SELECT remove_retention_policy(%(table)s::regclass, if_exists => true)"
ADD_RETENTION = "SELECT add_retention_policy(%(table)s::regclass, %(after)s::interval)"
REMOVE_COMPRESSION = "SELECT remove_compression_policy(%(table)s::regclass, if_exists => true)"
ADD_COMPRESSION = "SELECT add_compression_policy(%(table)s::regclass, %(after)s::interval)"
# Plain PostgreSQL: the same retention, done by deleting old rows.
PRUNE_EVENTS = "DELETE FROM events WHERE time < now() - %(after)s::interval"
PRUNE_READINGS = "DELETE FROM readings WHERE time < now() - %(after)s::interval"

# -- status ---------------------------------------------------------------------
STATUS = """
SELECT
    (SELECT count(*) FROM sensors WHERE retired_at IS NULL)           AS sensors,
    (SELECT count(*) FROM sensors WHERE NOT registered)               AS unregistered,
    (SELECT count(*) FROM events)                                     AS events_total,
    (SELECT count(*) FROM dead_letters)                               AS dead_letters_total,
    (SELECT max(time) FROM events)                                    AS last_event_at"""
ALARMS_OPEN = "SELECT count(*) FROM alarms WHERE state <> 'closed'"
ALARMS_TABLE_EXISTS = "SELECT to_regclass('alarms') IS NOT NULL"

# -- ingest batch write -----------------------------------------------------------
CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging_events (
    time        timestamptz NOT NULL,
    sensor_id   text NOT NULL,
    building_id text NOT NULL,
    kind        text NOT NULL,
    event_id    text NOT NULL,
    seq         bigint,
    drill       boolean NOT NULL,
    state       text,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    battery_pct real
) ON COMMIT DELETE ROWS"""
# The batch arrives without duplicates of its own (the writer drops them); binary COPY.
COPY_STAGING = (
    "COPY staging_events (time, sensor_id, building_id, kind, event_id, seq, drill, state,"
    " payload, received_at, battery_pct) FROM STDIN (FORMAT BINARY)"
)
STAGING_TYPES = (
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "int8",
    "bool",
    "text",
    "jsonb",
    "timestamptz",
    "float4",
)
# The readings of the events really inserted go straight into their table.
COPY_READINGS = "COPY readings (time, sensor_id, metric, value, drill) FROM STDIN (FORMAT BINARY)"
READINGS_TYPES = ("timestamptz", "text", "text", "float8", "bool")
# Register sensors seen for the first time as "unregistered" (never drop their events).
REGISTER_UNKNOWN = """
INSERT INTO sensors (id, kind, building_id, registered, first_seen)
SELECT DISTINCT ON (sensor_id) sensor_id, kind, building_id, false, time
FROM staging_events
ORDER BY sensor_id, time
ON CONFLICT (id) DO NOTHING"""
# Lock the batch's sensor rows in id order so two ingestors never deadlock.
LOCK_SENSORS = """
SELECT id FROM sensors
WHERE id IN (SELECT DISTINCT sensor_id FROM staging_events)
ORDER BY id FOR UPDATE"""
# Insert new events, drop those already stored; return the keys of what was inserted.
INSERT_EVENTS = """
INSERT INTO events (time, sensor_id, building_id, kind, event_id, seq, drill, state,
                    payload, received_at)
SELECT time, sensor_id, building_id, kind, event_id, seq, drill, state, payload, received_at
FROM staging_events
ON CONFLICT (sensor_id, event_id, time) DO NOTHING
RETURNING time, sensor_id, event_id"""
UPDATE_SENSORS_SEEN = """
UPDATE sensors s SET
    last_seen = GREATEST(s.last_seen, x.last_time),
    first_seen = LEAST(coalesce(s.first_seen, x.first_time), x.first_time),
    battery_pct = coalesce(x.battery, s.battery_pct),
    last_seq = CASE WHEN x.last_time >= coalesce(s.last_seen, '-infinity')
                    THEN coalesce(x.last_seq, s.last_seq) ELSE s.last_seq END
FROM (
    SELECT sensor_id,
           max(time) AS last_time,
           min(time) AS first_time,
           (array_agg(battery_pct ORDER BY time DESC) FILTER (WHERE battery_pct IS NOT NULL))[1] AS battery,
           (array_agg(seq ORDER BY time DESC) FILTER (WHERE seq IS NOT NULL))[1] AS last_seq
    FROM staging_events
    GROUP BY sensor_id
) x
WHERE s.id = x.sensor_id"""
COPY_DEAD_LETTERS = "COPY dead_letters (received_at, topic, payload, payload_size, reason, ingest_id) FROM STDIN"

# -- registry -------------------------------------------------------------------------
UPSERT_DEPARTMENT = """
INSERT INTO departments (id, name) VALUES (%(id)s, %(name)s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name"""
UPSERT_BUILDING = """
INSERT INTO buildings (id, name, use, department_id, outline, floors, retired_at)
VALUES (%(id)s, %(name)s, %(use)s, %(department_id)s, %(outline)s, %(floors)s, NULL)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, use = EXCLUDED.use,
    department_id = EXCLUDED.department_id, outline = EXCLUDED.outline,
    floors = EXCLUDED.floors, retired_at = NULL"""
UPSERT_ROOM = """
INSERT INTO rooms (id, building_id, floor, name, use, hazard_class, zone, restricted,
                   department_id, retired_at)
VALUES (%(id)s, %(building_id)s, %(floor)s, %(name)s, %(use)s, %(hazard_class)s, %(zone)s,
        %(restricted)s, %(department_id)s, NULL)
ON CONFLICT (id) DO UPDATE SET building_id = EXCLUDED.building_id, floor = EXCLUDED.floor,
    name = EXCLUDED.name, use = EXCLUDED.use, hazard_class = EXCLUDED.hazard_class,
    zone = EXCLUDED.zone, restricted = EXCLUDED.restricted,
    department_id = EXCLUDED.department_id, retired_at = NULL"""
UPSERT_SENSOR = """
INSERT INTO sensors (id, kind, building_id, room_id, name, report_interval_s, thresholds,
                     registered, retired_at)
VALUES (%(id)s, %(kind)s, %(building_id)s, %(room_id)s, %(name)s, %(report_interval_s)s,
        %(thresholds)s, true, NULL)
ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, building_id = EXCLUDED.building_id,
    room_id = EXCLUDED.room_id, name = EXCLUDED.name,
    report_interval_s = EXCLUDED.report_interval_s, thresholds = EXCLUDED.thresholds,
    registered = true, retired_at = NULL"""
RETIRE_SENSORS = """
UPDATE sensors SET retired_at = now()
WHERE registered AND retired_at IS NULL AND NOT (id = ANY(%(keep)s))"""
RETIRE_ROOMS = "UPDATE rooms SET retired_at = now() WHERE retired_at IS NULL AND NOT (id = ANY(%(keep)s))"
RETIRE_BUILDINGS = """
UPDATE buildings SET retired_at = now() WHERE retired_at IS NULL AND NOT (id = ANY(%(keep)s))"""

# -- service health ---------------------------------------------------------------------------
REPORT_HEALTH = """
INSERT INTO service_health (service, instance, status, updated_at) VALUES (%(service)s, %(instance)s, %(status)s, now())
ON CONFLICT (service, instance) DO UPDATE SET status = EXCLUDED.status, updated_at = now()"""
