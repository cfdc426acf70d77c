-- SafeCampus 0005: every screen and report asks "where is this alarm and who is responsible";
-- this view answers it in one place (same on plain PostgreSQL and TimescaleDB).
CREATE VIEW alarm_places AS
SELECT a.*,
       b.name AS building,
       r.name AS room,
       r.floor,
       s.name AS sensor_name,
       s.kind AS sensor_kind,
       coalesce(r.department_id, b.department_id) AS department_id,
       coalesce(dr.name, db.name) AS department
FROM alarms a
LEFT JOIN sensors s ON s.id = a.sensor_id
LEFT JOIN rooms r ON r.id = s.room_id
LEFT JOIN buildings b ON b.id = a.building_id
LEFT JOIN departments dr ON dr.id = r.department_id
LEFT JOIN departments db ON db.id = b.department_id;
