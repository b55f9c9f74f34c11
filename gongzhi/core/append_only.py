"""Migration operations that make the database itself keep rows: append-only tables, rows never deleted.

``append_only``: PostgreSQL refuses UPDATE and DELETE (triggers calling one function). SQLite refuses UPDATE; DELETE
stays possible there only because Django's test flush empties tables with DELETE (PostgreSQL's flush uses TRUNCATE,
which these triggers do not cover). Used for the audit log, the case trail and the points ledger. ``never_deleted``
does the same for DELETE and a change of id only (points accounts). Also ``table_fillfactor`` for hot tables.
"""

from __future__ import annotations

from django.db import migrations


def _raising_function_sql(function: str, message: str) -> str:
    """PostgreSQL: the trigger function ``function()`` that refuses the row change with ``message``."""
    quoted = message.replace("'", "''")
    return (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$ "
        f"BEGIN RAISE EXCEPTION '{quoted}'; END; $$ LANGUAGE plpgsql;"
    )


def _sqlite_no_update_sql(table: str, message: str) -> str:
    """SQLite: the trigger ``<table>_no_update`` that refuses every UPDATE of ``table`` with ``message``."""
    quoted = message.replace("'", "''")
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{quoted}'); END;"
    )


def append_only(*tables: str, function: str, message: str) -> migrations.RunPython:
    """RunPython creating (and, reversed, dropping) triggers ``<table>_no_update`` / ``<table>_no_delete``."""

    def forwards(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(_raising_function_sql(function, message))
            for table in tables:
                for operation in ("UPDATE", "DELETE"):
                    schema_editor.execute(
                        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION {function}();"
                    )
        elif vendor == "sqlite":
            for table in tables:
                schema_editor.execute(_sqlite_no_update_sql(table, message))

    def backwards(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            for table in tables:
                for operation in ("update", "delete"):
                    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation} ON {table};")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}();")
        elif vendor == "sqlite":
            for table in tables:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")

    return migrations.RunPython(forwards, backwards)


def append_only_kept_on_sqlite(*tables: str, message: str) -> migrations.RunPython:
    """Put SQLite's UPDATE triggers back on ``tables`` if they are missing, whichever way the migration runs.

    SQLite alters a column or a unique constraint by rebuilding the table, and the rebuild drops the table's
    triggers. A migration that alters an append-only table lists this operation first and last, so the triggers
    are back after it runs forwards or backwards. PostgreSQL alters in place and keeps its triggers: no-op there.
    """

    def restore(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for table in tables:
            schema_editor.execute(_sqlite_no_update_sql(table, message))

    return migrations.RunPython(restore, restore)


def table_fillfactor(table: str, percent: int) -> migrations.RunPython:
    """PostgreSQL only: leave ``100 - percent`` % of each page of ``table`` free for HOT updates.

    A row updated in place on the same page (a HOT update) writes no index entries; one that moves to another page
    writes one in every index of the table. Balances change on every posting, so their pages keep room.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(percent)})")

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")

    return migrations.RunPython(forwards, backwards)


def never_deleted(table: str, *, function: str, message: str) -> migrations.RunPython:
    """PostgreSQL only: refuse DELETE on ``table`` and any UPDATE of its ``id`` (triggers calling ``function``).

    For rows that other rows name without a foreign-key constraint (the ledger's entries name their points
    account): what the constraint's ``ON DELETE / ON UPDATE NO ACTION`` guaranteed, for every row, at no cost to
    inserts or to updates of other columns. TRUNCATE (the test flush) is not covered, as with ``append_only``.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(_raising_function_sql(function, message))
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_renumber BEFORE UPDATE OF id ON {table} FOR EACH ROW "
            f"WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION {function}();"
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in ("no_delete", "no_renumber"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{name} ON {table};")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}();")

    return migrations.RunPython(forwards, backwards)
