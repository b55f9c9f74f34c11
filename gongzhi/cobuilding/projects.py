"""State changes of micro-projects (微实事): claim, release, progress with photos, completion, the community's
confirmation, residents' ratings and the organisation's points.

What it guarantees:

- a project is claimed by one organisation at a time: the project row is locked and moves open → claimed, and the
  database allows one open ``ProjectClaim`` per project (``projectclaim_one_open``); a second claim is refused
  with ``already_claimed``. Only an organisation with an agreement in force with the community may claim;
- progress and completion are reported only by a representative of the claiming organisation (``not_claimer``);
- the community (cobuilding.manage) confirms a reported project, or sends it back to ``claimed``;
- residents living in the community rate a confirmed project once each, 1–5 stars (counters by ``F()``);
- points go to the organisation's account through ``points.services.claim_submit`` (one claim per project:
  the idempotency key ``cobuilding:project:<id>``), then are reviewed in the points review queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_authenticated
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.uploads import clean_photos
from gongzhi.people.models import Organisation
from gongzhi.people.selectors import account_households
from gongzhi.points.services import claim_submit, organisation_account

from .access import may_manage, represents, require_manage, require_representative
from .errors import CobuildingError
from .lists import agreement_in_force
from .locks import lock_project
from .models import ProgressPhoto, Project, ProjectClaim, ProjectProgress, ProjectRating

MAX_PROGRESS_PHOTOS = 9


def _audit(actor: Actor, action: str, project: Project, now: datetime, changes: dict | None = None) -> None:
    """The audit entry of a project's change; ``project`` is the caller's object (its place is loaded already)."""
    audit_record(
        actor=actor,
        action=action,
        target=project,
        place_path=project.place.path,
        changes=changes or {},
        occurred_at=now,
    )


def project_claim(
    *, actor: Actor, project: Project, organisation: Organisation, now: datetime | None = None
) -> Project:
    """The organisation (its representative acting) claims an open project. Refused: already_claimed when another
    holds it, no_agreement without an agreement in force, project_state when it is not open."""
    require_representative(actor, organisation.pk)
    now = now or timezone.now()
    if not agreement_in_force(organisation.pk, project.community_id):
        raise CobuildingError.NO_AGREEMENT()
    try:
        with transaction.atomic():
            locked = lock_project(project.pk)
            if locked.state == Project.State.CLAIMED or locked.claimer_id is not None:
                raise CobuildingError.ALREADY_CLAIMED()
            if locked.state != Project.State.OPEN:
                raise CobuildingError.PROJECT_STATE()
            ProjectClaim.objects.create(project=locked, organisation=organisation, claimed_by=actor, claimed_at=now)
            Project.objects.filter(pk=locked.pk).update(
                state=Project.State.CLAIMED, claimer=organisation, claimed_at=now
            )
            _audit(actor, "cobuilding.project_claim", project, now, {"organisation": organisation.pk})
    except IntegrityError:  # the open claim of another organisation won (SQLite has no row lock to wait on)
        raise CobuildingError.ALREADY_CLAIMED() from None
    project.refresh_from_db()
    return project


def project_release(*, actor: Actor, project: Project, now: datetime | None = None) -> Project:
    """The claiming organisation (or community staff) gives a claimed project back to the open list."""
    now = now or timezone.now()
    require_authenticated(actor)
    with transaction.atomic():
        locked = lock_project(project.pk)
        staff = may_manage(actor, project.place.path)
        if not staff and not represents(actor, locked.claimer_id):
            if locked.claimer_id is None:
                raise NotFound()
            raise CobuildingError.NOT_CLAIMER()
        if locked.state != Project.State.CLAIMED:
            raise CobuildingError.PROJECT_STATE()
        ProjectClaim.objects.filter(project=locked, state=ProjectClaim.State.OPEN).update(
            state=ProjectClaim.State.RELEASED, closed_at=now
        )
        Project.objects.filter(pk=locked.pk).update(state=Project.State.OPEN, claimer=None, claimed_at=None)
        _audit(actor, "cobuilding.project_release", project, now, {"organisation": locked.claimer_id})
    project.refresh_from_db()
    return project


def _require_claimer(actor: Actor, project: Project) -> None:
    require_authenticated(actor)
    if project.claimer_id is None or not represents(actor, project.claimer_id):
        raise CobuildingError.NOT_CLAIMER()


def project_progress(
    *,
    actor: Actor,
    project: Project,
    note: str,
    photos: Iterable[Any] = (),
    completed: bool = False,
    now: datetime | None = None,
) -> ProjectProgress:
    """A representative of the claiming organisation reports progress, with photos; ``completed`` reports the
    project done (claimed → reported). Refused with not_claimer for anyone else."""
    now = now or timezone.now()
    _require_claimer(actor, project)
    note = (note or "").strip()
    if not note or len(note) > 2000:
        raise ValidationFailed(fields={"note": _("Say what was done (at most 2000 characters).")})
    cleaned = clean_photos(list(photos or ()), field="photos", max_count=MAX_PROGRESS_PHOTOS)
    if completed and not cleaned:
        raise ValidationFailed(fields={"photos": _("Add at least one photo of the finished work.")})
    with transaction.atomic():
        locked = lock_project(project.pk)
        if locked.claimer_id is None or not represents(actor, locked.claimer_id):
            raise CobuildingError.NOT_CLAIMER()
        if locked.state != Project.State.CLAIMED:
            raise CobuildingError.PROJECT_STATE()
        progress = ProjectProgress.objects.create(
            project=locked,
            organisation_id=locked.claimer_id,
            note=note,
            is_completion=completed,
            reported_by=actor,
            reported_at=now,
        )
        for photo in cleaned:
            item = ProgressPhoto(progress=progress)
            item.image.save(photo.name, photo, save=False)
            item.save()
        if completed:
            Project.objects.filter(pk=locked.pk).update(state=Project.State.REPORTED, reported_at=now)
        _audit(actor, "cobuilding.project_progress", project, now, {"completed": completed, "photos": len(cleaned)})
    project.refresh_from_db()
    return progress


def project_confirm(*, actor: Actor, project: Project, accept: bool = True, now: datetime | None = None) -> Project:
    """The community confirms a project reported done (reported → confirmed; the claim is done), or sends it
    back to the claimer (reported → claimed) when ``accept`` is false."""
    require_manage(actor, project.place)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_project(project.pk)
        if locked.state != Project.State.REPORTED:
            raise CobuildingError.PROJECT_STATE()
        if accept:
            Project.objects.filter(pk=locked.pk).update(state=Project.State.CONFIRMED, confirmed_at=now)
            ProjectClaim.objects.filter(project=locked, state=ProjectClaim.State.OPEN).update(
                state=ProjectClaim.State.DONE, closed_at=now
            )
        else:
            Project.objects.filter(pk=locked.pk).update(state=Project.State.CLAIMED, reported_at=None)
        _audit(actor, "cobuilding.project_confirm", project, now, {"accepted": accept})
    project.refresh_from_db()
    return project


def project_cancel(*, actor: Actor, project: Project, now: datetime | None = None) -> Project:
    """Community staff take an open project off the list."""
    require_manage(actor, project.place)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_project(project.pk)
        if locked.state != Project.State.OPEN:
            raise CobuildingError.PROJECT_STATE()
        Project.objects.filter(pk=locked.pk).update(state=Project.State.CANCELLED)
        _audit(actor, "cobuilding.project_cancel", project, now)
    project.refresh_from_db()
    return project


def lives_in(actor: Any, project: Project, *, now: datetime) -> bool:
    if getattr(actor, "resident_id", None) is None:
        return False
    households = account_households(actor, today=timezone.localdate(now))
    return any(household.path.startswith(project.community.path) for household in households)


def project_rate(
    *, actor: Actor, project: Project, stars: int, comment: str = "", now: datetime | None = None
) -> ProjectRating:
    """A resident of the community rates a confirmed project once, 1–5 stars."""
    require_authenticated(actor)
    now = now or timezone.now()
    if not lives_in(actor, project, now=now):
        raise NotFound()
    if project.state != Project.State.CONFIRMED:
        raise CobuildingError.PROJECT_STATE()
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise ValidationFailed(fields={"stars": _("Give 1 to 5 stars.")})
    comment = (comment or "").strip()
    if len(comment) > 300:
        raise ValidationFailed(fields={"comment": _("At most 300 characters.")})
    if ProjectRating.objects.filter(project=project, rated_by=actor).exists():
        raise CobuildingError.ALREADY_RATED()
    try:
        with transaction.atomic():
            rating = ProjectRating.objects.create(
                project=project, rated_by=actor, stars=stars, comment=comment, rated_at=now
            )
            Project.objects.filter(pk=project.pk).update(
                rating_count=F("rating_count") + 1, rating_total=F("rating_total") + stars
            )
            _audit(actor, "cobuilding.project_rate", project, now, {"stars": stars})
    except IntegrityError:
        raise CobuildingError.ALREADY_RATED() from None
    project.refresh_from_db()
    return rating


def project_points_request(*, actor: Actor, project: Project, now: datetime | None = None) -> Project:
    """Claim the project's points for the organisation that did it, through the red points claims (reviewed in
    the points review queue): by its representative, or by community staff allowed to claim on its behalf (the
    points app checks that). Once per project; again returns the project as it is."""
    require_authenticated(actor)
    now = now or timezone.now()
    if not (represents(actor, project.claimer_id) or may_manage(actor, project.place.path)):
        raise NotFound()
    if project.state != Project.State.CONFIRMED or project.claimer is None:
        raise CobuildingError.PROJECT_STATE()
    if project.point_item is None:
        raise ValidationFailed(fields={"point_item": _("This project has no point item.")})
    if project.points_claim_id is not None:
        return project
    with transaction.atomic():
        locked = lock_project(project.pk)
        if locked.points_claim_id is not None:
            return locked
        account = organisation_account(project.claimer)
        assert project.confirmed_at is not None  # confirmed
        claim = claim_submit(
            actor=actor,
            account=account,
            item=project.point_item,
            service_date=timezone.localdate(project.confirmed_at),
            description=_("Micro-project: %(title)s") % {"title": project.title},
            source_type="cobuilding.project",
            source_id=str(project.pk),
            idempotency_key=f"cobuilding:project:{project.pk}",
            now=now,
        )
        Project.objects.filter(pk=locked.pk).update(points_claim_id=claim.pk)
        _audit(actor, "cobuilding.project_points_request", project, now, {"claim": claim.pk})
    project.refresh_from_db()
    return project
