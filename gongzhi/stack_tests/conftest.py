"""The production stack on this machine's services: a PostgreSQL database of its own, a Redis database, gunicorn,
Celery workers and beat, all as subprocesses with production settings (DEBUG off, celery jobs mode, real secrets).

The stack's database is new and empty; `gongzhi migrate` builds it with production settings (the committed
migrations applied to a fresh PostgreSQL database), in the same `gongzhi shell` that then builds the seed data, beside
`collectstatic` (one Django start-up instead of two: most of the setup's time).

Runs once per `make test`, in its PostgreSQL pass: it skips unless GONGZHI_TEST_POSTGRES_URL and
GONGZHI_TEST_REDIS_URL are set *and* the suite itself runs on PostgreSQL (GONGZHI_DATABASE_URL), so the SQLite passes
skip it. Every process runs in its own process group and is killed with it at the end, whatever happened; on a
failure the test's report carries the tail of every process's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STACK_REDIS_DB = 14
LOCK_KEY = "gongzhi:stack-test:lock"
LOG_TAIL = 6000


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.stack)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack, Stack):
        for name, text in stack.log_tails():
            report.sections.append((f"stack log: {name}", text))
    return report


def _skip_reason() -> str:
    postgres, redis_url = os.environ.get("GONGZHI_TEST_POSTGRES_URL"), os.environ.get("GONGZHI_TEST_REDIS_URL")
    if not postgres or not redis_url:
        return (
            "the production stack test needs GONGZHI_TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test) "
            "and GONGZHI_TEST_REDIS_URL (redis://127.0.0.1:6379/15)"
        )
    if urlparse(os.environ.get("GONGZHI_DATABASE_URL", "")).scheme not in {"postgres", "postgresql", "pgsql"}:
        return "the production stack test runs once, in the PostgreSQL pass (GONGZHI_DATABASE_URL=postgres://...)"
    return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Stack:
    """The subprocesses of one production stack and the means to reach its database and broker."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str):
        self.workdir = workdir
        self.database_url = database_url
        self.redis_url = redis_url
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GONGZHI_", "DJANGO_", "CELERY_")) and key not in {"DATABASE_URL", "SECRET_KEY"}
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="gongzhi.settings",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
            GONGZHI_DATABASE_URL=database_url,
            GONGZHI_REDIS_URL=redis_url,
            GONGZHI_JOBS_MODE="celery",
            GONGZHI_DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            GONGZHI_FIELD_KEY=secrets.token_urlsafe(32),
            GONGZHI_ALLOWED_HOSTS="127.0.0.1,localhost",
            GONGZHI_VAR_DIR=str(workdir / "var"),
            GONGZHI_LOG_LEVEL="INFO",
            # Short so that the test sees a dead worker's task handed on within seconds (production: 900 s).
            GONGZHI_CELERY_VISIBILITY_TIMEOUT="10",
            GONGZHI_CELERY_RESTORE_INTERVAL="1",
            GONGZHI_BEAT_DISPATCH_SECONDS="1",
        )

    # ------------------------------------------------------------ processes

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """Start ``args`` in a process group of its own, output to ``<name>.log``."""
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            list(args), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def run(self, name: str, *args: str, timeout: float = 120) -> str:
        """Run a command to its end; its output (stdout) is returned, its log kept; fail on a non-zero exit."""
        with self.log_path(name).open("ab") as log:
            done = subprocess.run(
                list(args), cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=log, timeout=timeout, check=False
            )
        with self.log_path(name).open("ab") as log:
            log.write(done.stdout)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{self.log_path(name).read_text()[-LOG_TAIL:]}")
        return done.stdout.decode()

    def gongzhi(self, name: str, *args: str, timeout: float = 120) -> str:
        return self.run(name, str(BIN / "gongzhi"), *args, timeout=timeout)

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.start(
            name,
            str(BIN / "celery"),
            "-A",
            "gongzhi",
            "worker",
            "--include",
            "gongzhi.stack_tests.stack_tasks",
            "--concurrency",
            "1",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        )

    def wait_ready(self, name: str) -> None:
        wait_for(lambda: " ready." in self.log(name), timeout=60, what=f"Celery worker {name} to be ready")

    def kill(self, name: str) -> None:
        """SIGKILL the process's whole group (a worker's pool processes die with it) and reap it."""
        process = self.processes.get(name)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def stop_all(self) -> None:
        """SIGTERM every group, give them five seconds together, then SIGKILL every group (stragglers included)."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for name in self.processes:
            self.kill(name)

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tails(self) -> list[tuple[str, str]]:
        paths = sorted(self.workdir.glob("*.log"))
        return [(path.stem, path.read_text(errors="replace")[-LOG_TAIL:]) for path in paths]

    # ------------------------------------------------------------ the database and the broker

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def celery_client(self):
        """A bare Celery client on the stack's broker, for sending tasks by name the way the app does."""
        from celery import Celery

        return Celery("stack-test-client", broker=self.redis_url, set_as_current=False)


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}", query=""))


def _with_redis_db(url: str, db: int) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{db}"))


@pytest.fixture
def stack(tmp_path, request):
    """A new, empty stack database and broker with no process running yet; everything removed afterwards."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import psycopg
    import redis

    server_url = os.environ["GONGZHI_TEST_POSTGRES_URL"]
    name = f"gongzhi_stack_{os.getpid()}"
    redis_url = _with_redis_db(os.environ["GONGZHI_TEST_REDIS_URL"], STACK_REDIS_DB)
    try:
        broker = redis.Redis.from_url(redis_url, socket_connect_timeout=3)
        broker.ping()
        admin = psycopg.connect(server_url, autocommit=True, connect_timeout=3)
    except Exception as exc:
        message = f"the production stack test cannot reach PostgreSQL or Redis: {exc}"
        if os.environ.get("GONGZHI_STRICT") == "1":
            pytest.fail(message + " (required under GONGZHI_STRICT=1)")
        pytest.skip(message)
    if not broker.set(LOCK_KEY, name, nx=True, ex=600):
        pytest.fail(f"Redis db {STACK_REDIS_DB} is in use by another stack test ({broker.get(LOCK_KEY)!r})")
    broker.flushdb()
    broker.set(LOCK_KEY, name, ex=600)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    built = Stack(tmp_path, _with_database(server_url, name), redis_url)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield built
    finally:
        built.stop_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        broker.flushdb()
        broker.close()


def prepare(stack: Stack, *, then: str = "") -> dict:
    """`gongzhi collectstatic` beside one `gongzhi shell` that runs `migrate` on the empty database and builds the
    seed data; then the effect tables. ``then`` is Python run in the same shell after the data is built."""
    collect = subprocess.Popen(
        [str(BIN / "gongzhi"), "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=stack.env,
        stdout=stack.log_path("collectstatic").open("ab"),
        stderr=subprocess.STDOUT,
    )
    stack.sql(
        "CREATE TABLE stack_tally (id serial, tally text, step int, pid int);"
        "CREATE TABLE stack_attempt (id serial, tally text, pid int);"
        "CREATE TABLE stack_tick (id serial, run_key text, pid int)"
    )
    script = (
        "from django.core.management import call_command; call_command('migrate', interactive=False, verbosity=1)\n"
        f"from gongzhi.stack_tests.stack_world import main; main()\n{then}"
    )
    output = stack.gongzhi("world", "shell", "-c", script, timeout=150)
    assert collect.wait(timeout=120) == 0, stack.log("collectstatic")
    return json.loads(output.strip().splitlines()[-1])
