"""Disputes (矛盾纠纷) and mediation: the dispute, its parties and the mediation sessions, to an agreement, a
referral, or no resolution."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place

from .base import choice_check
from .requests import Case
from .visits import HouseholdVisit


class DisputeKind(models.TextChoices):
    NEIGHBOUR = "neighbour", _("between neighbours")
    FAMILY = "family", _("family")
    PROPERTY_MANAGEMENT = "property_management", _("property management")
    LABOUR = "labour", _("labour")
    LAND_AND_HOUSING = "land_and_housing", _("land and housing")
    OTHER = "other", _("other")


class DisputeState(models.TextChoices):
    OPEN = "open", _("registered")
    MEDIATING = "mediating", _("being mediated")
    AGREEMENT = "agreement", _("agreement reached")
    REFERRED = "referred", _("referred")
    NOT_RESOLVED = "not_resolved", _("not resolved")


class Dispute(models.Model):
    """矛盾纠纷: a conflict between parties, mediated to an agreement, referred, or not resolved."""

    Kind = DisputeKind

    State = DisputeState

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    place = models.ForeignKey(Place, verbose_name=_("place"), on_delete=models.PROTECT, related_name="disputes")
    description = models.TextField(_("what it is about"))
    found_on = models.DateField(_("found on"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("registered by"), on_delete=models.PROTECT, related_name="+"
    )
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("mediator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mediated_disputes",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    agreement_text = models.TextField(_("agreement"), blank=True)
    referred_to = models.CharField(_("referred to"), max_length=150, blank=True)
    referred_to_organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = models.TextField(_("outcome note"), blank=True)
    source_case = models.ForeignKey(
        Case, verbose_name=_("from case"), null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    source_visit = models.ForeignKey(
        HouseholdVisit, verbose_name=_("from visit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-found_on", "-id"]
        indexes = [models.Index(fields=["state", "found_on"], name="dispute_state_idx")]
        constraints = [
            choice_check("kind", DisputeKind, "dispute_kind_valid"),
            choice_check("state", DisputeState, "dispute_state_valid"),
            models.CheckConstraint(
                condition=~Q(state="agreement") | ~Q(agreement_text=""), name="dispute_agreement_has_text"
            ),
            models.CheckConstraint(
                condition=~Q(state="referred") | ~Q(referred_to="") | Q(referred_to_organisation__isnull=False),
                name="dispute_referral_has_target",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "mediating"], closed_at__isnull=True)
                | (Q(state__in=["agreement", "referred", "not_resolved"]) & Q(closed_at__isnull=False)),
                name="dispute_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.found_on}"


class DisputeSide(models.TextChoices):
    APPLICANT = "applicant", _("applicant")
    RESPONDENT = "respondent", _("respondent")
    OTHER = "other", _("other party")


class DisputeParty(models.Model):
    """A party to a dispute: a registered resident, an organisation, or a person named in free text."""

    Side = DisputeSide

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    side = models.CharField(_("side"), max_length=16, choices=Side.choices)
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        constraints = [
            choice_check("side", DisputeSide, "disputeparty_side_valid"),
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(organisation__isnull=False) | ~Q(name=""),
                name="disputeparty_identified",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.resident_id or self.organisation_id)


class MediationSession(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    held_at = models.DateTimeField(_("held at"))
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("mediator"), on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(_("notes"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.held_at}"
