"""What every exported workbook shares: bold centred headers, column widths, safe text cells."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet


def safe_text(value: object) -> object:
    """Text as text: without the control characters a workbook cannot hold (one would break the
    whole export). Formula-looking text is kept a string by ``append_row`` (never a live formula)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def append_row(ws: Any, values: Sequence[object]) -> None:
    ws.append([safe_text(v) for v in values])
    for cell in ws[ws.max_row]:
        if cell.data_type == "f":  # "=HYPERLINK(…)" typed by a user stays what it is: text
            cell.data_type = "s"


def new_sheet(wb: Workbook, title: str, headers: Sequence[str], widths: Sequence[int], *, first: bool = False
              ) -> Worksheet:
    ws = wb.active if first else wb.create_sheet()
    assert isinstance(ws, Worksheet)
    ws.title = title
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for i, w in enumerate(widths):
        ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = w
    ws.freeze_panes = "A2"
    return ws


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
