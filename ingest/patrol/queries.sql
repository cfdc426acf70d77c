-- Named SQL of ingest.patrol (loaded by ingest.db.sql; never built in Python).

-- name: TICK_LOCK
SELECT pg_try_advisory_xact_lock(%(key)s)

-- name: ROUTES
SELECT r.id, r.schedule, r.limit_s, r.silent_after_s, r.priority, r.ordered, r.active_since,
       coalesce(jsonb_agg(jsonb_build_object('checkpoint', s.checkpoint_id, 'min_s', s.min_s, 'max_s', s.max_s)
                          ORDER BY s.position) FILTER (WHERE s.route_id IS NOT NULL), '[]'::jsonb) AS stops
FROM patrol_routes r LEFT JOIN patrol_stops s ON s.route_id = r.id
WHERE r.retired_at IS NULL
GROUP BY r.id ORDER BY r.id

-- name: ROUTE
SELECT r.id, r.schedule, r.limit_s, r.silent_after_s, r.priority, r.ordered, r.active_since,
       coalesce(jsonb_agg(jsonb_build_object('checkpoint', s.checkpoint_id, 'min_s', s.min_s, 'max_s', s.max_s)
                          ORDER BY s.position) FILTER (WHERE s.route_id IS NOT NULL), '[]'::jsonb) AS stops
FROM patrol_routes r LEFT JOIN patrol_stops s ON s.route_id = r.id
WHERE r.retired_at IS NULL AND r.id = %(id)s
GROUP BY r.id

-- name: PLAN_TOUR
INSERT INTO tours (route_id, due_at, ends_at, ordered, silent_after_s, priority, stops, timer_at)
VALUES (%(route)s, %(due)s, %(ends)s, %(ordered)s, %(silent_after_s)s, %(priority)s, %(stops)s, %(timer_at)s)
ON CONFLICT (route_id, due_at) DO NOTHING

-- name: DUE_TOURS
SELECT id FROM tours WHERE timer_at <= %(now)s ORDER BY due_at, id

-- name: TOUR_FOR_UPDATE
SELECT t.id, t.route_id, t.due_at, t.ends_at, t.ordered, t.silent_after_s, t.priority, t.stops, t.state, t.guard,
       t.started_at, t.finished_at, t.last_scan_at, t.last_checkpoint, t.visits, t.raised, r.name, r.name_zh
FROM tours t JOIN patrol_routes r ON r.id = t.route_id WHERE t.id = %(id)s FOR UPDATE OF t

-- name: TOURS_FOR_SCAN
-- The tours a scan of this checkpoint at this time may belong to, earliest first.
SELECT id FROM tours
WHERE due_at - make_interval(secs => %(grace)s) <= %(at)s AND ends_at >= %(at)s
  AND stops @> %(stop)s
ORDER BY due_at, id

-- name: SAVE_TOUR
UPDATE tours SET state = %(state)s, guard = %(guard)s, started_at = %(started_at)s, finished_at = %(finished_at)s,
    last_scan_at = %(last_at)s, last_checkpoint = %(last_checkpoint)s, visits = %(visits)s, raised = %(raised)s,
    timer_at = %(timer_at)s, updated_at = now()
WHERE id = %(id)s

-- name: CHECKPOINT_BY_TAG
SELECT id FROM sensors WHERE tag = %(tag)s AND kind = 'checkpoint' AND retired_at IS NULL

-- name: CHECKPOINT_BY_ID
SELECT id FROM sensors WHERE id = %(id)s AND kind = 'checkpoint' AND retired_at IS NULL

-- name: GUARD_BY_CARD
SELECT username FROM users WHERE card = %(card)s AND disabled_at IS NULL

-- name: ADD_SCAN
INSERT INTO patrol_scans (at, checkpoint_id, tag, reader, card, guard, method, drill, tour_id, source)
VALUES (%(at)s, %(checkpoint)s, %(tag)s, %(reader)s, %(card)s, %(guard)s, %(method)s, %(drill)s, %(tour)s, %(source)s)
RETURNING id

-- name: LAST_CHECKPOINT_OF
SELECT checkpoint_id FROM patrol_scans
WHERE guard = %(guard)s AND checkpoint_id IS NOT NULL ORDER BY at DESC, id DESC LIMIT 1

-- name: ALARM_FOR_UPDATE
SELECT id, state, sensor_id, building_id, priority, condition FROM alarms WHERE id = %(id)s FOR UPDATE

-- name: GUARD_USER
SELECT username, display_name FROM users WHERE username = %(u)s AND role = 'guard' AND disabled_at IS NULL

-- name: ADD_DISPATCH
INSERT INTO dispatches (alarm_id, guard, dispatched_by, note) VALUES (%(alarm)s, %(guard)s, %(by)s, %(note)s)
ON CONFLICT DO NOTHING
RETURNING id

-- name: DISPATCH_FOR_UPDATE
SELECT id, alarm_id, guard, state FROM dispatches WHERE id = %(id)s FOR UPDATE

-- name: DISPATCH_STEP
UPDATE dispatches SET state = %(step)s,
    on_the_way_at = CASE WHEN %(step)s = 'on_the_way' THEN now() ELSE on_the_way_at END,
    on_scene_at = CASE WHEN %(step)s = 'on_scene' THEN now() ELSE on_scene_at END,
    resolved_at = CASE WHEN %(step)s = 'resolved' THEN now() ELSE resolved_at END,
    cancelled_at = CASE WHEN %(step)s = 'cancelled' THEN now() ELSE cancelled_at END,
    note = coalesce(%(note)s, note),
    photo = coalesce(%(photo)s, photo), photo_type = coalesce(%(photo_type)s, photo_type),
    updated_at = now()
WHERE id = %(id)s

-- name: ALARM_CHANGED
SELECT pg_notify('safecampus_alarms', %(payload)s)
