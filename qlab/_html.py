"""Small static HTML tables for ``_repr_html_`` hooks (no JavaScript, escaped text).

>>> key_value_table({"id": "a<b"}, caption="Job")
"<table><caption>Job</caption><tr><th style='text-align:left'>id</th><td style='text-align:left'>a&lt;b</td></tr></table>"
"""

from __future__ import annotations

import html
from collections.abc import Mapping

__all__ = ["key_value_table", "frame_table"]


def key_value_table(rows: Mapping[str, object], caption: str = "") -> str:
    """One row per key: the key as a header cell, the value as text."""
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    head = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{head}{cells}</table>"


def frame_table(frame, caption: str = "", note: str = "") -> str:
    """A pandas DataFrame as an HTML table with an optional caption above and a note below."""
    head = f"<p><b>{html.escape(caption)}</b></p>" if caption else ""
    foot = f"<p>{html.escape(note)}</p>" if note else ""
    return head + frame.to_html(index=False, na_rep="") + foot
