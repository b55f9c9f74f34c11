"""Open311 API keys on the command line: ``gongzhi open311_key issue|list|revoke``.

    gongzhi open311_key issue --name 12345热线 --place 3 --account hotline-12345
    gongzhi open311_key list
    gongzhi open311_key revoke 7

``issue`` prints the key once (only its digest is stored); the account must hold a role with ``case.intake`` on the
place. The audit log records the command line as the actor. Staff do the same on the page /cases/manage/open311/.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gongzhi.cases.open311_keys import access_key, key_queryset, masked, open311_key_issue, open311_key_revoke
from gongzhi.core.errors import DomainError
from gongzhi.places.models import Place


def _problem(error: DomainError) -> str:
    fields = error.as_dict().get("fields") or {}
    if not fields:
        return str(error.message)
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


class Command(BaseCommand):
    help = "Issue, list or revoke Open311 API keys for outside systems (the key is printed once, when issued)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        issue = commands.add_parser("issue", help="Issue a key and print it once.")
        issue.add_argument("--name", required=True, help="The outside system, e.g. 12345热线.")
        issue.add_argument("--place", required=True, help="Id of the place its requests are filed under.")
        issue.add_argument("--account", required=True, help="Username of the service account that records them.")
        commands.add_parser("list", help="List the keys (their first characters only).")
        revoke = commands.add_parser("revoke", help="Revoke a key by its id.")
        revoke.add_argument("key_id", help="The key's id, as `list` shows it.")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as error:
            raise CommandError(_problem(error)) from None

    def _issue(self, options) -> None:
        place = Place.objects.filter(pk=int(options["place"])).first() if options["place"].isdigit() else None
        account = get_user_model().objects.filter(username=options["account"]).first()
        key, raw = open311_key_issue(actor=None, name=options["name"], place=place, account=account)
        self.stdout.write(f"Issued key {key.pk} for {key.name} at {key.place.name} as {account.get_username()}.")
        self.stdout.write("Copy it now, it is not shown again:")
        self.stdout.write(raw)

    def _list(self, options) -> None:
        keys = list(key_queryset(None).order_by("name", "id"))
        if not keys:
            self.stdout.write("No Open311 keys yet.")
        for key in keys:
            state = "active" if key.is_active else f"revoked {_when(key.revoked_at)}".strip()
            used = f"last used {_when(key.last_used_at)}" if key.last_used_at else "never used"
            self.stdout.write(
                f"{key.pk}\t{masked(key)}\t{key.name}\t{key.place.name}\t{key.account.get_username()}\t{state}\t{used}"
            )

    def _revoke(self, options) -> None:
        key = open311_key_revoke(actor=None, key=access_key(None, options["key_id"]))
        self.stdout.write(f"Revoked key {key.pk} ({masked(key)}) of {key.name}.")
