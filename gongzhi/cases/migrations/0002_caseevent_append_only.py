"""The database itself refuses to change a case's trail, as it does for the audit log (core 0003).

PostgreSQL refuses UPDATE and DELETE. SQLite refuses UPDATE; DELETE stays possible there only because Django's
test flush empties tables with DELETE (PostgreSQL's flush uses TRUNCATE, which these triggers do not cover).
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION cases_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the case trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cases_caseevent_no_update BEFORE UPDATE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_caseevent_append_only();
CREATE TRIGGER cases_caseevent_no_delete BEFORE DELETE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_caseevent_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS cases_caseevent_no_update ON cases_caseevent;
DROP TRIGGER IF EXISTS cases_caseevent_no_delete ON cases_caseevent;
DROP FUNCTION IF EXISTS cases_caseevent_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS cases_caseevent_no_update BEFORE UPDATE ON cases_caseevent
BEGIN SELECT RAISE(ABORT, 'the case trail is append-only'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS cases_caseevent_no_update;"


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
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
