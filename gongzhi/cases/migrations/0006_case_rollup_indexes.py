"""Indexes for the cases roll-ups: the days the daily totals do not hold (dirty days, today) are counted from the
cases by ranges of ``submitted_at`` (cases received) and ``closed_at`` (cases closed); without these each such read
scanned the whole table. Plain CREATE INDEX (SQLite keeps the table and its triggers); reversible."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_category_attributes_coordinates"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["submitted_at"], name="case_submitted_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["closed_at"], name="case_closed_idx"),
        ),
    ]
