-- SafeCampus 0006: alarm activations (an alarm becoming active: journal 'raised' and 'returned',
-- drills left out) in a table of their own, written by a trigger on the journal, so the
-- alarm-system health figures per 10 minutes can come from a rollup: a continuous aggregate
-- on TimescaleDB, a view with the same buckets on plain PostgreSQL.
CREATE TABLE alarm_activations (
    at        timestamptz NOT NULL,
    alarm_id  bigint NOT NULL,
    source    text NOT NULL,
    priority  text NOT NULL
);
CREATE INDEX alarm_activations_at ON alarm_activations (at);

CREATE FUNCTION record_activation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alarm_activations (at, alarm_id, source, priority)
    SELECT coalesce(NEW.event_time, NEW.at), a.id, a.sensor_id || ' ' || a.condition, a.priority
    FROM alarms a WHERE a.id = NEW.alarm_id AND NOT a.drill;
    RETURN NULL;
END $$;
CREATE TRIGGER alarm_journal_activation AFTER INSERT ON alarm_journal
    FOR EACH ROW WHEN (NEW.action IN ('raised', 'returned')) EXECUTE FUNCTION record_activation();
CREATE TRIGGER alarm_activations_append_only BEFORE UPDATE OR DELETE ON alarm_activations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- What the journal already holds (an upgrade from 0005 keeps its history in the figures).
INSERT INTO alarm_activations (at, alarm_id, source, priority)
SELECT coalesce(j.event_time, j.at), a.id, a.sensor_id || ' ' || a.condition, a.priority
FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id
WHERE j.action IN ('raised', 'returned') AND NOT a.drill;
