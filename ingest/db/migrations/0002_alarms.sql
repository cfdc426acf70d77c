-- SafeCampus 0002: alarms (ISA-18.2 lifecycle), their journal, rule state, users.

CREATE TABLE alarms (
    id               bigserial PRIMARY KEY,
    sensor_id        text NOT NULL,
    building_id      text NOT NULL,
    zone             text,
    condition        text NOT NULL,
    family           text NOT NULL,
    signal_class     text NOT NULL CHECK (signal_class IN ('alarm', 'supervisory', 'trouble')),
    priority         text NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    state            text NOT NULL CHECK (state IN ('active_unacked', 'active_acked', 'rtn_unacked', 'closed')),
    active           boolean NOT NULL DEFAULT true,
    latched          boolean NOT NULL DEFAULT false,
    drill            boolean NOT NULL DEFAULT false,
    suppressed       boolean NOT NULL DEFAULT false,
    confirmed        boolean NOT NULL DEFAULT false,
    message          text NOT NULL DEFAULT '',
    value            double precision,
    occurrences      integer NOT NULL DEFAULT 1,
    raised_at        timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    cleared_at       timestamptz,
    acked_at         timestamptz,
    acked_by         text,
    assigned_to      text,
    shelved_until    timestamptz,
    shelved_by       text,
    shelve_reason    text,
    escalated_at     timestamptz,
    closed_at        timestamptz,
    closed_by        text,
    disposition      text CHECK (disposition IN ('real', 'false_alarm', 'nuisance', 'drill', 'maintenance', 'test')),
    procedure        jsonb NOT NULL DEFAULT '[]'::jsonb,
    version          integer NOT NULL DEFAULT 1,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- One open alarm per (sensor, condition); drills never merge with real alarms.
CREATE UNIQUE INDEX alarms_one_open ON alarms (sensor_id, condition, drill) WHERE state <> 'closed';
CREATE INDEX alarms_open_priority ON alarms (priority, raised_at) WHERE state <> 'closed';
CREATE INDEX alarms_raised ON alarms (raised_at);
CREATE INDEX alarms_building ON alarms (building_id, raised_at);

-- Every transition and note, appended; never updated or deleted (enforced below).
CREATE TABLE alarm_journal (
    id         bigserial PRIMARY KEY,
    alarm_id   bigint NOT NULL REFERENCES alarms (id),
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_time timestamptz,
    actor      text NOT NULL,
    action     text NOT NULL,
    from_state text,
    to_state   text,
    note       text,
    details    jsonb
);
CREATE INDEX alarm_journal_alarm ON alarm_journal (alarm_id, id);
CREATE INDEX alarm_journal_at ON alarm_journal (at);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER alarm_journal_append_only BEFORE UPDATE OR DELETE ON alarm_journal
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER alarm_journal_no_truncate BEFORE TRUNCATE ON alarm_journal
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Per-sensor rule state (delays, windows, exposure sums): survives restarts, shared by ingestors.
CREATE TABLE rule_state (
    sensor_id  text PRIMARY KEY,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'officer', 'admin')),
    display_name  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
