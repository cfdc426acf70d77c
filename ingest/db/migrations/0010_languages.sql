-- SafeCampus 0010: languages. Each person reads in their own language (NULL: their browser's,
-- else the site's), and an alarm keeps what its text says, not a finished English sentence:
-- a message key and its parameters (condition, value, limit, unit, stage), rendered for each
-- reader (ingest.alarms.messages). Rows from before keep their English text in `message`,
-- shown as it is where no key is set.
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('zh-CN', 'en'));
ALTER TABLE alarms ADD COLUMN message_key text;
ALTER TABLE alarms ADD COLUMN message_params jsonb NOT NULL DEFAULT '{}'::jsonb;
-- Places in both languages (site files: name and name_zh).
ALTER TABLE departments ADD COLUMN name_zh text;
ALTER TABLE buildings ADD COLUMN name_zh text;
ALTER TABLE rooms ADD COLUMN name_zh text;
ALTER TABLE sensors ADD COLUMN name_zh text;
-- The view's a.* was fixed at its creation: again, with the new columns.
DROP VIEW alarm_places;
CREATE VIEW alarm_places AS
SELECT a.*,
       b.name AS building,
       r.name AS room,
       r.floor,
       s.name AS sensor_name,
       s.name_zh AS sensor_name_zh,
       s.kind AS sensor_kind,
       coalesce(r.department_id, b.department_id) AS department_id,
       coalesce(dr.name, db.name) AS department,
       b.name_zh AS building_zh,
       r.name_zh AS room_zh,
       CASE WHEN dr.id IS NOT NULL THEN dr.name_zh ELSE db.name_zh END AS department_zh
FROM alarms a
LEFT JOIN sensors s ON s.id = a.sensor_id
LEFT JOIN rooms r ON r.id = s.room_id
LEFT JOIN buildings b ON b.id = a.building_id
LEFT JOIN departments dr ON dr.id = r.department_id
LEFT JOIN departments db ON db.id = b.department_id;
