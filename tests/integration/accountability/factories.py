"""Bodies an accountability officer sends, shaped like the 泰顺 example's bureau."""

from __future__ import annotations

from typing import Any

UNIT = "泰顺县交通运输局"


def responsibility_list(
    valid_from: str = "2025-01-01",
    valid_to: str | None = None,
    *,
    unit: str = UNIT,
    chief: str = "陈局长",
    finance_leader: str = "林副局长",
    discipline_head: str = "吴组长",
    key_area: bool = True,
) -> dict[str, Any]:
    return {
        "unit": unit,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "party_committee": f"中共{unit}党组",
        "first_responsible": {"name": chief, "post": "党组书记、局长"},
        "discipline_body": "县纪委监委派驻第三纪检监察组",
        "discipline_head": {"name": discipline_head, "post": "派驻纪检监察组组长"},
        "department_leaders": [
            {
                "department": "财务科",
                "leader": {"name": finance_leader, "post": "党组成员、副局长"},
            },
            {"department": "建设管理科", "leader": {"name": "郑副局长", "post": "副局长"}},
        ],
        "key_area": key_area,
    }
