"""The database itself refuses to change the audit log (see gongzhi/core/append_only.py)."""

from django.db import migrations

from gongzhi.core.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [
        append_only("core_auditentry", function="core_auditentry_append_only", message="the audit log is append-only")
    ]
