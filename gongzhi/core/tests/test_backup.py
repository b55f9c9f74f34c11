"""Backup and restore, end to end on the database the suite runs on (SQLite, then PostgreSQL in its own pass):
a backup taken while points are being posted restores onto an empty database with its files, and verifies; a
restore onto a database that has data, or of a file that is no backup, is refused."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections

from gongzhi.points.ledger import Leg, post_transfer, system_account
from gongzhi.points.models import Entry, Transfer, TransferKind
from gongzhi.points.tests.publication_factories import PointsWorld

ROOT = Path(__file__).resolve().parents[3]
_serial = itertools.count(1)


def _manage(*arguments: str, database_url: str, var_dir: Path) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("GONGZHI_", "DJANGO_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="gongzhi.settings.base",
        GONGZHI_DATABASE_URL=database_url,
        GONGZHI_VAR_DIR=str(var_dir),
        GONGZHI_FIELD_KEY="test-field-key-not-for-production",
        GONGZHI_AUDIT_KEY="test-audit-key-not-for-production",
    )
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def empty_database(tmp_path):
    """The URL of a new, empty database of the kind the suite runs on."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    settings_dict = connection.settings_dict
    name = f"restore_{os.getpid()}_{next(_serial)}"
    admin = psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    user = settings_dict["USER"] or "postgres"
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or "5432"
    yield f"postgres://{user}@{host}:{port}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "claims").mkdir(parents=True)
    (tmp_path / "media" / "claims" / "photo.jpg").write_bytes(b"\xff\xd8\xff a photo")
    return tmp_path / "media"


def _credit(account_id: int, issuance_id: int) -> None:
    post_transfer(
        kind=TransferKind.ADJUSTMENT,
        idempotency_key=f"backup-test-{next(_serial)}",
        legs=[Leg(issuance_id, -1), Leg(account_id, 1, counts_as_earned=True)],
        actor=None,
    )


@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_points_are_posted_restores_and_verifies(tree, media, tmp_path, empty_database):
    world = PointsWorld(tree)
    _login, account = world.resident("household_a1")
    world.award(account, 5, day=account.created_at.date())
    issuance = system_account("issuance")
    stop = threading.Event()

    def keep_posting() -> None:
        try:
            while not stop.is_set():
                _credit(account.pk, issuance.pk)
        finally:
            connections.close_all()

    writer = None
    if connection.vendor == "postgresql":  # SQLite's in-memory test database has one writer at a time anyway
        writer = threading.Thread(target=keep_posting)
        writer.start()
    archive = tmp_path / "gongzhi.tar"
    try:
        call_command("backup", str(archive))
    finally:
        stop.set()
        if writer is not None:
            writer.join()
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "manifest.json" in names and "media/claims/photo.jpg" in names

    var_dir = tmp_path / "restored_var"
    restored = _manage("restore", str(archive), database_url=empty_database, var_dir=var_dir)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "The points ledger is consistent" in restored.stdout
    assert "all audit chains intact" in restored.stdout  # restore ran audit_verify
    assert (var_dir / "media" / "claims" / "photo.jpg").read_bytes() == b"\xff\xd8\xff a photo"
    assert _count(empty_database, Transfer._meta.db_table) >= 1
    assert _count(empty_database, Entry._meta.db_table) == 2 * _count(empty_database, Transfer._meta.db_table)

    again = _manage("restore", str(archive), database_url=empty_database, var_dir=var_dir)
    assert again.returncode == 1 and "not empty" in again.stderr


def _count(url: str, table: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as database:
            return database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as database:
        return database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def test_a_file_that_is_no_backup_is_refused(tmp_path, empty_database):
    bogus = tmp_path / "not-a-backup.tar"
    bogus.write_bytes(b"hello")
    result = _manage("restore", str(bogus), database_url=empty_database, var_dir=tmp_path / "var")
    assert result.returncode == 1 and "Cannot read the backup" in result.stderr
