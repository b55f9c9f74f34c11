"""The database itself refuses to change the audit log.

PostgreSQL refuses UPDATE and DELETE. SQLite refuses UPDATE; DELETE stays possible there only because Django's
test flush empties tables with DELETE (PostgreSQL's flush uses TRUNCATE, which these triggers do not cover).
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
CREATE TRIGGER core_auditentry_no_delete BEFORE DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS core_auditentry_no_update ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditentry_no_delete ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS core_auditentry_no_update;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
