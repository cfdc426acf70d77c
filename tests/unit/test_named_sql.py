"""Named SQL: every statement the code asks for by name is in its .sql file, and no file repeats a name."""

import re

import pytest

from ingest.db.sql import NamedSql
from tests.conftest import ROOT

MODULES = {"ingest.db.queries": "ingest/db", "ingest.alarms.queries": "ingest/alarms",
           "ingest.patrol.queries": "ingest/patrol", "ingest.safety.queries": "ingest/safety",
           "dashboard.queries": "dashboard", "dashboard.report.queries": "dashboard/report"}
IMPORT = re.compile(r"from (\S+) import queries as (\w+)|import (\S+)\.queries as (\w+)")


def _asked_for() -> dict[str, set[str]]:
    """module -> the statement names the code reads from it (``alias.NAME``)."""
    asked: dict[str, set[str]] = {m: set() for m in MODULES}
    for path in [*ROOT.glob("ingest/**/*.py"), *ROOT.glob("dashboard/**/*.py"), *ROOT.glob("sensors_sim/**/*.py"),
                 *ROOT.glob("bench/*.py")]:
        text = path.read_text(encoding="utf-8")
        for m in IMPORT.finditer(text):
            package, alias = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            module = f"{package}.queries"
            if module in asked:
                asked[module] |= set(re.findall(rf"\b{alias}\.([A-Z][A-Z0-9_]*)\b", text))
    return asked


@pytest.mark.parametrize("module", MODULES)
def test_every_statement_asked_for_exists(module):
    sql = NamedSql.load(module.rpartition(".")[0])
    python_constants = {"EVENT_TYPES"}
    missing = _asked_for()[module] - set(sql.names()) - python_constants
    assert not missing, f"{module}: no statement named {sorted(missing)}"


def test_a_name_given_twice_or_an_empty_statement_is_an_error():
    with pytest.raises(ValueError, match="defined twice"):
        NamedSql("-- name: A\nSELECT 1\n-- name: A\nSELECT 2\n", "x.sql")
    with pytest.raises(ValueError, match="no statement"):
        NamedSql("-- name: A\n-- only a comment\n", "x.sql")
    sql = NamedSql("-- name: A\n-- why\nSELECT 1\n\n-- name: B\nSELECT 2\n", "x.sql")
    assert (sql["A"], sql["B"], sql.names()) == ("SELECT 1", "SELECT 2", ["A", "B"])
