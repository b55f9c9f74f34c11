"""Fewer indexes on the ledger's hot tables: each one is written on every posting that is not a HOT update.

Dropped: the plain indexes that another index already leads (kind, place path, resident, organisation on accounts;
account on entries), the index on a transfer's actor, and the pattern-ops copy of the idempotency key's unique
index. Accounts keep 30 % of each page free so balance updates stay on their page (HOT). SQLite rebuilds the
altered tables and loses their append-only triggers, which the first and last operations put back.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from gongzhi.core.append_only import append_only_kept_on_sqlite, table_fillfactor

LEDGER_TABLES = ("points_transfer", "points_entry")
MESSAGE = "the points ledger is append-only: post a reversing transfer instead"


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_initial"),
        ("places", "0001_initial"),
        ("points", "0004_ledger_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        append_only_kept_on_sqlite(*LEDGER_TABLES, message=MESSAGE),
        migrations.RemoveConstraint(
            model_name="pointsaccount",
            name="pointsaccount_one_per_resident_kind",
        ),
        migrations.RemoveConstraint(
            model_name="pointsaccount",
            name="pointsaccount_one_per_organisation_kind",
        ),
        migrations.AlterField(
            model_name="entry",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="points.pointsaccount",
            ),
        ),
        migrations.AlterField(
            model_name="pointsaccount",
            name="kind",
            field=models.CharField(
                choices=[
                    ("resident", "resident"),
                    ("party_member", "party member / cadre"),
                    ("organisation", "resident organisation"),
                    ("volunteer_team", "volunteer team"),
                    ("system", "system"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="pointsaccount",
            name="organisation",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="points_accounts",
                to="people.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="pointsaccount",
            name="place_path",
            field=models.CharField(blank=True, max_length=255, verbose_name="place path"),
        ),
        migrations.AlterField(
            model_name="pointsaccount",
            name="resident",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="points_accounts",
                to="people.resident",
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="idempotency_key",
            field=models.CharField(max_length=120, verbose_name="idempotency key"),
        ),
        migrations.AddConstraint(
            model_name="pointsaccount",
            constraint=models.UniqueConstraint(
                condition=models.Q(("resident__isnull", False)),
                fields=("resident", "kind"),
                name="pointsaccount_one_per_resident_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsaccount",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organisation__isnull", False)),
                fields=("organisation", "kind"),
                name="pointsaccount_one_per_organisation_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.UniqueConstraint(fields=("idempotency_key",), name="transfer_unique_idempotency_key"),
        ),
        append_only_kept_on_sqlite(*LEDGER_TABLES, message=MESSAGE),
        table_fillfactor("points_pointsaccount", 70),
    ]
