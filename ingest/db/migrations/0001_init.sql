-- SafeCampus 0001: registry, events, readings, dead letters.
-- Runs on plain PostgreSQL and on TimescaleDB; the mode-specific part follows in
-- 0001_init.timescaledb.sql or 0001_init.postgresql.sql.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE departments (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE buildings (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    use           text NOT NULL DEFAULT 'other',
    department_id text REFERENCES departments (id),
    outline       jsonb NOT NULL DEFAULT '[]'::jsonb,
    floors        integer NOT NULL DEFAULT 1,
    retired_at    timestamptz
);

CREATE TABLE rooms (
    id            text PRIMARY KEY,
    building_id   text NOT NULL REFERENCES buildings (id),
    floor         integer NOT NULL DEFAULT 0,
    name          text NOT NULL,
    use           text NOT NULL DEFAULT 'office',
    hazard_class  text,
    zone          text,
    restricted    jsonb,
    department_id text REFERENCES departments (id),
    retired_at    timestamptz
);

CREATE TABLE sensors (
    id                   text PRIMARY KEY,
    kind                 text NOT NULL CHECK (kind IN ('smoke', 'door', 'lab', 'status')),
    building_id          text NOT NULL,
    room_id              text REFERENCES rooms (id),
    name                 text,
    report_interval_s    integer NOT NULL DEFAULT 60 CHECK (report_interval_s > 0),
    thresholds           jsonb NOT NULL DEFAULT '{}'::jsonb,
    registered           boolean NOT NULL DEFAULT true,
    retired_at           timestamptz,
    out_of_service_since timestamptz,
    out_of_service_reason text,
    first_seen           timestamptz,
    last_seen            timestamptz,
    last_seq             bigint,
    seq_gaps             bigint NOT NULL DEFAULT 0,
    battery_pct          real
);
CREATE INDEX sensors_building ON sensors (building_id);

-- Every accepted sensor message, exactly once per (sensor, event_id, time).
CREATE TABLE events (
    time        timestamptz NOT NULL,
    sensor_id   text NOT NULL,
    building_id text NOT NULL,
    kind        text NOT NULL,
    event_id    text NOT NULL,
    seq         bigint,
    drill       boolean NOT NULL DEFAULT false,
    state       text,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
-- The de-duplication key; a hypertable's unique index must include its time column.
CREATE UNIQUE INDEX events_dedup ON events (sensor_id, event_id, time);

-- One row per numeric reading (lab metrics, smoke obscuration, battery), for trends.
CREATE TABLE readings (
    time      timestamptz NOT NULL,
    sensor_id text NOT NULL,
    metric    text NOT NULL,
    value     double precision NOT NULL,
    drill     boolean NOT NULL DEFAULT false
);
CREATE INDEX readings_sensor_metric_time ON readings (sensor_id, metric, time DESC);

-- Messages that broke the contract: kept with the reason, never dropped.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    payload_size integer NOT NULL,
    reason       text NOT NULL,
    ingest_id    text NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);
