"""Every row lock the red points take (``core.locks``: own table only, primary-key order).

A lock through a join (``select_related``) locks the points row alone, never the community's ``places_place`` row
or the account behind it, so unrelated claims, publications and orders in one community do not wait on each other.
Call these inside ``transaction.atomic``.

The ledger's postings and the claim lock on PostgreSQL are prepared statements of their own (``ledger._posting_sql``
locks holder accounts ``ORDER BY id FOR UPDATE`` from the accounts table alone; ``claims._claim_lock_sql`` says
``FOR UPDATE OF c``): the same two rules, written in SQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet

from gongzhi.core.locks import lock_row, locked
from gongzhi.places.models import Place

from .models import Adjustment, Claim, Objection, PointsAccount, Publication, Selection


def lock_account(account_id: int) -> PointsAccount:
    """A holder account with its community (claims on one account queue here: caps and duplicates see them all)."""
    return lock_row(PointsAccount.objects.select_related("community"), account_id)


def lock_claim(claims: QuerySet[Claim], claim_id: int) -> Claim:
    """One claim of ``claims`` (which may join its item, community and account and annotate), its row alone."""
    return lock_row(claims, claim_id)


def lock_adjustment(adjustment_id: int) -> Adjustment:
    return lock_row(Adjustment.objects.select_related("account"), adjustment_id)


def lock_publication(publication_id: int) -> Publication:
    return lock_row(Publication.objects.all(), publication_id)


def lock_or_create_publication(*, community: Place, month: date) -> tuple[Publication, bool]:
    """The community's publication of ``month``, locked; made (state open) when there is none yet."""
    return locked(Publication.objects.all()).get_or_create(community=community, month=month)


def lock_objection(objection_id: int) -> Objection:
    """An objection with its publication and community read in the same query; only the objection is locked."""
    return lock_row(Objection.objects.select_related("publication__community"), objection_id)


def lock_selection(selection_id: int) -> Selection:
    return lock_row(Selection.objects.all(), selection_id)


def lock_or_create_selection(
    *, community: Place, year: int, kind: str, defaults: dict[str, Any]
) -> tuple[Selection, bool]:
    """The community's selection of ``kind`` for ``year``, locked; made (a draft) with ``defaults`` when missing."""
    return locked(Selection.objects.all()).get_or_create(community=community, year=year, kind=kind, defaults=defaults)
