-- SafeCampus 0013: floor plans. Each floor of a building may have a plan (SVG, PNG or JPEG,
-- from the site file or uploaded by an administrator), and each sensor a position on its
-- floor's plan (plan coordinates: x right, y down from the top-left corner) with an optional
-- zone of that plan. A sensor's floor is its room's.
CREATE TABLE floor_plans (
    building_id text NOT NULL REFERENCES buildings (id),
    floor       integer NOT NULL CHECK (floor >= 0),
    media_type  text NOT NULL CHECK (media_type IN ('image/svg+xml', 'image/png', 'image/jpeg')),
    content     bytea NOT NULL,
    sha256      text NOT NULL,
    width       double precision NOT NULL CHECK (width > 0),
    height      double precision NOT NULL CHECK (height > 0),
    origin      text NOT NULL CHECK (origin IN ('site', 'upload')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text,
    PRIMARY KEY (building_id, floor)
);
ALTER TABLE sensors ADD COLUMN plan_x double precision;
ALTER TABLE sensors ADD COLUMN plan_y double precision;
ALTER TABLE sensors ADD COLUMN plan_zone text;
ALTER TABLE sensors ADD CONSTRAINT sensors_plan_xy CHECK ((plan_x IS NULL) = (plan_y IS NULL));
