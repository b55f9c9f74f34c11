"""A partial index of the unfinished cases by submission: "cases open" (received in a period, not finished now)
reads only the unfinished cases of the period. Plain CREATE INDEX; reversible."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_rollup_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("state__in", ["submitted", "accepted", "in_progress", "resolved"])),
                fields=["submitted_at"],
                name="case_unfinished_idx",
            ),
        ),
    ]
