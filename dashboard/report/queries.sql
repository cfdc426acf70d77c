-- Named SQL of dashboard.report.queries (loaded by ingest.db.sql; never built in Python).

-- name: ACTIVATIONS
SELECT coalesce(j.event_time, j.at) AS at, a.sensor_id || ' ' || a.condition AS source, a.priority,
       CASE WHEN j.action = 'raised' THEN extract(epoch FROM a.cleared_at - a.raised_at) END AS cleared_after_s
FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id
WHERE j.action IN ('raised', 'returned') AND NOT a.drill
  AND coalesce(j.event_time, j.at) >= %(start)s AND coalesce(j.event_time, j.at) < %(end)s
ORDER BY 1

-- name: ACTIVITY_10M
SELECT bucket, n FROM alarm_activity_10m WHERE bucket >= %(start)s AND bucket < %(end)s

-- name: STALE
SELECT count(*) AS n FROM alarms WHERE NOT drill AND active AND raised_at <= %(end)s - interval '24 hours'
  AND (closed_at IS NULL OR closed_at > %(end)s)

-- name: SHELVES
SELECT count(*) AS n,
       coalesce(sum(extract(epoch FROM least((j.details ->> 'until')::timestamptz, %(end)s) - j.at)) / 3600, 0) AS hours
FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id
WHERE j.action = 'shelved' AND NOT a.drill AND j.at >= %(start)s AND j.at < %(end)s

-- name: OUT_OF_SERVICE
SELECT count(*) AS n,
       coalesce(sum(extract(epoch FROM %(end)s - greatest(out_of_service_since, %(start)s))) / 3600, 0) AS hours
FROM sensors WHERE out_of_service_since IS NOT NULL AND out_of_service_since < %(end)s

-- name: WEEK_ALARMS
SELECT a.id, a.sensor_id, a.condition, a.family, a.priority, a.state, a.disposition, a.drill, a.raised_at,
       a.acked_at, a.closed_at, a.shelved_until, a.building_id, coalesce(a.building, a.building_id) AS building,
       a.department_id, a.department
FROM alarm_places a
WHERE a.raised_at >= %(start)s AND a.raised_at < %(end)s
ORDER BY a.raised_at

-- name: OPEN_AT_END
SELECT count(*) FILTER (WHERE shelved_until IS NULL OR shelved_until <= %(end)s) AS open,
       count(*) FILTER (WHERE shelved_until > %(end)s) AS shelved
FROM alarms WHERE NOT drill AND raised_at < %(end)s AND (closed_at IS NULL OR closed_at >= %(end)s)

-- name: OFFLINE_LONGEST
SELECT sensor_id,
       sum(extract(epoch FROM least(coalesce(cleared_at, %(end)s), %(end)s) - greatest(raised_at, %(start)s)))
       / 3600 AS hours
FROM alarms WHERE condition = 'offline' AND raised_at < %(end)s AND coalesce(cleared_at, %(end)s) > %(start)s
GROUP BY sensor_id ORDER BY hours DESC LIMIT 10

-- name: COUNTS_BY_WEEK
SELECT count(*) AS n FROM alarms WHERE NOT drill AND raised_at >= %(start)s AND raised_at < %(end)s

-- name: STREAKS
WITH real AS (
    SELECT a.closed_at, a.building_id, a.department_id
    FROM alarm_places a
    WHERE a.disposition = 'real' AND NOT a.drill AND a.closed_at < %(end)s
)
SELECT 'campus' AS level, 'Campus' AS name, NULL AS name_zh, (SELECT max(closed_at) FROM real) AS last_real
UNION ALL
SELECT 'department', d.name, d.name_zh, (SELECT max(closed_at) FROM real WHERE real.department_id = d.id)
FROM departments d
UNION ALL
SELECT 'building', b.name, b.name_zh, (SELECT max(closed_at) FROM real WHERE real.building_id = b.id) FROM buildings b
WHERE b.retired_at IS NULL

-- name: PATROL_TOURS
-- Tours that started in the period and are over (completed, or closed incomplete at their limit).
SELECT t.id, t.route_id, r.name, r.name_zh, t.due_at, t.ends_at, t.state, t.guard, t.visits, t.stops,
       coalesce(u.display_name, t.guard) AS guard_name
FROM tours t JOIN patrol_routes r ON r.id = t.route_id LEFT JOIN users u ON u.username = t.guard
WHERE t.due_at >= %(start)s AND t.due_at < %(end)s AND t.state IN ('completed', 'incomplete')
ORDER BY t.due_at, t.route_id

-- name: PATROL_DISPATCHES
-- Guards sent to alarms in the period (drills left out): raised → dispatched → on scene → resolved.
SELECT d.id, d.state, a.raised_at, d.dispatched_at, d.on_scene_at, d.resolved_at
FROM dispatches d JOIN alarms a ON a.id = d.alarm_id
WHERE d.dispatched_at >= %(start)s AND d.dispatched_at < %(end)s AND NOT a.drill

-- name: SAFETY_WEEK
-- Inspections, hazards and walk tests of a period (the weekly review's section).
SELECT (SELECT count(*) FROM inspections WHERE inspected_at >= %(start)s AND inspected_at < %(end)s) AS inspections,
       (SELECT count(*) FROM inspections WHERE inspected_at >= %(start)s AND inspected_at < %(end)s
          AND state = 'signed') AS signed,
       (SELECT count(*) FROM hazards WHERE created_at >= %(start)s AND created_at < %(end)s) AS hazards_opened,
       (SELECT count(*) FROM hazards WHERE closed_at >= %(start)s AND closed_at < %(end)s) AS hazards_closed,
       (SELECT count(*) FROM hazards WHERE state = 'open' AND deadline < %(end)s) AS hazards_overdue,
       (SELECT count(*) FROM test_devices d JOIN test_sessions s ON s.id = d.session_id
        WHERE s.started_at >= %(start)s AND s.started_at < %(end)s) AS devices_tested,
       (SELECT count(*) FROM test_devices d JOIN test_sessions s ON s.id = d.session_id
        WHERE s.started_at >= %(start)s AND s.started_at < %(end)s AND d.result = 'passed') AS devices_passed

-- name: HAZARDS_BY_DEPARTMENT
SELECT d.name, d.name_zh, count(*) FILTER (WHERE h.state <> 'closed') AS open,
       count(*) FILTER (WHERE h.state = 'open' AND h.deadline < %(end)s) AS overdue
FROM hazards h JOIN departments d ON d.id = h.department_id
WHERE h.created_at < %(end)s AND (h.closed_at IS NULL OR h.closed_at >= %(start)s)
GROUP BY d.name, d.name_zh ORDER BY overdue DESC, open DESC
