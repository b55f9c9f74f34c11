"""People and organisations: accounts, residents, party membership, resident organisations, roles on places."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.roles import Role
from gongzhi.places.models import Place


class Account(AbstractUser):
    """A login. Linked to a resident record when the person lives in the district."""

    resident = models.OneToOneField(
        "people.Resident",
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    failed_login_count = models.PositiveIntegerField(_("failed logins"), default=0)
    first_failed_login_at = models.DateTimeField(_("first failed login"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    preferred_language = models.CharField(_("language"), max_length=10, blank=True)
    elder_mode = models.BooleanField(_("elder-friendly mode"), default=False)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def label(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Gender(models.TextChoices):
    MALE = "male", _("male")
    FEMALE = "female", _("female")


class Relation(models.TextChoices):
    HOUSEHOLDER = "householder", _("householder")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    GRANDCHILD = "grandchild", _("grandchild")
    GRANDPARENT = "grandparent", _("grandparent")
    SIBLING = "sibling", _("sibling")
    TENANT = "tenant", _("tenant")
    OTHER = "other", _("other")


class ResidentTagCode(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("elderly living alone")
    DISABLED = "disabled", _("disabled")
    LOW_INCOME = "low_income", _("low-income")
    VETERAN = "veteran", _("veteran")
    LEFT_BEHIND_CHILD = "left_behind_child", _("left-behind child")
    SERIOUS_ILLNESS = "serious_illness", _("serious illness")
    FLOATING = "floating", _("floating population")


class Resident(models.Model):
    """Anyone registered in a household. The ID card number is stored encrypted; lists show the masked form."""

    name = models.CharField(_("name"), max_length=50, db_index=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    id_card_ciphertext = models.TextField(_("ID card number (encrypted)"), blank=True, editable=False)
    id_card_digest = models.CharField(max_length=64, null=True, blank=True, editable=False)
    id_card_masked = models.CharField(_("ID card number"), max_length=32, blank=True, editable=False)
    household = models.ForeignKey(
        Place,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
        limit_choices_to={"kind": "household"},
    )
    relation = models.CharField(_("relation to householder"), max_length=16, choices=Relation.choices, blank=True)
    is_active = models.BooleanField(_("registered"), default=True)
    # When the person left (moved out, died): the retention job anonymises them a configured time after it.
    left_on = models.DateField(_("left on"), null=True, blank=True)
    # Set once by people.anonymise.resident_anonymise; the personal fields are blank from then on.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_card_digest"],
                condition=Q(id_card_digest__isnull=False),
                name="resident_unique_id_card",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ResidentTag(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="tags")
    code = models.CharField(_("tag"), max_length=32, choices=ResidentTagCode.choices)

    class Meta:
        verbose_name = _("resident tag")
        verbose_name_plural = _("resident tags")
        constraints = [models.UniqueConstraint(fields=["resident", "code"], name="resident_tag_unique")]
        indexes = [models.Index(fields=["code", "resident"], name="resident_tag_code_idx")]

    def __str__(self) -> str:
        return self.get_code_display()


class OrganisationKind(models.TextChoices):
    AGENCY = "agency", _("agency")
    ENTERPRISE = "enterprise", _("enterprise")
    SCHOOL = "school", _("school")
    SOCIAL_ORGANISATION = "social_organisation", _("social organisation")
    MERCHANT = "merchant", _("merchant")
    OTHER = "other", _("other")


class Organisation(models.Model):
    """A resident organisation (驻区单位): agency, enterprise, school, social organisation, or a merchant."""

    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=150)
    credit_code = models.CharField(_("unified social credit code"), max_length=32, blank=True)
    place = models.ForeignKey(
        Place, verbose_name=_("located in"), on_delete=models.PROTECT, related_name="organisations"
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    contact_name = models.CharField(_("contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    supervising_department = models.CharField(_("supervising department"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["place", "name"], name="organisation_unique_name_in_place"),
        ]

    def __str__(self) -> str:
        return self.name


class PartyOrganisationKind(models.TextChoices):
    COMMITTEE = "committee", _("party committee")
    BRANCH = "branch", _("party branch")
    GROUP = "group", _("building party group")
    HOUSEHOLD_LEAD = "household_lead", _("party household lead")


PARTY_ALLOWED_PARENTS: dict[str, set[str | None]] = {
    PartyOrganisationKind.COMMITTEE: {None},
    PartyOrganisationKind.BRANCH: {PartyOrganisationKind.COMMITTEE},
    PartyOrganisationKind.GROUP: {PartyOrganisationKind.BRANCH},
    PartyOrganisationKind.HOUSEHOLD_LEAD: {PartyOrganisationKind.GROUP, PartyOrganisationKind.BRANCH},
}


class PartyOrganisation(models.Model):
    """The four-level party tree that shadows the places: committee → branch → building group → household lead.

    Each node is linked to the place it serves (community, grid or compound, building, household).
    """

    kind = models.CharField(_("kind"), max_length=16, choices=PartyOrganisationKind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=150)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("path"), max_length=255, editable=False, default="")
    place = models.ForeignKey(
        Place, verbose_name=_("place served"), on_delete=models.PROTECT, related_name="party_organisations"
    )
    leader = models.ForeignKey(
        Resident,
        verbose_name=_("secretary / lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("party organisation")
        verbose_name_plural = _("party organisations")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["path"], name="party_path_idx"),
            models.Index(fields=["path"], name="party_path_pattern_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name


class PartyMembershipEndReason(models.TextChoices):
    TRANSFERRED_OUT = "transferred_out", _("membership transferred to another party organisation")
    DECEASED = "deceased", _("deceased")
    ENTERED_IN_ERROR = "entered_in_error", _("entered by mistake")
    OTHER = "other", _("other reason")


class PartyMembership(models.Model):
    """A resident's party membership: the party organisation they belong to (a branch, a building group or a
    household lead of their community), when they joined, in service or retired, and for in-service members their
    employer and the employer's party organisation (where their membership is held; they register at home too).

    A membership is ended, never deleted (``ended_on``, ``end_reason``); registering the resident again reopens it.
    """

    resident = models.OneToOneField(Resident, on_delete=models.PROTECT, related_name="party_membership")
    organisation = models.ForeignKey(
        PartyOrganisation, verbose_name=_("party organisation"), on_delete=models.PROTECT, related_name="members"
    )
    joined_on = models.DateField(_("joined the party on"), null=True, blank=True)
    is_in_service = models.BooleanField(_("in-service party member"), default=False)
    employer = models.ForeignKey(
        Organisation,
        verbose_name=_("employer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employed_party_members",
    )
    employer_name = models.CharField(_("employer (free text)"), max_length=150, blank=True)
    employer_party_organisation = models.CharField(_("employer's party organisation"), max_length=150, blank=True)
    registered_at_home_on = models.DateField(_("dual registration date"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(
        _("reason for ending"), max_length=32, choices=PartyMembershipEndReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("party membership")
        verbose_name_plural = _("party memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(is_active=False),
                name="party_membership_ended_is_inactive",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(joined_on__isnull=True) | Q(ended_on__gte=models.F("joined_on")),
                name="party_membership_ends_after_joining",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} @ {self.organisation_id}"

    @property
    def employer_label(self) -> str:
        """The employer's name: the linked organisation's, else the name as written."""
        return self.employer.name if self.employer_id and self.employer else self.employer_name


class RoleAssignmentQuerySet(models.QuerySet):
    def current(self, *, on: datetime.date, active_accounts: bool = True) -> RoleAssignmentQuerySet:
        """Assignments in force on the day ``on``: started on or before it, not ended before it.

        With ``active_accounts`` (the default) an assignment of a deactivated account does not count: a person
        who left holds no role even if nobody ended it. This is the one definition of "holds this role today".
        """
        queryset = self.filter(starts_on__lte=on).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        if active_accounts:
            queryset = queryset.filter(account__is_active=True)
        return queryset

    def current_or_future(self, *, on: datetime.date) -> RoleAssignmentQuerySet:
        """Assignments not ended before ``on`` (including those that start later), for showing a person's roles."""
        return self.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))


class RoleAssignment(models.Model):
    """A role held by an account on a place (and, for clerks and representatives, for an organisation)."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    place = models.ForeignKey(Place, verbose_name=_("place"), on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    starts_on = models.DateField(_("from"), default=timezone.localdate)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["account_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "role", "place"],
                condition=Q(ends_on__isnull=True),
                name="role_unique_open_assignment",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="role_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.role} @ {self.place_id}"


class ApiToken(models.Model):
    """A bearer token for the API. Only a digest is stored; the token itself is shown once."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.account_id})"


class TwoFactorDevice(models.Model):
    """A staff member's authenticator app (TOTP, RFC 6238): the shared secret, encrypted like ID card numbers.

    ``confirmed_at`` is empty while being set up (the person has scanned the code but not typed a code back).
    ``last_step`` is the last time step accepted, so a code can be used once only (a replayed code is refused).
    """

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor")
    secret_ciphertext = models.TextField(editable=False)
    confirmed_at = models.DateTimeField(_("turned on at"), null=True, blank=True)
    last_step = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return f"{self.account_id} {'on' if self.confirmed_at else 'set-up'}"


class RecoveryCode(models.Model):
    """A one-time code for when the phone is lost; only its SHA-256 digest is stored."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [models.UniqueConstraint(fields=["account", "digest"], name="recoverycode_unique_per_account")]

    def __str__(self) -> str:
        return f"{self.account_id} {'used' if self.used_at else 'unused'}"
