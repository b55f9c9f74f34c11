"""What the residents' requests of the demo district are made of: the request categories with their first level,
the deadline policies, the State Council's holiday schedules, and the texts residents and handlers write."""

from __future__ import annotations

# (code, name, first level, hotline names, description)
CATEGORIES = (
    ("streetlight", "路灯照明", "grid", "路灯,照明,路灯损坏", "路灯不亮、闪烁、灯杆损坏"),
    ("sanitation", "环境卫生", "grid", "垃圾,卫生,环境", "垃圾清运、楼道杂物、卫生死角"),
    ("neighbour", "邻里关系", "grid", "邻里,纠纷", "邻里之间的矛盾和小事"),
    ("noise", "噪音扰民", "community", "噪音,扰民", "施工、广场舞、商铺噪音"),
    ("property", "物业服务", "community", "物业,电梯,门禁", "电梯、门禁、物业收费和服务"),
    ("parking", "停车管理", "community", "停车,车位", "乱停车、车位、充电桩"),
    ("illegal-building", "违章搭建", "street", "违建,搭建", "私搭乱建、占用公共空间"),
    ("roads", "道路设施", "district_department", "道路,井盖,路面", "路面破损、井盖缺失"),
    ("utilities", "供水供暖", "district_department", "供水,供暖,停水", "停水、水压低、暖气不热"),
)
# (level, unit, accept within, resolve within): the level's defaults.
POLICIES = (
    ("grid", "working_hours", 4, 24),
    ("community", "working_days", 1, 3),
    ("street", "working_days", 1, 5),
    ("district_department", "working_days", 1, 7),
    ("city", "working_days", 2, 10),
)
# Category-specific policies: (category, level, unit, accept, resolve).
CATEGORY_POLICIES = (("streetlight", "grid", "working_hours", 2, 16), ("noise", "community", "working_hours", 2, 8))

# The State Council's holiday schedule (节假日安排): (holidays as (first, last, name)), make-up working days.
HOLIDAYS: dict[int, tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]] = {
    2025: (
        (
            ("2025-01-01", "2025-01-01", "元旦"),
            ("2025-01-28", "2025-02-04", "春节"),
            ("2025-04-04", "2025-04-06", "清明节"),
            ("2025-05-01", "2025-05-05", "劳动节"),
            ("2025-05-31", "2025-06-02", "端午节"),
            ("2025-10-01", "2025-10-08", "国庆节、中秋节"),
        ),
        ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
    ),
    2026: (
        (
            ("2026-01-01", "2026-01-03", "元旦"),
            ("2026-02-15", "2026-02-23", "春节"),
            ("2026-04-04", "2026-04-06", "清明节"),
            ("2026-05-01", "2026-05-05", "劳动节"),
            ("2026-06-19", "2026-06-21", "端午节"),
            ("2026-09-25", "2026-09-27", "中秋节"),
            ("2026-10-01", "2026-10-07", "国庆节"),
        ),
        ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
    ),
}

TEXTS = {
    "streetlight": ("路灯晚上不亮，走路看不清", "路灯一直闪，影响休息", "小区东门路灯坏了好几天"),
    "sanitation": ("垃圾桶满了没人清运", "楼道里堆放杂物，有安全隐患", "绿化带里有建筑垃圾"),
    "neighbour": ("楼上漏水到我家，协商不成", "邻居在楼道养狗，气味很大", "楼上晚上经常拖动家具"),
    "noise": ("晚上广场舞音响太大", "附近工地夜间施工", "楼下商铺音响声音太大"),
    "property": ("电梯经常停运", "单元门禁坏了", "物业维修不及时"),
    "parking": ("消防通道被车堵住", "充电桩不够用", "外来车辆长期占用车位"),
    "illegal-building": ("一楼住户私自扩建院子", "楼顶有人搭建彩钢房", "公共绿地被圈占"),
    "roads": ("小区门口路面塌陷", "井盖缺失有危险", "人行道砖松动"),
    "utilities": ("水压太低，高层用不上水", "暖气不热", "停水没有提前通知"),
}
SPOTS = ("3号楼与5号楼之间", "东门口", "南侧停车场", "中心花园", "西门岗亭旁", "北侧围墙边")
RESOLUTIONS = ("已联系维修人员处理完毕", "已现场协调，问题解决", "已督促物业整改到位", "已安排清运并加强巡查")
ESCALATE_REASONS = ("超出网格处置权限", "需要社区协调多方", "涉及执法，需街道处理", "需要职能部门处置")
REJECT_REASONS = ("属于民事纠纷，已告知通过法律途径解决", "不属于本社区管辖范围")


def fixed_date_holidays(year: int) -> tuple[tuple[str, str, str], ...]:
    """The statutory holidays that fall on the same solar dates every year (元旦, 劳动节, 国庆节)."""
    return (
        (f"{year}-01-01", f"{year}-01-01", "元旦"),
        (f"{year}-05-01", f"{year}-05-05", "劳动节"),
        (f"{year}-10-01", f"{year}-10-07", "国庆节"),
    )
