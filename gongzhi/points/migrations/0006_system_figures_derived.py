"""System accounts (issuance, spent, expired) stop storing their figures: they are summed from their entries.

Forwards sets their stored figures to zero (what ``ledger_check`` now expects); backwards writes the sums back.
"""

from django.db import migrations
from django.db.models import Q, Sum


def store_nothing(apps, schema_editor):
    accounts = apps.get_model("points", "PointsAccount")
    accounts.objects.filter(kind="system").update(balance=0, held=0, earned_total=0)


def store_sums(apps, schema_editor):
    accounts = apps.get_model("points", "PointsAccount")
    entries = apps.get_model("points", "Entry")
    for account in accounts.objects.filter(kind="system"):
        sums = entries.objects.filter(account_id=account.pk).aggregate(
            balance=Sum("amount", filter=Q(bucket="balance"), default=0),
            held=Sum("amount", filter=Q(bucket="held"), default=0),
            earned=Sum("amount", filter=Q(counts_as_earned=True), default=0),
        )
        accounts.objects.filter(pk=account.pk).update(
            balance=sums["balance"], held=sums["held"], earned_total=sums["earned"]
        )


class Migration(migrations.Migration):
    dependencies = [("points", "0005_ledger_indexes")]
    operations = [migrations.RunPython(store_nothing, store_sums)]
