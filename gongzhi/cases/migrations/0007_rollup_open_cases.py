"""The cases roll-up gained a measure ("cases.cases.open": received and not finished now). Totals built before hold
none of it, so the received source is marked unbuilt: its figures are counted from the cases until the next
``rollups.build`` rebuilds it from the raw records (its first run). Reversing changes nothing."""

from django.db import migrations


def mark_unbuilt(apps, schema_editor):
    RollupState = apps.get_model("rollups", "RollupState")
    RollupState.objects.filter(source="cases.received").update(built_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_rollup_indexes"),
        ("rollups", "0002_distinct_counts"),
    ]

    operations = [migrations.RunPython(mark_unbuilt, migrations.RunPython.noop)]
