-- SafeCampus 0016: guard tours (电子巡查, GA/T 644) and dispatch (docs/patrols.md).
-- Checkpoints are sensors of kind 'checkpoint' (a place on a floor plan; a tag or a wired
-- reader); guards are users of role 'guard' with the card id their scans carry.
ALTER TABLE sensors DROP CONSTRAINT sensors_kind_check;
ALTER TABLE sensors ADD CONSTRAINT sensors_kind_check
    CHECK (kind IN ('smoke', 'door', 'lab', 'status', 'checkpoint'));
ALTER TABLE sensors ADD COLUMN tag text;
CREATE UNIQUE INDEX sensors_tag ON sensors (tag) WHERE tag IS NOT NULL AND retired_at IS NULL;

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('viewer', 'officer', 'admin', 'guard'));
ALTER TABLE users ADD COLUMN card text;
CREATE UNIQUE INDEX users_card ON users (card) WHERE card IS NOT NULL;

-- A route: its checkpoints in order, a schedule of tour starts (campus time), each checkpoint's
-- window from the tour's start, a limit for the whole tour, and when a silent guard is an alarm.
CREATE TABLE patrol_routes (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    name_zh        text,
    ordered        boolean NOT NULL DEFAULT true,
    schedule       jsonb NOT NULL,          -- {"start": "22:00", "end": "06:00", "every_min": 120, "days": [0..6]}
    limit_s        integer NOT NULL CHECK (limit_s > 0),
    silent_after_s integer NOT NULL CHECK (silent_after_s > 0),
    priority       text NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    origin         text NOT NULL CHECK (origin IN ('site', 'admin')),
    active_since   timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text,
    retired_at     timestamptz
);
CREATE TABLE patrol_stops (
    route_id      text NOT NULL REFERENCES patrol_routes (id),
    position      integer NOT NULL CHECK (position >= 0),
    checkpoint_id text NOT NULL REFERENCES sensors (id),
    min_s         integer NOT NULL CHECK (min_s >= 0),
    max_s         integer NOT NULL,
    PRIMARY KEY (route_id, position),
    UNIQUE (route_id, checkpoint_id),
    CHECK (max_s > min_s)
);

-- One tour per (route, scheduled start). Its stops are a copy of the route's when it was planned
-- (an edit never changes a tour under way); visits hold each checkpoint's verdict.
CREATE TABLE tours (
    id              bigserial PRIMARY KEY,
    route_id        text NOT NULL REFERENCES patrol_routes (id),
    due_at          timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    ordered         boolean NOT NULL,
    silent_after_s  integer NOT NULL,
    priority        text NOT NULL,
    stops           jsonb NOT NULL,         -- [{"checkpoint": id, "min_s": n, "max_s": n}]
    state           text NOT NULL DEFAULT 'planned'
                    CHECK (state IN ('planned', 'running', 'completed', 'incomplete')),
    guard           text,                   -- the user (or, unknown, the card) who started it
    started_at      timestamptz,
    finished_at     timestamptz,
    last_scan_at    timestamptz,
    last_checkpoint text,
    visits          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- checkpoint → {at, verdict, method, guard}
    raised          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- open tour alarms: condition → checkpoint
    timer_at        double precision,       -- the next event time its rules must look at it
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (route_id, due_at)
);
CREATE INDEX tours_timer ON tours (timer_at) WHERE timer_at IS NOT NULL;
CREATE INDEX tours_due ON tours (due_at);

-- Every scan as it arrived (reader or handset over MQTT, or the guard's phone), append-only.
CREATE TABLE patrol_scans (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,     -- event time (the receive time when the device clock ran ahead)
    received_at   timestamptz NOT NULL DEFAULT now(),
    checkpoint_id text,                     -- NULL: a tag no checkpoint has
    tag           text,
    reader        text,
    card          text,
    guard         text,
    method        text NOT NULL CHECK (method IN ('reader', 'nfc', 'rfid', 'qr', 'typed')),
    drill         boolean NOT NULL DEFAULT false,
    tour_id       bigint REFERENCES tours (id),
    source        text NOT NULL CHECK (source IN ('mqtt', 'phone'))
);
CREATE INDEX patrol_scans_guard ON patrol_scans (guard, at DESC);
CREATE INDEX patrol_scans_at ON patrol_scans (at);
CREATE TRIGGER patrol_scans_append_only BEFORE UPDATE OR DELETE ON patrol_scans
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A guard (or patrol team member) sent to an alarm, and how far they are; every step is also
-- journaled on the alarm with its time.
CREATE TABLE dispatches (
    id              bigserial PRIMARY KEY,
    alarm_id        bigint NOT NULL REFERENCES alarms (id),
    guard           text NOT NULL REFERENCES users (username),
    dispatched_by   text NOT NULL,
    dispatched_at   timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'dispatched'
                    CHECK (state IN ('dispatched', 'on_the_way', 'on_scene', 'resolved', 'cancelled')),
    on_the_way_at   timestamptz,
    on_scene_at     timestamptz,
    resolved_at     timestamptz,
    cancelled_at    timestamptz,
    note            text,
    photo           bytea,
    photo_type      text CHECK (photo_type IN ('image/jpeg', 'image/png')),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dispatches_one_open ON dispatches (alarm_id, guard) WHERE state NOT IN ('resolved', 'cancelled');
CREATE INDEX dispatches_guard ON dispatches (guard, dispatched_at DESC);
