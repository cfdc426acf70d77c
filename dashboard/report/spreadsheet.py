"""CSV cells that are safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is read as a
formula by Excel, WPS and LibreOffice (``=HYPERLINK(...)`` in a duty-log note would run on
the reader's machine). Such text is prefixed with an apostrophe, which the spreadsheet shows
as plain text; numbers stay numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """The value, neutralised if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
