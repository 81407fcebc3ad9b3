"""季度考核通报 and 奖励分配 as one workbook (Chinese headers, amounts in yuan to the fen)."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

from services.core.assessment.models import AssessmentQuarter
from services.core.assessment.money import yuan
from services.core.xlsx import append_row, new_sheet, to_bytes

GROUP_LABELS = {"staff": "平台工作人员", "community": "社区", "grid_worker": "网格员", "unallocated": "未分配"}


def notice_workbook(row: AssessmentQuarter, result: dict[str, Any] | None) -> bytes:
    """The notice from ``result`` as the asker may see it (a colleague's pay and detail left out)."""
    result = result or {}
    status = "已发布" if row.status == "published" else "草稿（未发布）"
    wb = Workbook()
    ws = new_sheet(wb, "网格员考核", ["排名", "社区", "网格员", "季度得分", "扣分", "一票否决", "否决原因",
                                   "应发绩效(元)", "有效案件", "自发自处率(%)", "说明"],
                   [6, 14, 12, 10, 8, 10, 30, 14, 10, 14, 60], first=True)
    for w in sorted(result.get("grid_workers", []), key=lambda w: (w["rank"] is None, w["rank"] or 0)):
        append_row(ws, [w["rank"] or "—", w["community_name"], w["name"], float(w["score"]),
                        float(w.get("deductions", 0)), "是" if w["vetoes"] else "否",
                        "；".join(v.get("reason", v["label"]) for v in w["vetoes"]),
                        yuan(w["pay_fen"]) if "pay_fen" in w else "—", w["valid_cases"], float(w["self_handle_rate"]),
                        "；".join(w.get("explanation", []))])
    ws = new_sheet(wb, "月度明细", ["网格员", "月份", "月得分", "实发绩效(元)", "应发(元)", "考核项", "分值", "得分",
                                  "金额(元)", "依据"], [12, 10, 8, 12, 12, 12, 6, 8, 12, 50])
    for w in result.get("grid_workers", []):
        for m in w.get("months", []):
            for c in m["components"]:
                append_row(ws, [w["name"], m["month"], float(m["score"]), yuan(m["paid_fen"]), yuan(m["pay_fen"]),
                                c["label"], c["weight"], float(c["points"]), yuan(c["pay_fen"]), c["reason"]])
    ws = new_sheet(wb, "社区排名", ["排名", "社区", "网格员人数", "网格员平均分", "考核资料分", "接单超时", "扣分",
                                  "综合得分"], [6, 14, 10, 12, 10, 10, 8, 10])
    for c in result.get("communities", []):
        append_row(ws, [c["rank"], c["name"], c["grid_workers"], float(c["mean_worker_score"]),
                        float(c["materials_score"]), c["acceptance_timeouts"], float(c["deduction"]),
                        float(c["score"])])
    ws = new_sheet(wb, "奖励分配", ["类别", "名次/份额", "获奖对象", "名次", "金额(元)", "书记上限(元)", "说明"],
                   [12, 20, 14, 6, 14, 12, 60])
    for line in result.get("allocation") or []:
        append_row(ws, [GROUP_LABELS.get(line["group"], line["group"]), line["place"], line["recipient_name"] or "",
                        line["rank"] or "", yuan(line["amount_fen"]),
                        yuan(line["secretary_cap_fen"]) if line["secretary_cap_fen"] is not None else "",
                        line["explanation"]])
    if row.fund_fen is not None:
        append_row(ws, ["合计", "", "", "", yuan(row.fund_fen), "", f"奖励资金总额；状态：{status}"])
    return to_bytes(wb)
