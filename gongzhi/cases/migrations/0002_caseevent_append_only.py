"""The database itself refuses to change a case's trail, as it does for the audit log (core/append_only.py)."""

from django.db import migrations

from gongzhi.core.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [
        append_only("cases_caseevent", function="cases_caseevent_append_only", message="the case trail is append-only")
    ]
