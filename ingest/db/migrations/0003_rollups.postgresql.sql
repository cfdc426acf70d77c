CREATE TABLE readings_5m (
    bucket    timestamptz NOT NULL,
    sensor_id text NOT NULL,
    metric    text NOT NULL,
    avg       double precision NOT NULL,
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (sensor_id, metric, bucket)
);
CREATE TABLE readings_1h (LIKE readings_5m INCLUDING ALL);
CREATE TABLE events_1h (
    bucket      timestamptz NOT NULL,
    building_id text NOT NULL,
    kind        text NOT NULL,
    state       text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (building_id, kind, state, bucket)
);
CREATE INDEX events_1h_bucket ON events_1h (bucket);
