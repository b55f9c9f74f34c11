"""Test settings: the database comes from GONGZHI_DATABASE_URL (SQLite in memory when unset)."""

from .base import *  # noqa: F403
from .env import database_from_url, env_str

DATABASES = {"default": database_from_url(env_str("GONGZHI_DATABASE_URL") or "sqlite:///:memory:")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] == ":memory:":
    # A shared in-memory database per test run; WAL does not apply to memory databases.
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA foreign_keys=ON;"
DATABASES["default"]["CONN_MAX_AGE"] = 0
# A replica alias mirroring the test database (core/db_router.py); reads use it only where a test names it in
# GONGZHI_READ_REPLICA (with the alias allowed: django_db(databases=["default", "replica"])).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
GONGZHI_READ_REPLICA = ""
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]
GONGZHI_FIELD_KEY = "test-field-key-not-for-production"
GONGZHI_AUDIT_KEY = "test-audit-key-not-for-production"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
GONGZHI_JOBS_MODE = "embedded"
# Enforcement is tested on its own (people/tests/test_two_factor.py); other tests log administrators in directly.
GONGZHI_TWO_FACTOR_MANDATORY = False
# Rate limits are tested on their own (core/tests/test_ratelimit.py); the suite logs in hundreds of times a minute.
GONGZHI_RATE_LIMITING = False
# Tests move the clock by years between a login and a request; the idle timeout has its own tests.
GONGZHI_SESSION_IDLE_MINUTES = 0
CELERY_TASK_ALWAYS_EAGER = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # One test database per run, so developers sharing a server (and CI beside them) do not collide.
    import os

    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
