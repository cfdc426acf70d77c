"""The writer's own binary COPY forms, read back by a real PostgreSQL: whatever readings the
contract lets through come back exactly as sent (names, order, values, -0.0, the float edges)."""

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.db import copyforms
from ingest.mqtt.payloads import FLOAT_LIMIT

NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)
VALUES = st.floats(min_value=-FLOAT_LIMIT, max_value=FLOAT_LIMIT, allow_nan=False)
READINGS = st.dictionaries(NAMES, VALUES, min_size=1, max_size=12)


def _round_trip(db_url, batch):
    with psycopg.connect(db_url) as conn:
        conn.execute("CREATE TEMP TABLE forms (n int, metrics text[], vals double precision[], payload json)")
        cur = conn.cursor()
        copyforms.register(cur)
        with cur.copy("COPY forms (n, metrics, vals, payload) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text[]", "float8[]", "json"])
            for n, r in enumerate(batch):
                copy.write_row((n, r, r, '{"k": "值"}'))
        return conn.execute("SELECT metrics, vals, payload FROM forms ORDER BY n").fetchall()


@settings(max_examples=60, deadline=None)
@given(st.lists(READINGS, min_size=1, max_size=20))
def test_readings_come_back_as_sent(db_url, batch):
    rows = _round_trip(db_url, batch)
    assert [(m, v) for m, v, _ in rows] == [(list(r), list(r.values())) for r in batch]
    assert all(p == {"k": "值"} for _, _, p in rows)


def test_the_same_metric_set_in_another_order_keeps_its_own_order(db_url):
    batch = [{"temperature_c": 1.0, "humidity_pct": 2.0}, {"humidity_pct": 3.0, "temperature_c": 4.0},
             {"temperature_c": -0.0, "humidity_pct": 5e-324}]
    rows = _round_trip(db_url, batch)
    assert [(m, v) for m, v, _ in rows] == [(["temperature_c", "humidity_pct"], [1.0, 2.0]),
                                            (["humidity_pct", "temperature_c"], [3.0, 4.0]),
                                            (["temperature_c", "humidity_pct"], [-0.0, 5e-324])]
    assert str(rows[2][1][0]) == "-0.0"
