"""Red points: catalogue (versioned), accounts, the append-only ledger, claims and their review, monthly
publication with objections, and the annual selection.

Money rules (shared/design.md rule 4): every change of a balance is a ledger transfer written in the same
transaction; transfers and their entries are never updated or deleted (corrections are reversing transfers);
holder balances cannot go negative (a database constraint); every transfer carries a unique idempotency key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gongzhi.people.models import Organisation, Resident
from gongzhi.places.models import Place


class AccountKind(models.TextChoices):
    RESIDENT = "resident", _("resident")
    PARTY_MEMBER = "party_member", _("party member / cadre")
    ORGANISATION = "organisation", _("resident organisation")
    VOLUNTEER_TEAM = "volunteer_team", _("volunteer team")
    SYSTEM = "system", _("system")


HOLDER_KINDS = [AccountKind.RESIDENT, AccountKind.PARTY_MEMBER, AccountKind.ORGANISATION, AccountKind.VOLUNTEER_TEAM]


# ---------------------------------------------------------------- catalogue


class PointCategory(models.Model):
    """理论宣讲、平安创建、文明实践、爱心帮扶、共驻共建 …"""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("point category")
        verbose_name_plural = _("point categories")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class PointItem(models.Model):
    """A catalogue entry a claim refers to. Its value lives in versions with effective dates.

    ``owner`` is the place whose catalogue it belongs to: the district's catalogue, or a community's own items
    added on top of it.
    """

    category = models.ForeignKey(
        PointCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="items"
    )
    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(Place, verbose_name=_("catalogue of"), on_delete=models.PROTECT, related_name="+")
    account_kinds = models.JSONField(
        _("who may earn it"), default=list, help_text=_("Kinds of account that may earn this item.")
    )
    evidence_required = models.BooleanField(_("evidence required"), default=False)
    cap_per_day = models.PositiveIntegerField(_("cap per account per day"), null=True, blank=True)
    cap_per_month = models.PositiveIntegerField(_("cap per account per month"), null=True, blank=True)
    two_reviewers = models.BooleanField(_("needs two reviewers"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("point item")
        verbose_name_plural = _("point items")
        ordering = ["category__sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["owner", "code"], name="pointitem_unique_code_per_owner")]

    def __str__(self) -> str:
        return self.name


class PointItemVersion(models.Model):
    """The value of an item from a date on. A claim keeps the value of the version in force on its service date."""

    item = models.ForeignKey(PointItem, on_delete=models.PROTECT, related_name="versions")
    value = models.PositiveIntegerField(_("points"))
    effective_from = models.DateField(_("effective from"))
    reason = models.CharField(_("reason for the change"), max_length=255, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("point value version")
        verbose_name_plural = _("point value versions")
        ordering = ["item_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["item", "effective_from"], name="pointitemversion_one_per_date"),
            models.CheckConstraint(condition=Q(value__gt=0), name="pointitemversion_value_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.value} @ {self.effective_from}"


class CommunityItemSetting(models.Model):
    """A community switching a district item off (or back on) for itself."""

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(PointItem, on_delete=models.PROTECT, related_name="community_settings")
    enabled = models.BooleanField(_("enabled"), default=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("community item setting")
        verbose_name_plural = _("community item settings")
        constraints = [models.UniqueConstraint(fields=["community", "item"], name="communityitem_unique")]

    def __str__(self) -> str:
        return f"{self.community_id} {self.item_id} {self.enabled}"


# ---------------------------------------------------------------- accounts and ledger


class PointsAccount(models.Model):
    """A points account of a person or an organisation, or a system account (issuance, spent, held).

    ``balance`` is spendable; ``held`` is reserved by open redemptions; ``earned_total`` counts for rankings and
    evaluation and only reversals lower it. All three change only through ledger transfers.
    ``place_path`` is the home place's path (household for people, location for organisations), so rankings
    and scopes are one indexed range like every other subtree query.
    """

    # Every index on this table is paid on each posting that is not a HOT update, so each one earns its place:
    # kind is led by the rank index, resident and organisation by their unique constraints, the path by the
    # pattern index (a plain index on SQLite, which ignores operator classes).
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices)
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="points_accounts", db_index=False
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="points_accounts", db_index=False
    )
    community = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    place_path = models.CharField(_("place path"), max_length=255, blank=True)
    system_code = models.CharField(_("system account"), max_length=40, blank=True)
    display_name = models.CharField(_("name"), max_length=150)
    balance = models.BigIntegerField(_("balance"), default=0)
    held = models.BigIntegerField(_("held"), default=0)
    earned_total = models.BigIntegerField(_("earned in all"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            # Holders never go below zero; system accounts (issuance) are the other side of every credit.
            models.CheckConstraint(
                condition=Q(kind=AccountKind.SYSTEM) | Q(balance__gte=0, held__gte=0, earned_total__gte=0),
                name="pointsaccount_holder_not_negative",
            ),
            models.UniqueConstraint(
                fields=["resident", "kind"],
                condition=Q(resident__isnull=False),
                name="pointsaccount_one_per_resident_kind",
            ),
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=Q(organisation__isnull=False),
                name="pointsaccount_one_per_organisation_kind",
            ),
            models.UniqueConstraint(
                fields=["system_code"], condition=~Q(system_code=""), name="pointsaccount_unique_system_code"
            ),
        ]
        indexes = [
            models.Index(
                fields=["place_path"], name="pointsaccount_path_pattern_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["kind", "-earned_total", "id"], name="pointsaccount_rank_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name


class TransferKind(models.TextChoices):
    AWARD = "award", _("points awarded for a claim")
    ADJUSTMENT = "adjustment", _("manual adjustment")
    REVERSAL = "reversal", _("reversal")
    HOLD = "hold", _("held for a redemption")
    RELEASE = "release", _("hold released")
    CAPTURE = "capture", _("redemption completed")
    EXPIRY = "expiry", _("expiry")


class Transfer(models.Model):
    """One ledger posting: two or more entries that sum to zero. Never updated, never deleted."""

    kind = models.CharField(_("kind"), max_length=16, choices=TransferKind.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120)
    source_type = models.CharField(_("source"), max_length=40, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by", verbose_name=_("reverses")
    )
    # Not indexed: who posted what is asked of the audit log, which the posting's action writes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    effective_date = models.DateField(_("effective date"), default=timezone.localdate)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")
        ordering = ["-id"]
        # A constraint rather than unique=True: PostgreSQL then keeps one index for the key, not a second
        # pattern-ops copy that no query uses. The posting's ON CONFLICT names this column.
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="transfer_unique_idempotency_key")]
        indexes = [models.Index(fields=["source_type", "source_id"], name="transfer_source_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class Entry(models.Model):
    """One leg of a transfer. ``amount`` is signed; ``bucket`` says which of the account's figures it moves."""

    class Bucket(models.TextChoices):
        BALANCE = "balance", _("balance")
        HELD = "held", _("held")

    # No foreign-key constraints in the database, on purpose (migration 0007): their per-row checks at COMMIT cost
    # about a tenth of a posting's server time, and the one on the account took a share lock on the issuance row
    # for every award in the district. What they guaranteed still holds: the posting statement is the only writer
    # of entries and checks, in the same statement, that every account exists and inserts the transfer it names;
    # the database refuses to delete (or renumber) accounts and transfers (triggers); ``ledger_check`` reports
    # any entry whose transfer or account is missing.
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries", db_constraint=False)
    # Indexed by entry_account_idx (account, transfer), which serves every lookup by account.
    account = models.ForeignKey(
        PointsAccount, on_delete=models.PROTECT, related_name="entries", db_index=False, db_constraint=False
    )
    bucket = models.CharField(max_length=8, choices=Bucket.choices, default=Bucket.BALANCE)
    amount = models.BigIntegerField(_("amount"))
    counts_as_earned = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero")]
        indexes = [models.Index(fields=["account", "transfer"], name="entry_account_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"


# ---------------------------------------------------------------- claims and review


class ClaimState(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    RETURNED = "returned", _("returned for more information")
    APPROVED = "approved", _("approved")
    # Contexts: a claim "rejected" reads 未通过 in Chinese, a request 已驳回; shared words need their own entries.
    REJECTED = "rejected", pgettext_lazy("points claim", "rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("points claim", "withdrawn")
    REVERSED = "reversed", _("reversed")


OPEN_CLAIM_STATES = [ClaimState.SUBMITTED, ClaimState.RETURNED, ClaimState.APPROVED]


class Claim(models.Model):
    """A request to credit points for one piece of service (一事一记录)."""

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="claims")
    item = models.ForeignKey(PointItem, on_delete=models.PROTECT, related_name="claims")
    item_version = models.ForeignKey(PointItemVersion, on_delete=models.PROTECT, related_name="claims")
    value = models.PositiveIntegerField(_("points"))
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("community"))
    service_date = models.DateField(_("service date"))
    description = models.TextField(_("what was done"), blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ClaimState.choices, default=ClaimState.SUBMITTED, db_index=True
    )
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf = models.BooleanField(_("recorded by staff"), default=False)
    source_type = models.CharField(
        _("source"),
        max_length=40,
        blank=True,
        help_text=_("activity, wish, case … when another module created the claim"),
    )
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    review_week = models.CharField(_("review week"), max_length=10, db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transfer = models.OneToOneField(Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="claim")

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # The same service cannot be claimed twice while a claim for it is open or approved.
            models.UniqueConstraint(
                fields=["account", "item", "service_date"],
                condition=Q(state__in=["submitted", "returned", "approved"]),
                name="claim_no_duplicate_open",
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="claim_value_positive"),
        ]
        indexes = [models.Index(fields=["community", "state", "review_week"], name="claim_queue_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.item_id} {self.service_date}"


class ClaimPhoto(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to="claims/%Y/%m/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("claim photo")
        verbose_name_plural = _("claim photos")

    def __str__(self) -> str:
        return self.image.name


class ClaimDecision(models.Model):
    """Every step of a claim's review, append-only: who decided what, when, and why."""

    class Decision(models.TextChoices):
        SUBMIT = "submit", _("submitted")
        RESUBMIT = "resubmit", _("resubmitted")
        FIRST_APPROVAL = "first_approval", _("first approval")
        APPROVE = "approve", _("approved")
        REJECT = "reject", pgettext_lazy("points claim", "rejected")
        RETURN = "return", _("returned")
        WITHDRAW = "withdraw", pgettext_lazy("points claim", "withdrawn")
        REVERSE = "reverse", _("reversed")

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    decided_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim decision")
        verbose_name_plural = _("claim decisions")
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.decision}"


class Adjustment(models.Model):
    """A manual adjustment: proposed with a reason, posted only when a second person approves it."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        APPROVED = "approved", _("approved and posted")
        REFUSED = "refused", _("refused")

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="adjustments")
    amount = models.BigIntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=255)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    transfer = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustment"
    )

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_not_zero"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")), name="adjustment_second_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"


# ---------------------------------------------------------------- monthly publication and objections


class Publication(models.Model):
    """A community's month of approved points, published (一月一公示), open to objections, then locked."""

    class State(models.TextChoices):
        OPEN = "open", _("month open")
        PUBLISHED = "published", _("published, objections open")
        LOCKED = "locked", _("locked")

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+", verbose_name=_("community"))
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    objections_until = models.DateTimeField(_("objections until"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("monthly publication")
        verbose_name_plural = _("monthly publications")
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["community", "month"], name="publication_one_per_month")]

    def __str__(self) -> str:
        return f"{self.community_id} {self.month:%Y-%m}"


class PublicationLine(models.Model):
    """One account's approved points in a published month, frozen at publication (names masked for the public)."""

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="+")
    masked_name = models.CharField(_("name"), max_length=150)
    account_kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices)
    points = models.BigIntegerField(_("points"))
    claims = models.PositiveIntegerField(_("claims"))

    class Meta:
        verbose_name = _("publication line")
        verbose_name_plural = _("publication lines")
        ordering = ["-points", "id"]
        constraints = [models.UniqueConstraint(fields=["publication", "account"], name="publicationline_unique")]

    def __str__(self) -> str:
        return f"{self.masked_name} {self.points}"


class Objection(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("open")
        UPHELD = "upheld", _("upheld")
        DISMISSED = "dismissed", _("dismissed")

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="objections")
    line = models.ForeignKey(
        PublicationLine, null=True, blank=True, on_delete=models.PROTECT, related_name="objections"
    )
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="objections")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("objection"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("decision"), blank=True)
    reversal = models.OneToOneField(Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.state}"


# ---------------------------------------------------------------- annual selection


class Selection(models.Model):
    """A community's yearly recognition (一年一评选): 积分之星, 社区好邻居 …"""

    class Kind(models.TextChoices):
        POINTS_STAR = "points_star", _("points star")
        GOOD_NEIGHBOUR = "good_neighbour", _("good neighbour")

    class State(models.TextChoices):
        DRAFT = "draft", _("candidates proposed")
        CONFIRMED = "confirmed", _("confirmed by the committee")
        PUBLISHED = "published", _("published")

    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    places_available = models.PositiveSmallIntegerField(_("how many are selected"), default=10)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("annual selection")
        verbose_name_plural = _("annual selections")
        constraints = [models.UniqueConstraint(fields=["community", "year", "kind"], name="selection_unique")]

    def __str__(self) -> str:
        return f"{self.community_id} {self.year} {self.kind}"


class SelectionCandidate(models.Model):
    selection = models.ForeignKey(Selection, on_delete=models.CASCADE, related_name="candidates")
    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField(_("rank"))
    points = models.BigIntegerField(_("points in the year"))
    selected = models.BooleanField(_("selected"), default=False)

    class Meta:
        verbose_name = _("candidate")
        verbose_name_plural = _("candidates")
        ordering = ["rank"]
        constraints = [models.UniqueConstraint(fields=["selection", "account"], name="candidate_unique")]

    def __str__(self) -> str:
        return f"{self.selection_id} #{self.rank}"


# ---------------------------------------------------------------- rankings


class RankBucket(models.Model):
    """How many accounts of a kind in a large scope (a district or a street) had each all-time score.

    Refreshed by the job ``points.refresh_rankings`` as of ``taken_at``; "my rank" reads one bucket (an index
    lookup) and corrects it with the few accounts whose earned points moved since, so the answer is exact and
    does not count hundreds of thousands of index entries (see gongzhi/points/rankings.py). ``kind`` "" stands
    for every kind of holder account; ``above`` counts the accounts with a higher score, ``total`` all of them.
    Derived data: rebuilt, never edited by hand.
    """

    scope = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, blank=True)
    score = models.BigIntegerField()
    accounts = models.PositiveIntegerField()
    above = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    taken_at = models.DateTimeField()
    max_account_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("ranking bucket")
        verbose_name_plural = _("ranking buckets")
        constraints = [models.UniqueConstraint(fields=["scope", "kind", "score"], name="rankbucket_unique")]

    def __str__(self) -> str:
        return f"{self.scope_id} {self.kind or '*'} {self.score}: {self.accounts}"
