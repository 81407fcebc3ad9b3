"""The daily statistics and the monthly bulletin as workbooks (Chinese headers), the bulletin with charts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference

from services.core.xlsx import append_row, new_sheet, to_bytes

COMMUNITY_HEADERS = ["社区", "上报案件", "有效案件", "自发自处（有效）", "自发自处率(%)", "虚假案件", "被动案件接收",
                     "被动案件接单", "被动案件结案", "接单超时", "平均接单用时(分钟)", "到期被动案件", "超期被动案件",
                     "超期率(%)"]
WORKER_HEADERS = ["社区", "网格员", "网格", "上报案件", "有效案件", "自发自处（有效）", "自发自处率(%)", "无效案件",
                  "虚假案件", "待审核", "到期案件", "超期案件", "超期率(%)"]
SELF_HANDLE_LINE = Decimal(25)  # 自发自处率不低于 25%


def _pct(value: Decimal | None) -> object:
    return "—" if value is None else float(value)


def _community_row(c: dict[str, Any]) -> list[object]:
    return [c["name"], c["reported"], c["valid"], c["self_handled_valid"], _pct(c["self_handle_rate"]),
            c["false_cases"], c["received"], c["accepted"], c["closed"], c["acceptance_timeouts"],
            "—" if c["avg_accept_minutes"] is None else float(c["avg_accept_minutes"]), c["passive_due"],
            c["passive_overdue"], _pct(c["overdue_rate"])]


def _worker_row(w: dict[str, Any]) -> list[object]:
    return [w["community_name"], w["name"], w["grids"], w["reported"], w["valid"], w["self_handled_valid"],
            _pct(w["self_handle_rate"]), w["invalid"], w["false_cases"], w["pending"], w["cases_due"], w["overdue"],
            _pct(w["overdue_rate"])]


def _sheets(wb: Workbook, data: dict[str, Any], title: str, *, first: bool) -> None:
    ws = new_sheet(wb, f"{title}（社区）", COMMUNITY_HEADERS, [14] + [11] * 13, first=first)
    for c in data["communities"]:
        append_row(ws, _community_row(c))
    ws = new_sheet(wb, f"{title}（网格员）", WORKER_HEADERS, [14, 12, 16] + [11] * 10)
    for w in data["grid_workers"]:
        append_row(ws, _worker_row(w))


def daily_workbook(data: dict[str, Any]) -> bytes:
    """日统计: one sheet per level."""
    wb = Workbook()
    _sheets(wb, data, f"日统计 {data['period']}", first=True)
    return to_bytes(wb)


def bulletin_workbook(data: dict[str, Any]) -> bytes:
    """月通报: this month and last month per community and grid worker, and two charts: cases per
    community, and each community's self-handle rate against the 25% line."""
    wb = Workbook()
    _sheets(wb, data, f"月通报 {data['period']}", first=True)
    ws = new_sheet(wb, "环比", ["社区", f"有效案件 {data['period']}", f"有效案件 {data['previous_period']}",
                                f"自发自处率(%) {data['period']}", f"自发自处率(%) {data['previous_period']}"],
                   [14, 16, 16, 20, 20])
    for c in data["communities"]:
        prev = c.get("previous") or {}
        append_row(ws, [c["name"], c["valid"], prev.get("valid", 0), _pct(c["self_handle_rate"]),
                        _pct(prev.get("self_handle_rate"))])
    charts = new_sheet(wb, "图表", ["社区", "上报案件", "有效案件", "自发自处率(%)", "达标线(%)"], [14, 12, 12, 14, 12])
    for c in data["communities"]:
        append_row(charts, [c["name"], c["reported"], c["valid"],
                            float(c["self_handle_rate"]) if c["self_handle_rate"] is not None else 0,
                            float(SELF_HANDLE_LINE)])
    n = len(data["communities"])
    if n:
        cats = Reference(charts, min_col=1, min_row=2, max_row=n + 1)
        cases = BarChart()
        cases.title, cases.y_axis.title = "各社区案件量", "件"
        cases.add_data(Reference(charts, min_col=2, max_col=3, min_row=1, max_row=n + 1), titles_from_data=True)
        cases.set_categories(cats)
        charts.add_chart(cases, "G2")
        rate = BarChart()
        rate.title, rate.y_axis.title = "自发自处率与 25% 达标线", "%"
        rate.add_data(Reference(charts, min_col=4, min_row=1, max_row=n + 1), titles_from_data=True)
        rate.set_categories(cats)
        line = LineChart()
        line.add_data(Reference(charts, min_col=5, min_row=1, max_row=n + 1), titles_from_data=True)
        rate += line
        charts.add_chart(rate, "G20")
    return to_bytes(wb)
