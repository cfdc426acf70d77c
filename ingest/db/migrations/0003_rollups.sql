-- SafeCampus 0003: downsampled series for trends, out-of-service history, the duty log.
-- readings_5m, readings_1h and events_1h are continuous aggregates on TimescaleDB and
-- tables kept by ingest on plain PostgreSQL (see the mode files); queries are the same.

-- The duty log (GB 25506 practice): timed entries, append-only like the alarm journal.
CREATE TABLE duty_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    author     text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('equipment', 'patrol', 'visitor', 'remark', 'handover')),
    note       text NOT NULL,
    details    jsonb
);
CREATE INDEX duty_log_at ON duty_log (at);
CREATE TRIGGER duty_log_append_only BEFORE UPDATE OR DELETE ON duty_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER duty_log_no_truncate BEFORE TRUNCATE ON duty_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
