"""The catalogues are complete, and texts, numbers and alarm messages render per language."""

from __future__ import annotations

import io
import re
import string
import tokenize
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ingest.alarms.messages import TEMPLATES, Text, render
from ingest.core import i18n
from tests.conftest import ROOT

PACKAGES = ("ingest", "dashboard", "sensors_sim")
LOCALE = ROOT / "ingest" / "core" / "locale"
KEYWORDS = {"_": None, "N_": None}
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def _extracted() -> set[str]:
    found = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message)
    return found


def _po(locale: str):
    with (LOCALE / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def test_every_marked_string_has_a_chinese_translation_that_is_not_fuzzy():
    extracted = _extracted()
    assert len(extracted) > 300
    cat = _po("zh_CN")
    entries = {m.id: m for m in cat if m.id}
    missing = sorted(extracted - entries.keys())
    assert missing == [], f"not in the zh_CN catalogue (run `make i18n` and translate): {missing[:20]}"
    empty = sorted(m for m in extracted if not entries[m].string)
    assert empty == [], f"untranslated in zh_CN: {empty[:20]}"
    fuzzy = sorted(m for m in extracted if entries[m].fuzzy)
    assert fuzzy == [], f"fuzzy in zh_CN: {fuzzy[:20]}"


def test_translations_keep_every_placeholder():
    for m in _po("zh_CN"):
        if m.id and m.string:
            assert _fields(m.string) == _fields(m.id), (m.id, m.string)


def test_the_template_is_up_to_date_with_the_code():
    with (LOCALE / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == _extracted(), "run `make i18n`"
    assert {m.id for m in _po("en") if m.id} >= template  # English: the source text itself


def test_no_translated_literal_hides_inside_an_f_string():
    """pybabel cannot see ``_("…")`` inside an f-string (Python 3.11 tokenises it whole)."""
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
                if tok.type == tokenize.STRING and tok.string.lower().lstrip("rb").startswith("f") and (
                    '_("' in tok.string or "_('" in tok.string
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    assert offenders == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh_TW", "zh-CN"),
        ("en;q=0.3, zh;q=0.7", "zh-CN"),
        ("fr, de", None),
        ("", None),
        ("zh;q=abc, en", "en"),
    ],
)
def test_accept_language_picks_the_best_supported_language(header, expected):
    assert i18n.negotiate(header) == expected


def test_the_first_supported_choice_wins_and_the_default_is_the_site_language():
    assert i18n.choose(None, "", "xx", "en") == "en"
    assert i18n.choose(None, default="en") == "en"
    assert i18n.choose() == "zh-CN"


@pytest.mark.parametrize(
    ("value", "unit", "lang", "expected"),
    [
        (22.557, "c", "en", "22.6 °C"),
        (35, "ppm", "zh-CN", "35 ppm"),
        (0.3247, "m_s", "en", "0.32 m/s"),
        (12, "c", "en", "12 °C"),
        (1234.5, "ppm", "en", "1,234 ppm"),
        (19.5, "pct", "zh-CN", "19.5 %"),
        (float("nan"), "c", "en", "– °C"),
    ],
)
def test_values_carry_their_unit_and_a_sensible_precision(value, unit, lang, expected):
    assert i18n.quantity(value, unit, lang) == expected


def test_an_alarm_message_is_rendered_for_each_reader():
    text = Text("limit_high", {"what": "Temperature high", "value": 22.557, "limit": 12, "unit": "c", "stage": 2})
    assert render(text.key, text.params, "en") == "Temperature high: 22.6 °C ≥ 12 °C (second alarm)"
    assert render(text.key, text.params, "zh-CN") == "温度过高：22.6 °C ≥ 12 °C（二级报警）"
    assert render("fire", {}, "zh-CN") == "火警：感烟探测器报警"
    assert render("denied_burst", {"count": 5, "window": 120}, "zh-CN") == "120 秒内 5 次刷卡被拒"


def test_a_row_from_before_keeps_its_stored_text_and_bad_parameters_never_raise():
    assert render(None, None, "zh-CN", "Door forced open") == "Door forced open"
    assert render("no_such_key", {}, "zh-CN", "old text") == "old text"
    assert render("limit_high", {"value": "x"}, "zh-CN", "old")  # a field missing: shown, not raised
    for key in TEMPLATES:
        assert render(key, {}, "zh-CN", "fallback")


def test_every_alarm_template_and_label_is_translated():
    zh = i18n.catalogue("zh-CN")
    from ingest.alarms.messages import LABELS, STAGES

    for text in (*TEMPLATES.values(), *LABELS, *STAGES.values()):
        assert text in zh, text
    assert Path(LOCALE / "babel.cfg").exists()


def test_the_mqtt_alarm_json_carries_the_key_the_parameters_and_the_site_language_text():
    import json
    from datetime import UTC, datetime

    from ingest.alarms.outbound import alarm_message

    alarm = {"id": 7, "sensor_id": "labs-101-gas", "building_id": "labs", "condition": "gas_high:NH3",
             "state": "active_unacked", "priority": "high", "raised_at": datetime(2026, 12, 1, tzinfo=UTC),
             "message": "NH3 high: 35 ppm ≥ 25 ppm (first alarm)", "message_key": "limit_high",
             "message_params": {"what": "NH3 high", "value": 35.04, "limit": 25, "unit": "ppm", "stage": 1}}
    zh = json.loads(alarm_message(alarm, "zh-CN"))
    en = json.loads(alarm_message(alarm, "en"))
    assert zh["message"] == "氨气浓度高：35 ppm ≥ 25 ppm（一级报警）" and zh["language"] == "zh-CN"
    assert en["message"] == "NH3 high: 35 ppm ≥ 25 ppm (first alarm)"
    assert zh["message_key"] == "limit_high" and zh["message_params"]["value"] == 35.04


def test_every_procedure_step_reads_in_both_languages():
    from ingest.alarms.engine import load_procedures

    procedures = load_procedures()
    assert {"fire", "door_forced", "lab", "offline"} <= procedures.keys()
    for steps in procedures.values():
        for step in steps:
            assert set(step) == {"en", "zh-CN"} and all(step.values()), step
            assert CJK_RE.search(step["zh-CN"]) and not CJK_RE.search(step["en"])


def test_the_duty_log_entries_the_system_writes_read_in_each_language():
    from dashboard.lang import duty_note

    handover = {"kind": "handover", "note": "Shift handed over from a to b: 1 open, 0 shelved, 2 out of service",
                "details": {"outgoing": "a", "incoming": "b", "open": [7], "shelved": [], "out_of_service": [1, 2]}}
    assert duty_note(handover, i18n.translator("zh-CN")) == "已由 a 交接给 b：未关闭 1 条，搁置 0 条，屏蔽 2 个。"
    oos = {"kind": "equipment", "note": "s1 out of service: detector replaced",
           "details": {"sensor": "s1", "out_of_service": True, "reason": "detector replaced"}}
    assert duty_note(oos, i18n.translator("zh-CN")) == "s1 已屏蔽：detector replaced"
    written = {"kind": "remark", "note": "fire panel normal", "details": None}
    assert duty_note(written, i18n.translator("zh-CN")) == "fire panel normal"  # what people write stays theirs
