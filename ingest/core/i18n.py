"""Languages: gettext catalogues (read with Babel), the reader's language, numbers with units.

The source strings are English and marked for extraction (``make i18n`` runs ``pybabel
extract`` over the three packages): ``_("...")`` where a translator ``_`` for the reader's
language is at hand, ``N_("...")`` for a string defined before anyone reads it (a label in
a table, an alarm message template), translated when shown. The catalogues are
``ingest/core/locale/<locale>/LC_MESSAGES/messages.po``: ``zh_CN`` complete, ``en`` the
identity. Each is read once per process (the files are part of the release).

A person's language comes, in this order, from a ``lang`` query parameter (a kiosk link),
their own setting, the browser's ``Accept-Language``, and the site's default language.
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("zh-CN", "en")  # BCP 47 tags, as in URLs, HTML lang and Accept-Language
DEFAULT_LANGUAGE = "zh-CN"
LOCALES = {"zh-CN": "zh_CN", "en": "en"}  # the catalogue directories
NAMES = {"zh-CN": "中文", "en": "English"}  # each language in its own words (the switch)

Translator = Callable[[str], str]


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark only"
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@functools.cache
def catalogue(lang: str) -> Mapping[str, str]:
    """The msgid → msgstr table of a language (untranslated and fuzzy entries left out: English shows)."""
    folder = resources.files("ingest.core") / "locale" / LOCALES[lang] / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        cat = read_po(f, locale=LOCALES[lang])
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def normalise(tag: str | None) -> str | None:
    """A language tag as one of LANGUAGES ('zh', 'zh_cn', 'zh-Hans-CN' → 'zh-CN'), else None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return {"zh": "zh-CN", "en": "en"}.get(primary)


def negotiate(accept_language: str | None) -> str | None:
    """The best of LANGUAGES for an ``Accept-Language`` header, None when it names none of them."""
    best: tuple[float, str] | None = None
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = normalise(tag)
        if not lang:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        key = (q - i * 1e-6, lang)  # equal weights: the earlier one wins
        if q > 0 and (best is None or key[0] > best[0]):
            best = key
    return best[1] if best else None


def choose(*candidates: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The first candidate that is a supported language, else ``default``."""
    for c in candidates:
        lang = normalise(c)
        if lang:
            return lang
    return normalise(default) or DEFAULT_LANGUAGE


def translator(lang: str) -> Translator:
    """``_`` for one reader: English source text in, their language out."""
    table = catalogue(choose(lang))

    def _(message: str) -> str:
        return table.get(message, message)

    return _


def render(lang: str, template: str, params: Mapping[str, Any]) -> str:
    """A translated template with its named fields filled; a field it lacks shows as ``?``."""
    text = translator(lang)(template)
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    return text.format_map({n: params.get(n, "?") for n in names})


def named(row: Mapping[str, Any], key: str, lang: str) -> str:
    """A place's name for a reader: ``<key>_zh`` in zh-CN when the site file gives one, else ``<key>``."""
    if lang == "zh-CN" and row.get(f"{key}_zh"):
        return str(row[f"{key}_zh"])
    return str(row.get(key) or "")


def number(value: float | None, lang: str, digits: int = 1) -> str:
    """A number in the reader's locale with at most ``digits`` decimals ('22.6', '1,234')."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALES[choose(lang)])


# Units as people write them; the precision each is read with.
UNITS = {"c": ("°C", 1), "pct": ("%", 1), "ppm": ("ppm", 0), "m_s": ("m/s", 2), "pa": ("Pa", 0),
         "s": ("s", 0), "min": ("min", 1), "h": ("h", 1), "db": ("dB/m", 2), "pct_lel": ("%LEL", 1)}


# Durations are words, not symbols, in Chinese: "30 秒", "25 小时".
DURATIONS = {"s": N_("{n} s"), "min": N_("{n} min"), "h": N_("{n} h")}


def quantity(value: float | None, unit: str, lang: str) -> str:
    """A value with its unit: '22.6 °C', '35 ppm', '0.32 m/s', '25 h'."""
    symbol, digits = UNITS.get(unit, (unit, 2))
    if unit in DURATIONS:
        return translator(lang)(DURATIONS[unit]).format(n=number(value, lang, digits))
    return f"{number(value, lang, digits)} {symbol}" if symbol else number(value, lang, digits)
