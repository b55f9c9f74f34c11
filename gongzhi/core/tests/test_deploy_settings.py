"""Production settings pass Django's deployment checks (`gongzhi check --deploy`), in a process of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _check_deploy(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GONGZHI_", "DJANGO_")) and key != "SECRET_KEY"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="gongzhi.settings.base",
        GONGZHI_VAR_DIR=str(tmp_path),
        SECRET_KEY="a-production-secret-key-that-is-long-and-random-0123456789-abcdefghij",
        GONGZHI_FIELD_KEY="production-field-key",
        GONGZHI_ALLOWED_HOSTS="gongzhi.example.gov.cn",
        **extra,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = _check_deploy(tmp_path, GONGZHI_SECURE_COOKIES="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_https_the_checks_say_what_is_missing(tmp_path):
    result = _check_deploy(tmp_path)
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stdout + result.stderr
