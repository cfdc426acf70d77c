-- TimescaleDB: an alarm activation stored late (its event's own time is old) marks its bucket
-- too, so alarm_activity_10m is refreshed over it like the other rollups.
CREATE OR REPLACE FUNCTION record_activation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alarm_activations (at, alarm_id, source, priority)
    SELECT coalesce(NEW.event_time, NEW.at), a.id, a.sensor_id || ' ' || a.condition, a.priority
    FROM alarms a WHERE a.id = NEW.alarm_id AND NOT a.drill;
    IF FOUND THEN
        INSERT INTO rollup_dirty (bucket)
        VALUES (date_bin(INTERVAL '5 minutes', coalesce(NEW.event_time, NEW.at), TIMESTAMPTZ '2000-01-03 00:00:00+00'));
    END IF;
    RETURN NULL;
END $$;
-- The de-duplication key is (sensor_id, event_id, time): event_id orders within a segment
-- (set so in 0001 for new databases; TimescaleDB warned on every set-up before).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertable_compression_settings
                   WHERE hypertable = 'events'::regclass AND orderby LIKE '%event_id%') THEN
        ALTER TABLE events SET (timescaledb.compress_orderby = 'time DESC, event_id');
    END IF;
END $$;
