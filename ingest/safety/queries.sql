-- Named SQL of ingest.safety (loaded by ingest.db.sql; never built in Python).

-- name: ADD_HAZARD
INSERT INTO hazards (title, description, category, severity, department_id, building_id, room_id, sensor_id, source,
                     source_ref, deadline, created_by)
VALUES (%(title)s, %(description)s, %(category)s, %(severity)s, %(department)s, %(building)s, %(room)s, %(sensor)s,
        %(source)s, %(source_ref)s, %(deadline)s, %(by)s)
ON CONFLICT DO NOTHING
RETURNING id

-- name: HAZARD_JOURNAL
INSERT INTO hazard_journal (hazard_id, actor, action, note, details)
VALUES (%(hazard)s, %(actor)s, %(action)s, %(note)s, %(details)s)

-- name: HAZARD_FOR_UPDATE
SELECT id, state, department_id, building_id, sensor_id, deadline, overdue_at, title FROM hazards
WHERE id = %(id)s FOR UPDATE

-- name: HAZARD_FIXED
UPDATE hazards SET state = 'fixed', fixed_at = now(), fixed_by = %(by)s, fix_note = %(note)s,
    fix_photo = %(photo)s, fix_photo_type = %(photo_type)s
WHERE id = %(id)s

-- name: HAZARD_CLOSED
UPDATE hazards SET state = 'closed', closed_at = now(), closed_by = %(by)s WHERE id = %(id)s

-- name: HAZARD_REOPENED
UPDATE hazards SET state = 'open' WHERE id = %(id)s

-- name: HAZARD_OVERDUE_MARK
UPDATE hazards SET overdue_at = %(at)s WHERE id = %(id)s

-- name: HAZARDS_OVERDUE
-- Open hazards past their deadline not yet raised as an alarm, at event time.
SELECT id FROM hazards WHERE state = 'open' AND deadline <= %(now)s AND overdue_at IS NULL ORDER BY id

-- name: ALARM_PLACE
SELECT a.id, a.sensor_id, a.building_id, s.room_id, a.department_id, a.condition, a.message, a.message_key,
       a.message_params, a.family
FROM alarm_places a LEFT JOIN sensors s ON s.id = a.sensor_id WHERE a.id = %(id)s

-- name: USER_DEPARTMENT
SELECT role, department_id, department_head FROM users WHERE username = %(u)s AND disabled_at IS NULL

-- name: HOOD_LOW_REPEATS
-- Fume hoods whose low-flow alarm was raised three times or more in seven days (drills left out).
SELECT a.sensor_id, count(*) AS n, max(a.id) AS last_alarm
FROM alarms a
WHERE a.condition = 'hood_low' AND NOT a.drill AND a.raised_at > %(now)s - interval '7 days'
  AND a.raised_at > coalesce((SELECT max(h.closed_at) FROM hazards h
                              WHERE h.source = 'rule' AND h.source_ref = 'hood_low:' || a.sensor_id), '-infinity')
GROUP BY a.sensor_id HAVING count(*) >= 3

-- name: SENSOR_PLACE
SELECT s.id, s.building_id, s.room_id, coalesce(r.department_id, b.department_id) AS department_id
FROM sensors s LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN buildings b ON b.id = s.building_id
WHERE s.id = %(id)s

-- name: PLAN
SELECT id, name, name_zh, frequency, checklist, items, department_id, building_id FROM inspection_plans
WHERE id = %(id)s AND retired_at IS NULL

-- name: ADD_INSPECTION
INSERT INTO inspections (plan_id, department_id, building_id, floor, plan_x, plan_y, results, note, photo, photo_type,
                         inspector)
VALUES (%(plan)s, %(department)s, %(building)s, %(floor)s, %(x)s, %(y)s, %(results)s, %(note)s, %(photo)s,
        %(photo_type)s, %(by)s)
RETURNING id

-- name: INSPECTION_FOR_UPDATE
SELECT id, plan_id, department_id, state, inspector FROM inspections WHERE id = %(id)s FOR UPDATE

-- name: INSPECTION_SIGNED
UPDATE inspections SET state = 'signed', head = %(head)s, head_signed_at = now() WHERE id = %(id)s

-- name: TICK_LOCK
SELECT pg_try_advisory_xact_lock(%(key)s)

-- name: GUARD_LAST_PLACE
-- Where a guard last scanned a checkpoint: its building, room and responsible department.
SELECT s.id, s.building_id, s.room_id, coalesce(r.department_id, b.department_id) AS department_id
FROM patrol_scans p JOIN sensors s ON s.id = p.checkpoint_id
LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN buildings b ON b.id = s.building_id
WHERE p.guard = %(guard)s ORDER BY p.at DESC, p.id DESC LIMIT 1
