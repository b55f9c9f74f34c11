"""The red points' catalogue: categories, point items and their value versions, and each community's switches.

What it guarantees:

- categories are shared by the whole district, so only a catalogue manager at district level (or above) adds one;
  an item belongs to the district's catalogue or to one community's own, and codes are unique where they belong;
- an item's value is a list of versions by ``effective_from``: a new value applies from today on, never to days
  already past, so a claim keeps the value of the version in force on its service date (``item_value_on``);
- a community may switch any item of its catalogue off (and back on) for itself alone; ``items_available`` is what
  an account of a kind may claim there on a day.

Every state change is keyword-only with the acting account first, checks reach with ``gongzhi.core.access``, writes
in one transaction with its audit entry, and raises a ``DomainError`` (nothing written) when it refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place, PlaceKind

from .errors import PointsError
from .models import HOLDER_KINDS, CommunityItemSetting, PointCategory, PointItem, PointItemVersion

CODE_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _require_district_catalogue(actor: Actor) -> None:
    """Categories are shared by the whole district: only a catalogue manager at district level (or above)."""
    require_authenticated(actor)
    granted = reach(actor, Permission.CATALOGUE_MANAGE)
    if granted.everything:
        return
    districts = Place.objects.filter(kind=PlaceKind.DISTRICT).values_list("path", flat=True)
    if not any(path in granted.paths for path in districts):
        raise PermissionDenied()


@transaction.atomic
def category_create(*, actor: Actor, code: str, name: str, sort_order: int = 0) -> PointCategory:
    _require_district_catalogue(actor)
    code, name = (code or "").strip(), (name or "").strip()
    errors = {}
    if not code or not CODE_PATTERN.match(code) or len(code) > 40:
        errors["code"] = _("Use letters, digits, - and _ (at most 40).")
    if not name or len(name) > 60:
        errors["name"] = _("Enter a name of at most 60 characters.")
    if errors:
        raise ValidationFailed(fields=errors)
    if PointCategory.objects.filter(code=code).exists():
        raise PointsError.DUPLICATE_CODE(fields={"code": _("This code is already used.")})
    category = PointCategory.objects.create(code=code, name=name, sort_order=sort_order)
    audit_record(actor=actor, action="points.category_create", target=category, changes={"code": [None, code]})
    return category


def _item_errors(
    *,
    value: Any,
    account_kinds: Iterable[str],
    cap_per_day: Any,
    cap_per_month: Any,
) -> dict[str, str]:
    errors = {}
    if not _positive_int(value):
        errors["value"] = _("Enter a whole number of points greater than zero.")
    kinds = list(account_kinds or ())
    if not kinds or any(kind not in HOLDER_KINDS for kind in kinds):
        errors["account_kinds"] = _("Choose who may earn it: residents, party members, organisations, teams.")
    for name, cap in (("cap_per_day", cap_per_day), ("cap_per_month", cap_per_month)):
        if cap is not None and not _positive_int(cap):
            errors[name] = _("A cap is a whole number greater than zero, or empty for none.")
    if "cap_per_day" not in errors and cap_per_day is not None and cap_per_day > 1:
        # A second claim for the same item and service date is a duplicate (the database refuses it), so a daily
        # cap above one could never apply; say so rather than store a rule that silently means "once".
        errors["cap_per_day"] = _(
            "A second claim for the same item on the same day is a duplicate, so the daily cap can only be 1 "
            "(or empty)."
        )
    return errors


@transaction.atomic
def item_create(
    *,
    actor: Actor,
    owner: Place,
    category: PointCategory,
    code: str,
    name: str,
    value: int,
    effective_from: date,
    account_kinds: Iterable[str],
    evidence_required: bool = False,
    cap_per_day: int | None = None,
    cap_per_month: int | None = None,
    two_reviewers: bool = False,
    description: str = "",
) -> PointItem:
    """A catalogue item of the district (``owner`` a district) or a community's own (``owner`` a community)."""
    require_reach(actor, Permission.CATALOGUE_MANAGE, owner.path)
    code, name = (code or "").strip(), (name or "").strip()
    errors = _item_errors(
        value=value, account_kinds=account_kinds, cap_per_day=cap_per_day, cap_per_month=cap_per_month
    )
    if owner.kind not in (PlaceKind.DISTRICT, PlaceKind.COMMUNITY):
        errors["owner"] = _("Items belong to the district's catalogue or to a community's own.")
    if not code or not CODE_PATTERN.match(code) or len(code) > 60:
        errors["code"] = _("Use letters, digits, - and _ (at most 60).")
    if not name or len(name) > 120:
        errors["name"] = _("Enter a name of at most 120 characters.")
    if not category.is_active:
        errors["category"] = _("This category is no longer in use.")
    if errors:
        raise ValidationFailed(fields=errors)
    if PointItem.objects.filter(owner=owner, code=code).exists():
        raise PointsError.DUPLICATE_CODE(fields={"code": _("This code is already used here.")})
    item = PointItem.objects.create(
        category=category,
        code=code,
        name=name,
        description=description,
        owner=owner,
        account_kinds=[str(kind) for kind in account_kinds],
        evidence_required=bool(evidence_required),
        cap_per_day=cap_per_day,
        cap_per_month=cap_per_month,
        two_reviewers=bool(two_reviewers),
    )
    PointItemVersion.objects.create(
        item=item, value=value, effective_from=effective_from, reason=_("created"), changed_by=actor
    )
    audit_record(
        actor=actor,
        action="points.item_create",
        target=item,
        place_path=owner.path,
        changes={"code": [None, code], "value": [None, value], "effective_from": [None, effective_from.isoformat()]},
    )
    return item


@transaction.atomic
def item_value_change(
    *,
    actor: Actor,
    item: PointItem,
    value: int,
    effective_from: date,
    reason: str,
    now: datetime | None = None,
) -> PointItemVersion:
    """A new value from ``effective_from`` on (the monthly adjustment). Claims already made keep their value;
    a value can only change from today on, never for days already past."""
    now = now or timezone.now()
    require_reach(actor, Permission.CATALOGUE_MANAGE, item.owner.path)
    reason = (reason or "").strip()
    errors = {}
    if not _positive_int(value):
        errors["value"] = _("Enter a whole number of points greater than zero.")
    if not reason:
        errors["reason"] = _("Say why the value changes.")
    if effective_from < timezone.localdate(now):
        errors["effective_from"] = _("A value cannot change for days already past.")
    if errors:
        raise ValidationFailed(fields=errors)
    if PointItemVersion.objects.filter(item=item, effective_from=effective_from).exists():
        raise PointsError.VERSION_EXISTS(
            fields={"effective_from": _("Choose another day.")},
        )
    before = item_value_on(item, effective_from, required=False)
    version = PointItemVersion.objects.create(
        item=item,
        value=value,
        effective_from=effective_from,
        reason=reason[:255],
        changed_by=actor,
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="points.item_value_change",
        target=item,
        place_path=item.owner.path,
        changes={"value": [before.value if before else None, value], "effective_from": effective_from.isoformat()},
        occurred_at=now,
    )
    return version


@transaction.atomic
def item_set_enabled(
    *, actor: Actor, community: Place, item: PointItem, enabled: bool, now: datetime | None = None
) -> CommunityItemSetting:
    """A community switches an item of its catalogue (the district's or its own) off or back on for itself."""
    now = now or timezone.now()
    require_reach(actor, Permission.CATALOGUE_MANAGE, community.path)
    if community.kind != PlaceKind.COMMUNITY:
        raise ValidationFailed(fields={"community": _("Choose a community.")})
    if not community.path.startswith(item.owner.path):
        raise NotFound()
    setting, _created = CommunityItemSetting.objects.update_or_create(
        community=community,
        item=item,
        defaults={"enabled": bool(enabled), "changed_by": actor, "changed_at": now},
    )
    audit_record(
        actor=actor,
        action="points.item_enable" if enabled else "points.item_disable",
        target=item,
        place_path=community.path,
        occurred_at=now,
    )
    return setting


def item_value_on(item: PointItem, day: date, *, required: bool = True) -> PointItemVersion | None:
    """The version of ``item`` in force on ``day``; refuses (item_not_in_force) when none is, unless not required."""
    version = PointItemVersion.objects.filter(item=item, effective_from__lte=day).order_by("-effective_from").first()
    if version is None and required:
        raise PointsError.ITEM_NOT_IN_FORCE(
            fields={"service_date": _("The item was not in the catalogue on that day.")},
        )
    return version


def _catalogue_owners(community: Place) -> list[int]:
    """The district (and street) above the community, and the community itself."""
    return [*community.ancestor_ids, community.pk]


def items_available(community: Place, account_kind: str, day: date) -> list[PointItem]:
    """Items an account of ``account_kind`` in ``community`` may claim for ``day``: the district's items the
    community has not switched off, and the community's own; each with ``.version`` (the value in force)."""
    disabled = CommunityItemSetting.objects.filter(community=community, enabled=False).values("item_id")
    items = list(
        PointItem.objects.filter(owner_id__in=_catalogue_owners(community), is_active=True, category__is_active=True)
        .exclude(pk__in=disabled)
        .select_related("category")
    )
    versions: dict[int, PointItemVersion] = {}
    for version in PointItemVersion.objects.filter(item__in=items, effective_from__lte=day).order_by(
        "item_id", "effective_from"
    ):
        versions[version.item_id] = version  # the last one per item is in force
    available = []
    for item in items:
        if account_kind in item.account_kinds and item.pk in versions:
            item.version = versions[item.pk]  # type: ignore[attr-defined]  # read by pages and the API
            available.append(item)
    return available


def _item_available_for(item: PointItem, community: Place) -> bool:
    if not item.is_active or item.owner_id not in _catalogue_owners(community):
        return False
    return not CommunityItemSetting.objects.filter(community=community, item=item, enabled=False).exists()
