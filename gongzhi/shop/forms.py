"""Forms of the shop pages: they parse and keep what was typed; the services decide (and refuse)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gongzhi.core.access import reach
from gongzhi.core.actors import Actor
from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Permission
from gongzhi.people.models import Organisation, OrganisationKind
from gongzhi.places.models import Place
from gongzhi.points.selectors import holder_kind_choices

from .access import clerk_merchant_ids
from .models import AllianceMembership, Offer
from .offers import OfferInput


class OfferForm(forms.Form):
    community = forms.ModelChoiceField(queryset=Place.objects.none(), label=_("Shown by"))
    merchant = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        label=_("Merchant"),
        empty_label=_("— the community's own points shop —"),
    )
    title = forms.CharField(label=_("Title"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Offer.Kind.choices)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    points_price = forms.IntegerField(label=_("Points"), min_value=1)
    cash_price = forms.DecimalField(
        label=_("Cash (yuan)"), min_value=0, decimal_places=2, initial=0, help_text=_("For points plus cash offers.")
    )
    discount_value = forms.DecimalField(
        label=_("Value given (yuan)"),
        min_value=0,
        decimal_places=2,
        initial=0,
        help_text=_("What the merchant gives up per redemption, for the monthly settlement."),
    )
    stock = forms.IntegerField(label=_("Stock"), min_value=0)
    per_person_limit = forms.IntegerField(
        label=_("Limit per person per window"), min_value=1, required=False, help_text=_("Empty: no limit.")
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    account_kinds = forms.MultipleChoiceField(
        label=_("Who may redeem"),
        required=False,
        choices=holder_kind_choices(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: everyone."),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, user: Actor, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        manage = reach(user, Permission.SHOP_MANAGE)
        merchants = clerk_merchant_ids(user)
        places = Q(pk__in=[])
        if not manage.is_empty:
            places |= manage.q()
        if merchants:
            places |= Q(
                pk__in=AllianceMembership.objects.filter(merchant_id__in=merchants, state="active").values("place_id")
            )
        self.fields["community"].queryset = Place.objects.filter(
            places, kind__in=("community", "street"), is_active=True
        ).order_by("path")
        merchant_q = Q(pk__in=merchants)
        if not manage.is_empty:
            merchant_q |= Q(
                pk__in=AllianceMembership.objects.filter(manage.q("place__path"), state="active").values("merchant_id")
            )
        self.fields["merchant"].queryset = Organisation.objects.filter(
            merchant_q, kind=OrganisationKind.MERCHANT, is_active=True
        ).order_by("name")
        if merchants and manage.is_empty:
            self.fields["merchant"].required = True
            self.fields["merchant"].empty_label = None

    def offer_input(self) -> OfferInput:
        data = self.cleaned_data
        return OfferInput(
            title=data["title"],
            points_price=data["points_price"],
            stock=data["stock"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            kind=data["kind"],
            description=data["description"],
            cash_price=data["cash_price"],
            discount_value=data["discount_value"],
            per_person_limit=data["per_person_limit"],
            account_kinds=list(data["account_kinds"]),
        )

    def add_domain_error(self, error: DomainError) -> None:
        if not error.fields:
            self.add_error(None, str(error.message))
        for name, message in error.fields.items():
            self.add_error(name if name in self.fields else None, str(message))


class WindowForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60, widget=forms.TextInput(attrs={"placeholder": "2026 Q4"}))
    starts_at = forms.DateTimeField(label=_("Opens"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Closes"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class SettingsForm(forms.Form):
    always_open = forms.BooleanField(label=_("Always open (no exchange windows)"), required=False)
    unclaimed_expiry_hours = forms.IntegerField(
        label=_("Hours before an unclaimed order expires"), min_value=1, max_value=1440
    )


class AllianceJoinForm(forms.Form):
    merchant = forms.ModelChoiceField(label=_("Merchant"), queryset=Organisation.objects.none())
    agreement_signed_on = forms.DateField(
        label=_("Agreement signed on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    agreement_file = forms.FileField(
        label=_("Signed agreement (PDF or photo)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,image/jpeg,image/png"}),
    )

    def __init__(self, place: Place, *args: Any, **kwargs: Any):
        from .selectors import merchants_to_enrol

        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = merchants_to_enrol(place)
