-- SafeCampus 0014: the console's open alarms under its filters, in one place for the page of the
-- queue, its groups (a flood: by building, kind of alarm or zone) and a group action's members.
-- (A migration that recreates alarm_places drops these first: they depend on its row type.)
CREATE FUNCTION console_alarms(p_priorities text[], p_states text[], p_building text, p_department text,
                               p_family text, p_shelved boolean)
RETURNS SETOF alarm_places LANGUAGE sql STABLE AS $$
    SELECT * FROM alarm_places a
    WHERE a.state <> 'closed'
      AND (p_priorities IS NULL OR a.priority = ANY(p_priorities))
      AND (p_states IS NULL OR a.state = ANY(p_states))
      AND (p_building IS NULL OR a.building_id = p_building)
      AND (p_department IS NULL OR a.department_id = p_department)
      AND (p_family IS NULL OR a.family = p_family)
      AND (p_shelved OR a.shelved_until IS NULL OR a.shelved_until <= now())
$$;

CREATE FUNCTION console_group_key(p_group_by text, p_building text, p_condition text, p_zone text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_group_by WHEN 'building' THEN p_building WHEN 'condition' THEN p_condition
                           WHEN 'zone' THEN coalesce(p_zone, p_building) END
$$;
