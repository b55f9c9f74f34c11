"""The database itself refuses to change ledger transfers and entries (shared/design.md rule 4;
gongzhi/core/append_only.py)."""

from django.db import migrations

from gongzhi.core.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("points", "0003_rankbucket")]
    operations = [
        append_only(
            "points_transfer",
            "points_entry",
            function="points_ledger_append_only",
            message="the points ledger is append-only: post a reversing transfer instead",
        )
    ]
