"""Helpers that turn environment variables into settings values."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("GONGZHI_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Return a Django DATABASES entry for a sqlite:// or postgres:// URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/or/absolute path; sqlite:///:memory: for memory
        raw_path = unquote(parsed.path)
        if raw_path.startswith("//"):  # sqlite:////absolute/path
            name = raw_path[1:]
        elif raw_path in {"", "/"}:
            name = str(VAR_DIR / "gongzhi.sqlite3")
        elif raw_path == "/:memory:":
            name = ":memory:"
        else:  # sqlite:///relative/path, relative to the project folder
            name = str(BASE_DIR / raw_path[1:])
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                # One writer at a time: take the write lock at BEGIN so concurrent writers queue
                # instead of failing half-way through a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
            "TEST": {"NAME": None},
        }
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        # No JIT compilation: the cockpit's aggregates over large tables have high estimated costs, so PostgreSQL
        # compiled them (175 ms of JIT for a 50 ms query at 10,000,000 postings, docs/performance.md). A URL's own
        # ?options=... replaces this.
        options.setdefault("options", "-c jit=off")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "gongzhi",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 600)),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ValueError(f"Unsupported database URL scheme: {parsed.scheme!r}")


def secret_key() -> str:
    """SECRET_KEY from the environment, else a key kept in var/ so sessions survive restarts."""
    value = os.environ.get("SECRET_KEY")
    if value:
        return value
    key_file = VAR_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(50)
        key_file.write_text(value)
        key_file.chmod(0o600)
        return value
