"""default 部件/事件 taxonomy (major → minor), editable later through the API

Codes: C = 部件 (component), E = 事件 (event); two digits for the major (大类), two more for the
minor (小类), after the split of CJ/T 214 / GB/T 30428.2 as cities commonly use it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (kind, major code, major name, [(minor code, minor name), ...])
TAXONOMY: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("component", "C01", "公用设施", [
        ("C0101", "上水井盖"), ("C0102", "污水井盖"), ("C0103", "雨水井盖"), ("C0104", "电力井盖"),
        ("C0105", "通信井盖"), ("C0106", "消防栓"), ("C0107", "路灯"), ("C0108", "公共厕所"),
    ]),
    ("component", "C02", "道路交通", [
        ("C0201", "交通标志牌"), ("C0202", "交通信号灯"), ("C0203", "护栏"), ("C0204", "路名牌"),
        ("C0205", "公交站亭"), ("C0206", "停车设施"), ("C0207", "隔离墩"),
    ]),
    ("component", "C03", "市容环境", [
        ("C0301", "垃圾箱"), ("C0302", "果皮箱"), ("C0303", "广告牌匾"), ("C0304", "公共座椅"),
        ("C0305", "垃圾收集站"),
    ]),
    ("component", "C04", "园林绿化", [
        ("C0401", "行道树"), ("C0402", "绿地"), ("C0403", "花坛"), ("C0404", "护树设施"),
    ]),
    ("component", "C05", "房屋土地", [
        ("C0501", "公房"), ("C0502", "宣传栏"), ("C0503", "空置地块"),
    ]),
    ("component", "C06", "其他设施", [
        ("C0601", "健身设施"), ("C0602", "监控电子眼"), ("C0603", "充电设施"),
    ]),
    ("event", "E01", "市容环境", [
        ("E0101", "暴露垃圾"), ("E0102", "积存垃圾渣土"), ("E0103", "道路不洁"), ("E0104", "乱堆物料"),
        ("E0105", "违规晾晒"), ("E0106", "乱涂乱画"),
    ]),
    ("event", "E02", "宣传广告", [
        ("E0201", "非法小广告"), ("E0202", "违规张贴横幅"), ("E0203", "占道广告牌"),
    ]),
    ("event", "E03", "施工管理", [
        ("E0301", "施工扰民"), ("E0302", "工地扬尘"), ("E0303", "道路遗撒"), ("E0304", "违法建设"),
    ]),
    ("event", "E04", "街面秩序", [
        ("E0401", "占道经营"), ("E0402", "店外经营"), ("E0403", "无照游商"), ("E0404", "乱停放车辆"),
        ("E0405", "露天烧烤"),
    ]),
    ("event", "E05", "突发事件", [
        ("E0501", "路面塌陷"), ("E0502", "自来水管破裂"), ("E0503", "燃气管道泄漏"), ("E0504", "道路积水"),
        ("E0505", "火灾隐患"),
    ]),
    ("event", "E06", "社会管理", [
        ("E0601", "矛盾纠纷"), ("E0602", "安全隐患"), ("E0603", "环境污染"), ("E0604", "噪声扰民"),
    ]),
]

category = sa.table(
    "category",
    sa.column("id", sa.BigInteger), sa.column("code", sa.String), sa.column("name", sa.String),
    sa.column("kind", sa.String), sa.column("parent_id", sa.BigInteger), sa.column("level", sa.Integer),
)


def upgrade() -> None:
    conn = op.get_bind()
    for kind, major_code, major_name, minors in TAXONOMY:
        parent_id = conn.execute(
            sa.insert(category).values(code=major_code, name=major_name, kind=kind, level=1)
            .returning(category.c.id)
        ).scalar_one()
        op.bulk_insert(category, [
            {"code": code, "name": name, "kind": kind, "parent_id": parent_id, "level": 2}
            for code, name in minors
        ])


def downgrade() -> None:
    # Cases keep their category_code; their link to the rows removed here is cleared first, and
    # minors added later under a default major go with it.
    majors = [major for _, major, _, _ in TAXONOMY]
    codes = majors + [code for *_, ms in TAXONOMY for code, _ in ms]
    major_ids = sa.select(category.c.id).where(category.c.code.in_(majors))
    doomed = sa.select(category.c.id).where(sa.or_(category.c.code.in_(codes), category.c.parent_id.in_(major_ids)))
    passive_case = sa.table("passive_case", sa.column("category_id", sa.BigInteger))
    op.execute(passive_case.update().where(passive_case.c.category_id.in_(doomed)).values(category_id=None))
    op.execute(category.delete().where(category.c.parent_id.in_(major_ids)))
    op.execute(category.delete().where(category.c.code.in_(codes)))
