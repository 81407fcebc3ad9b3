"""Roles of SPEC §1 (组织架构). A person may hold several; some are held for one community."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"  # 系统管理员: manages people, communities, grids
    commander = "commander"  # 总指挥
    deputy_commander = "deputy_commander"  # 副总指挥
    leader_in_charge = "leader_in_charge"  # 分管领导
    department_supervisor = "department_supervisor"  # 部门主管 (综治中心主任)
    business_supervisor = "business_supervisor"  # 业务主管
    department_head = "department_head"  # 部门负责人
    operator = "operator"  # 操作员 (平台专干), linked (包联) to communities
    community_director = "community_director"  # 社区主任
    community_vice_director = "community_vice_director"  # 社区副主任
    community_secretary = "community_secretary"  # 社区书记
    community_handler = "community_handler"  # 社区接单人
    grid_worker = "grid_worker"  # 网格员


ROLE_LABELS: dict[Role, str] = {
    Role.admin: "系统管理员",
    Role.commander: "总指挥",
    Role.deputy_commander: "副总指挥",
    Role.leader_in_charge: "分管领导",
    Role.department_supervisor: "部门主管",
    Role.business_supervisor: "业务主管",
    Role.department_head: "部门负责人",
    Role.operator: "操作员",
    Role.community_director: "社区主任",
    Role.community_vice_director: "社区副主任",
    Role.community_secretary: "社区书记",
    Role.community_handler: "社区接单人",
    Role.grid_worker: "网格员",
}

# Roles that see and may act on the whole street.
STREET_WIDE_ROLES = frozenset({
    Role.admin, Role.commander, Role.deputy_commander, Role.leader_in_charge,
    Role.department_supervisor, Role.business_supervisor, Role.department_head,
})
# Roles held for one community (person_role.community_id is required for them).
COMMUNITY_ROLES = frozenset({
    Role.community_director, Role.community_vice_director, Role.community_secretary,
    Role.community_handler, Role.grid_worker,
})
SUPERVISOR_ROLES = frozenset({Role.department_supervisor, Role.business_supervisor})
ORG_ADMIN_ROLES = frozenset({Role.admin, Role.department_supervisor})
