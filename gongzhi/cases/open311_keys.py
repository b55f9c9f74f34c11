"""Open311 API keys for outside systems (the 12345 hotline, a city platform): issue, list, revoke.

A key is issued to a named system for a place: the requests it files are recorded by ``account`` (a service
account holding ``case.intake`` on that place) at that place or under it, and its reads see their descriptions.
Only a SHA-256 digest is stored; the key itself is returned once, by ``open311_key_issue``, and never again
(the lists show its first characters only).

Staff holding ``case.configure`` issue and revoke keys for places in their reach (the staff page in
``open311_views.py``); operators use ``gongzhi open311_key issue|list|revoke`` on the server, where the actor is
the command line (``actor=None``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import reach, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place

from .models import Open311Key

NAME_MAX = 100
COMMAND_LINE = "command:open311_key"


def key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_key(*, name: str, place: Place, account: Any, now: datetime | None = None) -> tuple[Open311Key, str]:
    """Create the key row (no checks, no audit: ``open311_key_issue`` is the service); returns it and the raw key."""
    raw = secrets.token_urlsafe(32)
    key = Open311Key.objects.create(
        name=name,
        place=place,
        account=account,
        digest=key_digest(raw),
        prefix=raw[:8],
        created_at=now or timezone.now(),
    )
    return key, raw


def masked(key: Open311Key) -> str:
    """What lists show of a key: its first characters."""
    return f"{key.prefix}…"


# ---------------------------------------------------------------- reading


def key_queryset(actor: Actor | None) -> QuerySet[Open311Key]:
    """Keys issued for places in the actor's ``case.configure`` reach (all of them on the command line)."""
    queryset = Open311Key.objects.select_related("place", "account")
    if actor is None:
        return queryset
    configure = reach(actor, Permission.CASE_CONFIGURE)
    if configure.is_empty:
        return queryset.none()
    return queryset.filter(configure.q("place__path"))


def access_key(actor: Actor | None, key_id: Any) -> Open311Key:
    try:
        key_id = int(key_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    key = key_queryset(actor).filter(pk=key_id).first()
    if key is None:
        raise NotFound()
    return key


def key_places(actor: Actor) -> QuerySet[Place]:
    """Places the actor may issue keys for: the districts, streets and communities in their reach."""
    from gongzhi.places.models import PlaceKind

    configure = reach(actor, Permission.CASE_CONFIGURE)
    if configure.is_empty:
        return Place.objects.none()
    kinds = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY)
    return Place.objects.filter(configure.q("path"), kind__in=kinds, is_active=True).order_by("path")


# ---------------------------------------------------------------- changes


def _label(actor: Actor | None) -> str:
    return COMMAND_LINE if actor is None else ""


@transaction.atomic
def open311_key_issue(
    *, actor: Actor | None, name: str, place: Place | None, account: Any, now: datetime | None = None
) -> tuple[Open311Key, str]:
    """Issue a key to the outside system ``name`` filing requests under ``place`` as ``account``.

    Returns the key row and the key itself, which is shown once and never stored. Every problem is reported at
    once (ValidationFailed naming the fields); a place out of the actor's reach is NotFound.
    """
    now = now or timezone.now()
    name = (name or "").strip()
    problems: dict[str, str] = {}
    if not name:
        problems["name"] = _("Name the outside system.")
    elif len(name) > NAME_MAX:
        problems["name"] = _("Write at most %(limit)d characters.") % {"limit": NAME_MAX}
    if place is None or not place.is_active:
        problems["place"] = _("Choose the place its requests are filed under.")
    elif actor is not None:
        require_reach(actor, Permission.CASE_CONFIGURE, place.path)
    if account is None or not account.is_active:
        problems["account"] = _("Give the username of an active service account.")
    elif place is not None and place.is_active and not reach(account, Permission.CASE_INTAKE).covers(place.path):
        problems["account"] = _(
            "%(account)s holds no role that records requests (case.intake) at %(place)s: grant it one first."
        ) % {"account": account.get_username(), "place": place.name}
    if problems or place is None:
        raise ValidationFailed(fields=problems)
    key, raw = issue_key(name=name, place=place, account=account, now=now)
    audit_record(
        actor=actor,
        actor_label=_label(actor),
        action="open311.key_issue",
        target=key,
        place_path=place.path,
        changes={"name": name, "place": place.pk, "account": account.pk, "prefix": key.prefix},
        occurred_at=now,
    )
    return key, raw


@transaction.atomic
def open311_key_revoke(*, actor: Actor | None, key: Open311Key, now: datetime | None = None) -> Open311Key:
    """Revoke a key: requests with it are refused from now on. Revoking twice is refused (nothing to do)."""
    now = now or timezone.now()
    key = access_key(actor, key.pk)
    if not Open311Key.objects.filter(pk=key.pk, is_active=True).update(is_active=False, revoked_at=now):
        raise ValidationFailed(fields={"key": _("This key is already revoked.")})
    key.refresh_from_db()
    audit_record(
        actor=actor,
        actor_label=_label(actor),
        action="open311.key_revoke",
        target=key,
        place_path=key.place.path,
        changes={"is_active": [True, False], "prefix": key.prefix},
        occurred_at=now,
    )
    return key
