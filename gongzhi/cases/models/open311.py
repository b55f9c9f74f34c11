"""Open311 GeoReport v2: the questions a category asks (service attributes) and the API keys issued to outside
systems (the 12345 hotline, a city platform)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.places.models import Place

from .base import choice_check
from .requests import CaseCategory


class AttributeDatatype(models.TextChoices):
    """The datatypes of Open311 GeoReport v2 service attributes."""

    STRING = "string", _("short text")
    NUMBER = "number", _("number")
    DATETIME = "datetime", _("date and time")
    TEXT = "text", _("long text")
    SINGLE_VALUE_LIST = "singlevaluelist", _("one choice from a list")
    MULTI_VALUE_LIST = "multivaluelist", _("several choices from a list")


LIST_DATATYPES: tuple[str, ...] = (AttributeDatatype.SINGLE_VALUE_LIST, AttributeDatatype.MULTI_VALUE_LIST)


class CategoryAttribute(models.Model):
    """A question asked of the requests of a category: an Open311 GeoReport v2 service attribute.

    ``values`` holds the choices of the list datatypes as ``[{"key": …, "name": …}]``. An attribute that is not
    ``variable`` is only information shown to the person filing (it takes no answer). Answers are stored on the
    case (``Case.attributes``). Attributes are archived, never deleted, so old answers keep their question.
    """

    Datatype = AttributeDatatype

    category = models.ForeignKey(
        CaseCategory, verbose_name=_("category"), on_delete=models.CASCADE, related_name="attributes"
    )
    code = models.SlugField(_("code"), max_length=40)
    description = models.CharField(_("question"), max_length=255)
    datatype = models.CharField(_("answer type"), max_length=16, choices=Datatype.choices)
    datatype_description = models.CharField(
        _("answer hint"), max_length=255, blank=True, help_text=_("How to answer, for example “in metres”.")
    )
    required = models.BooleanField(_("required"), default=False)
    variable = models.BooleanField(
        _("takes an answer"), default=True, help_text=_("Uncheck for information shown to the person filing only.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    values = models.JSONField(_("choices"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("request category question")
        verbose_name_plural = _("request category questions")
        ordering = ["category", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "code"], condition=Q(is_active=True), name="categoryattribute_unique_code"
            ),
            choice_check("datatype", AttributeDatatype, "categoryattribute_datatype_valid"),
            models.CheckConstraint(
                condition=Q(variable=True) | Q(required=False), name="categoryattribute_required_is_variable"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id}:{self.code}"


class Open311Key(models.Model):
    """An API key issued to an outside system (the 12345 hotline, a city platform) for Open311 GeoReport v2.

    Only a SHA-256 digest of the key is stored; the key itself is shown once, when it is issued. Requests the
    system files are recorded by ``account`` (which must hold ``case.intake`` on ``place``) at a place under
    ``place``; reads with the key also see the description of the requests under ``place``.
    """

    name = models.CharField(_("system"), max_length=100)
    place = models.ForeignKey(
        Place,
        verbose_name=_("files requests under"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Requests from this system are filed at this place or a place under it."),
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("records as"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A service account holding a role with case.intake on the place above."),
    )
    digest = models.CharField(_("key digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
