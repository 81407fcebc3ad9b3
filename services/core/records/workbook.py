"""Each register as a workbook, and a community's quarterly materials dossier (one sheet per register,
plus the inspections and the compliance summary). Chinese headers, as the street office keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from services.core.records.models import Inspection, InspectionProblem, Record
from services.core.records.rules import KIND_LABELS, RecordKind
from services.core.xlsx import append_row, new_sheet, to_bytes

HEADERS = ["编号", "社区", "日期", "标题", "内容", "详细信息", "录入人", "录入时间", "最后修改"]
WIDTHS = [8, 8, 12, 30, 50, 50, 8, 18, 18]
CHECK_LABELS = {"patrols": "巡查记录", "meetings": "联席会议", "evaluations": "下沉执法力量评价",
                "rectifications": "问题整改", "summaries": "工作总结"}


def _details(details: dict[str, Any]) -> str:
    return "；".join(f"{k}: {'、'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in details.items())


def _register(wb: Workbook, title: str, rows: Sequence[Record], *, first: bool) -> None:
    ws = new_sheet(wb, title, HEADERS, WIDTHS, first=first)
    for r in rows:
        append_row(ws, [r.id, r.community_id, r.occurred_on.isoformat(), r.title, r.body or "", _details(r.details),
                        r.author_id, f"{r.created_at:%Y-%m-%d %H:%M}", f"{r.updated_at:%Y-%m-%d %H:%M}"])


def register_workbook(kind: RecordKind, rows: Sequence[Record]) -> bytes:
    wb = Workbook()
    _register(wb, KIND_LABELS[kind], rows, first=True)
    return to_bytes(wb)


def dossier_workbook(summary: dict[str, Any], rows: Sequence[Record], inspections: Sequence[Inspection],
                     problems: Sequence[InspectionProblem]) -> bytes:
    """考核资料: the compliance summary first, then every register of the quarter, then 督查 and 整改."""
    wb = Workbook()
    ws = new_sheet(wb, "资料完成情况", ["项目", "权重", "完成度", "缺失或逾期"], [18, 8, 10, 80], first=True)
    for c in summary["checks"]:
        append_row(ws, [CHECK_LABELS.get(c["name"], c["name"]), c["weight"], f"{float(c['fraction']) * 100:.0f}%",
                        "；".join(c["missing"]) or "齐全"])
    append_row(ws, ["考核资料得分", "", summary["materials_score"], f"{summary['quarter']}，满分 10 分"])
    for kind in RecordKind:
        _register(wb, KIND_LABELS[kind], [r for r in rows if r.kind == kind.value], first=False)
    ws = new_sheet(wb, "督查与整改", ["督查编号", "类型", "督查日期", "问题", "网格", "类别", "责任人", "整改期限",
                                  "整改情况", "是否销号"], [8, 8, 12, 40, 8, 8, 8, 12, 50, 8])
    by_inspection = {i.id: i for i in inspections}
    for p in problems:
        i = by_inspection[p.inspection_id]
        append_row(ws, [i.id, "督查" if i.kind == "operator" else "互查", i.inspected_on.isoformat(), p.description,
                        p.grid_id or "", p.category_id, p.owner_id, p.deadline_on.isoformat(),
                        "；".join(f["note"] for f in p.follow_up), "是" if p.closed_at else "否"])
    return to_bytes(wb)
