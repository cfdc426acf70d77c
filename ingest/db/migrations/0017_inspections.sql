-- SafeCampus 0017: detector tests (walk tests), inspections with sign-off, hazards and their
-- rectification (docs/inspections.md).

-- A walk test: devices in test for a bounded time. Their alarms are marked with the session (and
-- as drills: out of every statistic), never escalate or notify; each device's result is kept.
CREATE TABLE test_sessions (
    id          bigserial PRIMARY KEY,
    reason      text NOT NULL CHECK (length(reason) > 0),
    scope       jsonb NOT NULL,                 -- what the officer chose: {"zone"}, {"building", "floor"}, {"sensors"}
    started_by  text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz NOT NULL,
    ended_at    timestamptz,
    ended_by    text,
    CHECK (ends_at > started_at)
);
CREATE TABLE test_devices (
    session_id   bigint NOT NULL REFERENCES test_sessions (id),
    sensor_id    text NOT NULL REFERENCES sensors (id),
    signalled_at timestamptz,
    result       text CHECK (result IN ('passed', 'not_signalled')),
    PRIMARY KEY (session_id, sensor_id)
);
CREATE INDEX test_devices_sensor ON test_devices (sensor_id);
ALTER TABLE alarms ADD COLUMN test_session bigint REFERENCES test_sessions (id);
ALTER TABLE sensors ADD COLUMN last_tested_at timestamptz;

-- A department's safety responsibility letter (安全责任状) from the site file.
ALTER TABLE departments ADD COLUMN letter jsonb;

-- Who may sign for a department (安全责任人): a user's department, and whether they head it.
ALTER TABLE users ADD COLUMN department_id text REFERENCES departments (id);
ALTER TABLE users ADD COLUMN department_head boolean NOT NULL DEFAULT false;

-- Inspection plans: what to check (a checklist), where, how often, whose department.
CREATE TABLE inspection_plans (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    name_zh       text,
    frequency     text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'quarterly', 'yearly')),
    checklist     text NOT NULL,
    items         jsonb NOT NULL,               -- [{"id", "text": {"en", "zh-CN"}, "fire_system": bool}]
    department_id text NOT NULL REFERENCES departments (id),
    building_id   text REFERENCES buildings (id),
    active_since  timestamptz NOT NULL DEFAULT now(),
    retired_at    timestamptz
);

-- One inspection: ticked items, notes, where on the plan; signed by the inspector and by the
-- inspected department's head (公安部令61号 art. 26).
CREATE TABLE inspections (
    id              bigserial PRIMARY KEY,
    plan_id         text NOT NULL REFERENCES inspection_plans (id),
    department_id   text NOT NULL REFERENCES departments (id),
    building_id     text REFERENCES buildings (id),
    floor           integer,
    plan_x          double precision,
    plan_y          double precision,
    results         jsonb NOT NULL,             -- {"<item>": {"ok": bool, "note": text}}
    note            text,
    photo           bytea,
    photo_type      text CHECK (photo_type IN ('image/jpeg', 'image/png')),
    inspector       text NOT NULL,
    inspected_at    timestamptz NOT NULL DEFAULT now(),
    head            text,
    head_signed_at  timestamptz,
    state           text NOT NULL DEFAULT 'submitted' CHECK (state IN ('submitted', 'signed'))
);
CREATE INDEX inspections_plan ON inspections (plan_id, inspected_at DESC);

-- Hazards (隐患) and their rectification: open → fixed (evidence) → closed after security verifies;
-- a fix security does not accept opens it again. Every step is in the append-only journal.
CREATE TABLE hazards (
    id             bigserial PRIMARY KEY,
    title          text NOT NULL CHECK (length(title) > 0),
    description    text,
    category       text NOT NULL CHECK (category IN ('fire_system', 'electrical', 'chemical', 'exits', 'other')),
    severity       text NOT NULL CHECK (severity IN ('major', 'general')),
    department_id  text NOT NULL REFERENCES departments (id),
    building_id    text REFERENCES buildings (id),
    room_id        text REFERENCES rooms (id),
    sensor_id      text,
    source         text NOT NULL CHECK (source IN ('inspection', 'alarm', 'patrol', 'rule', 'manual')),
    source_ref     text,
    state          text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'fixed', 'closed')),
    deadline       timestamptz NOT NULL,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    fixed_at       timestamptz,
    fixed_by       text,
    fix_note       text,
    fix_photo      bytea,
    fix_photo_type text CHECK (fix_photo_type IN ('image/jpeg', 'image/png')),
    closed_at      timestamptz,
    closed_by      text,
    overdue_at     timestamptz                  -- when the overdue alarm was raised
);
CREATE INDEX hazards_open ON hazards (deadline) WHERE state <> 'closed';
CREATE UNIQUE INDEX hazards_one_per_source ON hazards (source, source_ref) WHERE state <> 'closed' AND source_ref IS NOT NULL;
CREATE TABLE hazard_journal (
    id        bigserial PRIMARY KEY,
    hazard_id bigint NOT NULL REFERENCES hazards (id),
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text NOT NULL,
    action    text NOT NULL,
    note      text,
    details   jsonb
);
CREATE INDEX hazard_journal_hazard ON hazard_journal (hazard_id, id);
CREATE TRIGGER hazard_journal_append_only BEFORE UPDATE OR DELETE ON hazard_journal
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER hazard_journal_no_truncate BEFORE TRUNCATE ON hazard_journal
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
