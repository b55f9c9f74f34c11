"""Backup and restore of the whole platform: the database and the uploaded files, in one archive.

``gongzhi backup FILE`` writes a tar archive: ``manifest.json`` (format, database kind, time, the migrations
applied, the files), the database (SQLite: a copy made with SQLite's online backup, consistent while the platform
keeps writing; PostgreSQL: ``pg_dump`` in its custom format, which reads one snapshot, so it is consistent while
the platform runs), and ``media/`` (photos, signed agreements, tally sheets). ``gongzhi restore FILE`` puts it
back onto an **empty** database (refused otherwise: a restore never mixes two histories) and then runs every
integrity check the installed apps offer (the points ledger, the ballot boxes, the audit trail), so a restore
that does not verify says so and exits 1.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"
# The checks a restore runs when the app that owns them is installed, in this order.
VERIFY_COMMANDS = ("points_check", "deliberation_verify", "audit_verify")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (nothing was restored)."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    vendor: str
    media_files: int
    size: int


def _postgres_environment(database: dict) -> dict[str, str]:
    environment = dict(os.environ)
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = database["PASSWORD"]
    return environment


def _postgres_arguments(database: dict, name: str | None = None) -> list[str]:
    arguments = []
    if database.get("HOST"):
        arguments += ["--host", database["HOST"]]
    if database.get("PORT"):
        arguments += ["--port", str(database["PORT"])]
    if database.get("USER"):
        arguments += ["--username", database["USER"]]
    arguments += ["--dbname", name or database["NAME"]]
    return arguments


def _run(command: list[str], environment: dict[str, str]) -> None:
    try:
        finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)") from None
    if finished.returncode != 0:
        raise BackupError(f"{command[0]} failed: {finished.stderr.strip()[:2000]}")


def _applied_migrations() -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        return [[app, name] for app, name in cursor.fetchall()]


def _media_files(media_root: Path) -> list[Path]:
    if not media_root.exists():
        return []
    return sorted(path for path in media_root.rglob("*") if path.is_file())


def backup_create(path: Path, *, now: datetime) -> BackupSummary:
    """Write the archive at ``path`` (replacing it only once it is complete)."""
    database = connection.settings_dict
    vendor = connection.vendor
    media_root = Path(settings.MEDIA_ROOT)
    media = _media_files(media_root)
    path = Path(path)
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "database"
        if vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(dump)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
            member = SQLITE_MEMBER
        elif vendor == "postgresql":
            command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(dump)]
            _run(command + _postgres_arguments(database), _postgres_environment(database))
            member = POSTGRES_MEMBER
        else:
            raise BackupError(f"Backups of {vendor} databases are not supported.")
        manifest = {
            "format": FORMAT,
            "vendor": vendor,
            "created_at": now.isoformat(),
            "migrations": _applied_migrations(),
            "media_files": len(media),
        }
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            encoded = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(encoded)
            archive.addfile(info, io.BytesIO(encoded))
            archive.add(dump, arcname=member)
            for file in media:
                archive.add(file, arcname=MEDIA_PREFIX + file.relative_to(media_root).as_posix())
        partial.replace(path)
    return BackupSummary(path=path, vendor=vendor, media_files=len(media), size=path.stat().st_size)


# ---------------------------------------------------------------- restore


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
    except KeyError:
        raise BackupError("This file is not a gongzhi backup (no manifest.json).") from None
    if member is None:
        raise BackupError("This file is not a gongzhi backup (no manifest.json).")
    manifest = json.loads(member.read().decode())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Backup format {manifest.get('format')!r} is not one this version reads ({FORMAT}).")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def restore_check(path: Path) -> dict[str, Any]:
    """Raise BackupError unless ``path`` is a backup this database can take; returns its manifest."""
    try:
        with tarfile.open(path, "r") as archive:
            manifest = _read_manifest(archive)
    except (FileNotFoundError, tarfile.TarError, json.JSONDecodeError) as error:
        raise BackupError(f"Cannot read the backup: {error}") from None
    if manifest["vendor"] != connection.vendor:
        raise BackupError(
            f"This backup is of a {manifest['vendor']} database; the configured one is {connection.vendor}."
        )
    if not _database_is_empty():
        raise BackupError("The database is not empty. Restore onto a new, empty database.")
    return manifest


def _safe_members(archive: tarfile.TarFile, prefix: str) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        if not member.name.startswith(prefix) or not member.isfile():
            continue
        relative = Path(member.name[len(prefix) :])
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"Refusing a file outside the media folder: {member.name}")
        members.append(member)
    return members


def backup_restore(path: Path) -> dict[str, Any]:
    """Load the archive into the configured (empty) database and media folder; returns the manifest."""
    manifest = restore_check(path)
    database = connection.settings_dict
    media_root = Path(settings.MEDIA_ROOT)
    with tarfile.open(path, "r") as archive, tempfile.TemporaryDirectory() as scratch:
        if manifest["vendor"] == "sqlite":
            archive.extract(SQLITE_MEMBER, scratch, filter="data")
            source = sqlite3.connect(Path(scratch) / SQLITE_MEMBER)
            connection.ensure_connection()
            try:
                source.backup(connection.connection)
            finally:
                source.close()
        else:
            archive.extract(POSTGRES_MEMBER, scratch, filter="data")
            connection.close()  # pg_restore needs the database to itself
            command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
            dump = str(Path(scratch) / POSTGRES_MEMBER)
            _run([*command, *_postgres_arguments(database), dump], _postgres_environment(database))
        for member in _safe_members(archive, MEDIA_PREFIX):
            target = media_root / member.name[len(MEDIA_PREFIX) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            with extracted, open(target, "wb") as handle:
                shutil.copyfileobj(extracted, handle)
    return manifest
