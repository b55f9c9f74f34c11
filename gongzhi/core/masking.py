"""Masks for personal data shown on pages, in the API, in exports and on public lists."""

from __future__ import annotations


def mask_id_card(number: str | None) -> str:
    """110101199003071234 -> 110***********1234 (first three and last four kept)."""
    if not number:
        return ""
    number = number.strip()
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678; other lengths keep at most the first three and the last four."""
    if not phone:
        return ""
    phone = phone.strip()
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***; Latin names keep their first letter."""
    if not name:
        return ""
    name = name.strip()
    if len(name) == 1:
        return name
    return name[0] + "*" * (len(name) - 1)
