"""One vocabulary: the database's CHECK constraints hold exactly the Python lists."""

import re

import psycopg
import pytest

from ingest.core import vocabulary as v
from ingest.core.settings import Settings

CHECKED = [
    ("sensors", "kind", v.SENSOR_KINDS),
    ("alarms", "priority", v.PRIORITIES),
    ("alarms", "signal_class", v.SIGNAL_CLASSES),
    ("alarms", "state", v.STATES),
    ("alarms", "disposition", v.DISPOSITIONS),
    ("users", "role", v.ROLES),
    ("duty_log", "kind", v.DUTY_LOG_KINDS),
]
CONSTRAINTS = """
SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(c.conkey)
WHERE c.contype = 'c' AND t.relname = %s AND a.attname = %s"""


@pytest.mark.parametrize(("table", "column", "words"), CHECKED, ids=[f"{t}.{c}" for t, c, _ in CHECKED])
def test_check_constraints_equal_the_vocabulary(db_url, table, column, words):
    with psycopg.connect(db_url) as conn:
        defs = [r[0] for r in conn.execute(CONSTRAINTS, (table, column))]
    lists = [re.findall(r"'([^']*)'", d) for d in defs if "ANY" in d or " IN " in d]
    assert lists, f"no CHECK constraint lists the values of {table}.{column}: {defs}"
    assert sorted(lists[0]) == sorted(words)


def test_escalation_limits_have_one_source():
    defaults = {p: Settings.model_fields[f"escalate_{p}_s"].default for p in v.PRIORITIES}
    assert defaults == v.ESCALATION_DEFAULT_S
