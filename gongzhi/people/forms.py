"""Page forms of the people app: they parse what was typed and keep it when the service refuses; the rules are the
services' (``party.party_membership_clean``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.core.errors import DomainError

from .models import Organisation, PartyMembership, PartyMembershipEndReason, PartyOrganisation
from .party import TEXT_MAX, PartyMembershipInput

IN_SERVICE = "in_service"
RETIRED = "retired"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def service_errors_to_form(form: forms.Form, error: DomainError, *, names: dict[str, str] | None = None) -> None:
    """Put a service's refusal on the form: each field's message beside the field, the rest on top."""
    names = names or {}
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, message in error.fields.items():
        field = names.get(name, name)
        form.add_error(field if field in form.fields else None, str(message))


class PartyMembershipForm(forms.Form):
    organisation = forms.TypedChoiceField(label=_("Party organisation"), coerce=int)
    joined_on = forms.DateField(label=_("Joined the party on"), required=False, widget=DateInput())
    service = forms.ChoiceField(
        label=_("In service or retired"),
        choices=[(IN_SERVICE, _("In service")), (RETIRED, _("Retired"))],
        initial=RETIRED,
        widget=forms.RadioSelect,
    )
    employer = forms.TypedChoiceField(
        label=_("Employer (a resident organisation)"), coerce=int, required=False, empty_value=None
    )
    employer_name = forms.CharField(
        label=_("Employer (if not in the list)"),
        max_length=TEXT_MAX,
        required=False,
        help_text=_("For in-service party members: where they work."),
    )
    employer_party_organisation = forms.CharField(
        label=_("Employer's party organisation"),
        max_length=TEXT_MAX,
        required=False,
        help_text=_("Where an in-service member's membership is held, e.g. the party committee of their bureau."),
    )

    def __init__(
        self,
        *args: Any,
        organisations: list[PartyOrganisation],
        employers: list[Organisation],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organisations = {organisation.pk: organisation for organisation in organisations}
        self.employers = {employer.pk: employer for employer in employers}
        self.fields["organisation"].choices = [("", _("Choose…"))] + [
            (organisation.pk, f"{'　' * max(organisation.path.count('/') - 2, 0)}{organisation.name}")
            for organisation in organisations
        ]
        self.fields["employer"].choices = [("", "—")] + [(employer.pk, employer.name) for employer in employers]

    @classmethod
    def initial_of(cls, membership: PartyMembership) -> dict[str, Any]:
        return {
            "organisation": membership.organisation_id,
            "joined_on": membership.joined_on,
            "service": IN_SERVICE if membership.is_in_service else RETIRED,
            "employer": membership.employer_id,
            "employer_name": "" if membership.employer_id else membership.employer_name,
            "employer_party_organisation": membership.employer_party_organisation,
        }

    def membership_input(self) -> PartyMembershipInput:
        cleaned = self.cleaned_data
        return PartyMembershipInput(
            organisation=self.organisations.get(cleaned["organisation"]),
            joined_on=cleaned.get("joined_on"),
            is_in_service=cleaned.get("service") == IN_SERVICE,
            employer=self.employers.get(cleaned["employer"]) if cleaned.get("employer") else None,
            employer_name=cleaned.get("employer_name", ""),
            employer_party_organisation=cleaned.get("employer_party_organisation", ""),
        )


class PartyMembershipEndForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why does the membership end?"),
        choices=PartyMembershipEndReason.choices,
        widget=forms.RadioSelect,
    )
    ended_on = forms.DateField(
        label=_("Ended on"), required=False, widget=DateInput(), help_text=_("Today when left empty.")
    )
