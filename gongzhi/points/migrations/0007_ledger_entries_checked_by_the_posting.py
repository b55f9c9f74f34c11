"""Ledger entries name their transfer and account without foreign-key constraints in the database.

Each constraint cost a row check at COMMIT for every entry (four per posting, about a tenth of the posting's server
time), and the check on the account took a share lock on the issuance row for every award in the district. What
they guaranteed is kept another way (see ``Entry`` in models.py): the posting statement, the only writer of entries,
checks every account and inserts the transfer in the same statement; transfers were already never deleted
(migration 0004) and now points accounts are not either, nor renumbered (triggers below); ``ledger_check`` reports
any entry whose transfer or account is missing. SQLite rebuilds the entries table and loses its append-only
trigger, which the first and last operations put back.
"""

import django.db.models.deletion
from django.db import migrations, models

from gongzhi.core.append_only import append_only_kept_on_sqlite, never_deleted

LEDGER_TABLES = ("points_transfer", "points_entry")
MESSAGE = "the points ledger is append-only: post a reversing transfer instead"


class Migration(migrations.Migration):
    dependencies = [
        ("points", "0006_system_figures_derived"),
    ]

    operations = [
        append_only_kept_on_sqlite(*LEDGER_TABLES, message=MESSAGE),
        migrations.AlterField(
            model_name="entry",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="points.pointsaccount",
            ),
        ),
        migrations.AlterField(
            model_name="entry",
            name="transfer",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="points.transfer",
            ),
        ),
        append_only_kept_on_sqlite(*LEDGER_TABLES, message=MESSAGE),
        never_deleted(
            "points_pointsaccount",
            function="points_account_kept",
            message="points accounts are never deleted or renumbered: the ledger names them; deactivate instead",
        ),
    ]
