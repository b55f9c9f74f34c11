"""Questions per request category: the attributes of an Open311 GeoReport v2 service definition.

Staff who configure the district's categories (``case.configure`` on a district) define, per category, the
questions an outside system must or may answer when it files a request (``CategoryAttribute``): a code, the
question, a datatype (string, number, datetime, text, singlevaluelist, multivaluelist), whether it is required,
a hint, the order, and for the list datatypes the choices as key and name.

``clean_answers`` checks the answers to a category's questions all at once (required, datatype, choices) and
returns what is stored on the case (``Case.attributes``: {code: value, or the list of keys}); ``answer_lines``
reads them back in words for the case page. Attributes are archived, never deleted, so old answers keep their
question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record, diff_fields
from gongzhi.core.errors import NotFound, ValidationFailed

from .models import LIST_DATATYPES, AttributeDatatype, Case, CaseCategory, CategoryAttribute
from .selectors import configures_categories

STRING_MAX = 255
TEXT_MAX = 2000
VALUES_MAX = 50
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_FIELDS = ("code", "description", "datatype", "datatype_description", "required", "variable", "order", "values")


# ---------------------------------------------------------------- reading


def category_attributes(category: CaseCategory) -> list[CategoryAttribute]:
    """The category's active questions, in their order."""
    return list(CategoryAttribute.objects.filter(category=category, is_active=True).order_by("order", "id"))


def attribute_queryset(actor: Actor) -> QuerySet[CategoryAttribute]:
    """Questions the actor may change: all of them for those who configure the district's categories."""
    if not configures_categories(actor):
        return CategoryAttribute.objects.none()
    return CategoryAttribute.objects.select_related("category")


def access_attribute(actor: Actor, attribute_id: Any) -> CategoryAttribute:
    try:
        attribute_id = int(attribute_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    attribute = attribute_queryset(actor).filter(pk=attribute_id, is_active=True).first()
    if attribute is None:
        raise NotFound()
    return attribute


def values_text(values: Sequence[Mapping[str, Any]]) -> str:
    """The choices as staff type them: one per line, ``key=name``."""
    return "\n".join(f"{value['key']}={value['name']}" for value in values)


def parse_values(text: str) -> list[dict[str, str]]:
    """``key=name`` per line (a line without ``=`` is its own key); blank lines are skipped."""
    values = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        key, separator, name = line.partition("=")
        key, name = key.strip(), name.strip()
        values.append({"key": key, "name": name if separator and name else key})
    return values


def answer_lines(case: Case) -> list[dict[str, str]]:
    """[{question, answer}] for the answers stored on the case, in the order of the category's questions. An answer
    whose question was archived keeps its words; one whose question is unknown shows its code."""
    answers = case.attributes or {}
    if not answers:
        return []
    questions = {
        attribute.code: attribute
        for attribute in CategoryAttribute.objects.filter(
            category_id=case.category_id, code__in=list(answers)
        ).order_by("is_active", "order", "id")  # an active question wins over an archived one of the same code
    }
    ordered = sorted(answers, key=lambda code: (questions[code].order if code in questions else 10_000, code))
    lines = []
    for code in ordered:
        attribute = questions.get(code)
        value = answers[code]
        if attribute is not None and attribute.datatype in LIST_DATATYPES:
            names = {str(choice["key"]): choice["name"] for choice in attribute.values}
            keys = value if isinstance(value, list) else [value]
            shown = "、".join(names.get(str(key), str(key)) for key in keys)
        elif attribute is not None and attribute.datatype == AttributeDatatype.DATETIME and value:
            try:
                shown = timezone.localtime(datetime.fromisoformat(str(value))).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                shown = str(value)
        else:
            shown = "、".join(map(str, value)) if isinstance(value, list) else str(value)
        lines.append({"question": attribute.description if attribute else code, "answer": shown})
    return lines


# ---------------------------------------------------------------- checking answers


def _number(text: str) -> int | float:
    number = Decimal(text)
    if not number.is_finite():
        raise InvalidOperation
    return int(number) if number == number.to_integral_value() and "." not in text else float(number)


def _answer(attribute: CategoryAttribute, given: list[str]) -> tuple[Any, str]:
    """(the stored value or None for no answer, the problem or "")."""
    given = [value.strip() for value in given if value is not None and value.strip()]
    if not given:
        return None, _("This question must be answered.") if attribute.required else ""
    datatype = attribute.datatype
    if datatype == AttributeDatatype.MULTI_VALUE_LIST:
        keys = {str(choice["key"]) for choice in attribute.values}
        chosen: list[str] = []
        for part in given:
            chosen.extend(item.strip() for item in part.split(",") if item.strip())
        unknown = [item for item in chosen if item not in keys]
        if unknown:
            return None, _("Not one of the choices: %(values)s.") % {"values": ", ".join(unknown)}
        return list(dict.fromkeys(chosen)), ""
    if len(given) > 1:
        return None, _("Give one answer only.")
    value = given[0]
    if datatype == AttributeDatatype.SINGLE_VALUE_LIST:
        if value not in {str(choice["key"]) for choice in attribute.values}:
            return None, _("Not one of the choices: %(values)s.") % {"values": value}
        return value, ""
    if datatype == AttributeDatatype.NUMBER:
        try:
            return _number(value), ""
        except (InvalidOperation, ValueError):
            return None, _("Give a number.")
    if datatype == AttributeDatatype.DATETIME:
        if not _W3.match(value):
            return None, _("Give a date and time with a time zone, for example 2026-01-01T09:00:00+08:00.")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None, _("Give a date and time with a time zone, for example 2026-01-01T09:00:00+08:00.")
        return moment.isoformat(), ""
    limit = STRING_MAX if datatype == AttributeDatatype.STRING else TEXT_MAX
    if len(value) > limit:
        return None, _("Write at most %(limit)d characters.") % {"limit": limit}
    return value, ""


def clean_answers(category: CaseCategory, given: Mapping[str, list[str]]) -> dict[str, Any]:
    """The answers to the category's questions, checked all at once: {code: value}. ``given`` maps each code to
    the values sent for it (several for a multivaluelist). Codes the category does not ask are ignored; questions
    that take no answer (``variable`` false) too. Raises ValidationFailed with one field ``attribute[code]`` per
    problem."""
    answers: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for attribute in category_attributes(category):
        if not attribute.variable:
            continue
        value, problem = _answer(attribute, list(given.get(attribute.code, [])))
        if problem:
            problems[f"attribute[{attribute.code}]"] = problem
        elif value is not None:
            answers[attribute.code] = value
    if problems:
        raise ValidationFailed(_("Some answers to the category's questions are not valid."), fields=problems)
    return answers


# ---------------------------------------------------------------- staff: defining the questions


def _require_configurer(actor: Actor) -> None:
    if not configures_categories(actor):
        raise NotFound()


def _cleaned(category: CaseCategory, data: Mapping[str, Any], *, exclude: int | None = None) -> dict[str, Any]:
    """The attribute's fields from ``data``, checked all at once (ValidationFailed naming every bad field)."""
    problems: dict[str, str] = {}
    code = str(data.get("code") or "").strip()
    if not _CODE.match(code):
        problems["code"] = _("Use 1–40 letters, digits, - or _.")
    else:
        same_code = CategoryAttribute.objects.filter(category=category, code=code, is_active=True)
        if exclude is not None:
            same_code = same_code.exclude(pk=exclude)
        if same_code.exists():
            problems["code"] = _("This category already has a question with this code.")
    description = str(data.get("description") or "").strip()
    if not description:
        problems["description"] = _("Write the question.")
    elif len(description) > 255:
        problems["description"] = _("Write at most %(limit)d characters.") % {"limit": 255}
    datatype = str(data.get("datatype") or "")
    if datatype not in AttributeDatatype.values:
        problems["datatype"] = _("Choose the type of answer.")
    hint = str(data.get("datatype_description") or "").strip()
    if len(hint) > 255:
        problems["datatype_description"] = _("Write at most %(limit)d characters.") % {"limit": 255}
    try:
        order = int(data.get("order") or 1)
        if not 0 <= order <= 32767:
            raise ValueError
    except (TypeError, ValueError):
        problems["order"] = _("Give a whole number from 0.")
        order = 1
    variable = bool(data.get("variable", True))
    required = bool(data.get("required", False)) and variable
    values = data.get("values") or []
    if isinstance(values, str):
        values = parse_values(values)
    values = [{"key": str(value["key"]).strip(), "name": str(value["name"]).strip()} for value in values]
    if datatype in LIST_DATATYPES:
        keys = [value["key"] for value in values]
        if not values:
            problems["values"] = _("A list needs its choices: one per line, key=name.")
        elif len(values) > VALUES_MAX:
            problems["values"] = _("At most %(count)d choices.") % {"count": VALUES_MAX}
        elif len(set(keys)) != len(keys):
            problems["values"] = _("Each choice needs its own key.")
        elif any(not key or len(key) > 40 or "," in key for key in keys):
            problems["values"] = _("Keys are 1–40 characters, without commas.")
        elif any(len(value["name"]) > 100 for value in values):
            problems["values"] = _("Names are at most 100 characters.")
    else:
        values = []
    if problems:
        raise ValidationFailed(fields=problems)
    return {
        "code": code,
        "description": description,
        "datatype": datatype,
        "datatype_description": hint,
        "required": required,
        "variable": variable,
        "order": order,
        "values": values,
    }


@transaction.atomic
def attribute_add(
    *, actor: Actor, category: CaseCategory, data: Mapping[str, Any], now: datetime | None = None
) -> CategoryAttribute:
    """Add a question to a category (``data``: code, description, datatype, datatype_description, required,
    variable, order, values)."""
    now = now or timezone.now()
    _require_configurer(actor)
    fields = _cleaned(category, data)
    attribute = CategoryAttribute.objects.create(category=category, created_at=now, updated_at=now, **fields)
    audit_record(
        actor=actor, action="case.attribute_add", target=attribute, changes={"category": category.code, **fields}
    )
    return attribute


@transaction.atomic
def attribute_change(
    *, actor: Actor, attribute: CategoryAttribute, data: Mapping[str, Any], now: datetime | None = None
) -> CategoryAttribute:
    """Change a question; answers already stored keep their values."""
    now = now or timezone.now()
    _require_configurer(actor)
    fields = _cleaned(attribute.category, data, exclude=attribute.pk)
    before = {name: getattr(attribute, name) for name in _FIELDS}
    changed = CategoryAttribute.objects.filter(pk=attribute.pk, is_active=True).update(updated_at=now, **fields)
    if not changed:
        raise NotFound()
    attribute.refresh_from_db()
    audit_record(actor=actor, action="case.attribute_change", target=attribute, changes=diff_fields(before, fields))
    return attribute


@transaction.atomic
def attribute_archive(*, actor: Actor, attribute: CategoryAttribute, now: datetime | None = None) -> CategoryAttribute:
    """Stop asking a question (kept, so the answers already given keep their question)."""
    now = now or timezone.now()
    _require_configurer(actor)
    if not CategoryAttribute.objects.filter(pk=attribute.pk, is_active=True).update(is_active=False, updated_at=now):
        raise NotFound()
    attribute.refresh_from_db()
    audit_record(actor=actor, action="case.attribute_archive", target=attribute, changes={"code": attribute.code})
    return attribute


# ---------------------------------------------------------------- where the matter is (Open311 lat/long)


def clean_coordinates(latitude: Any, longitude: Any) -> tuple[Decimal | None, Decimal | None]:
    """WGS84 latitude and longitude as stored (6 decimals, about 0.1 m), both or neither; ValidationFailed else."""
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    try:
        lat = Decimal(str(latitude).strip()).quantize(Decimal("0.000001"))
        long = Decimal(str(longitude).strip()).quantize(Decimal("0.000001"))
        if not (lat.is_finite() and long.is_finite()):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise ValidationFailed(fields={"lat": _("Give both latitude and longitude as numbers (WGS84).")}) from None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise ValidationFailed(fields={"lat": _("Latitude or longitude is out of range.")})
    return lat, long
