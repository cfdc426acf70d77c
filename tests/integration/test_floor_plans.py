"""Floor plans in the database: a site load stores plans and positions, keeps what the placement
tool saved for sensors the file does not place, and rewrites a plan only when it changed.
"""

from __future__ import annotations

import shutil

import psycopg
import yaml

from ingest.core.sitefile import DEMO_SITE, load_site
from ingest.db.registry import load_site as load_into_db


def _copy_demo(tmp_path):
    shutil.copytree(DEMO_SITE.parent, tmp_path / "site")
    return tmp_path / "site" / DEMO_SITE.name


def test_a_site_load_stores_plans_and_positions_and_keeps_placements_the_file_does_not_give(db_url, tmp_path):
    site_file = _copy_demo(tmp_path)
    with psycopg.connect(db_url) as conn:
        result = load_into_db(conn, load_site(site_file))
        assert (result.plans, result.placed) == (44, 606)  # every sensor and checkpoint of the demo campus
        assert conn.execute("SELECT count(*) FROM floor_plans WHERE origin = 'site'").fetchone()[0] == 44
        assert conn.execute("SELECT count(*) FROM sensors WHERE plan_x IS NOT NULL").fetchone()[0] == 606
        # An administrator moves one sensor; the next load of a file that no longer places it keeps the move.
        conn.execute("UPDATE sensors SET plan_x = 111, plan_y = 66 WHERE id = 'labs-203-gas'")
        conn.commit()
        layout_path = site_file.parent / "demo-layout.yaml"
        layout = yaml.safe_load(layout_path.read_text())
        del layout["positions"]["labs-203-gas"]
        moved = layout["positions"]["labs-203-smoke-1"] = [55.5, 44.5]
        layout_path.write_text(yaml.safe_dump(layout))
        before = conn.execute("SELECT updated_at FROM floor_plans WHERE building_id = 'labs' AND floor = 1").fetchone()
        load_into_db(conn, load_site(site_file))
        rows = dict(conn.execute("SELECT id, array[plan_x, plan_y] FROM sensors WHERE id IN "
                                 "('labs-203-gas', 'labs-203-smoke-1')").fetchall())
        assert rows == {"labs-203-gas": [111, 66], "labs-203-smoke-1": moved}  # the file's positions win
        after = conn.execute("SELECT updated_at FROM floor_plans WHERE building_id = 'labs' AND floor = 1").fetchone()
        assert after == before  # an unchanged plan is not rewritten
        # A changed plan file replaces the stored one.
        plan = site_file.parent / "plans" / "labs-F1.svg"
        plan.write_text(plan.read_text().replace("5 m", "5 米"))
        load_into_db(conn, load_site(site_file))
        changed = conn.execute("SELECT content FROM floor_plans WHERE building_id = 'labs' AND floor = 1").fetchone()
        assert "5 米".encode() in bytes(changed[0])


def test_plan_and_position_columns_refuse_half_a_position(db_url):
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, load_site())
        try:
            conn.execute("UPDATE sensors SET plan_x = 1, plan_y = NULL WHERE id = 'labs-203-gas'")
        except psycopg.errors.CheckViolation:
            conn.rollback()
        else:
            raise AssertionError("a position with x and no y was stored")
