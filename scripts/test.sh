#!/usr/bin/env bash
# The whole check, as `make test` runs it:
#   1. ruff, mypy over core and every app's services and selectors, docs/errors.md current, and models agreeing
#      with their migrations;
#   2. the test suite on SQLite (always), and again with the clock moved ahead when GONGZHI_TEST_AHEAD_DAYS is set;
#   3. the same suite on PostgreSQL when GONGZHI_TEST_POSTGRES_URL points at a server
#      (.ci/run sets postgres://postgres@127.0.0.1:5432/test); otherwise a clear "skipped" line.
# Redis-backed tests run when GONGZHI_TEST_REDIS_URL is set; browser tests when /usr/bin/chromium exists.
# With GONGZHI_STRICT=1 (CI), a missing PostgreSQL, Redis or browser is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
export PYTHONDONTWRITEBYTECODE=1

echo "== ruff"
"$VENV/bin/ruff" check .
echo "== mypy (core, services, selectors)"
# No incremental cache: a cache left by checking other modules by hand can report their errors here.
GONGZHI_VAR_DIR="$(mktemp -d)" "$VENV/bin/mypy" --no-incremental
echo "== error catalogue documented"
GONGZHI_VAR_DIR="$(mktemp -d)" "$VENV/bin/python" manage.py errors_doc --check
echo "== migrations match models"
GONGZHI_VAR_DIR="$(mktemp -d)" "$VENV/bin/python" manage.py makemigrations --check --dry-run >/dev/null

echo "== tests on SQLite"
GONGZHI_DATABASE_URL="sqlite:///:memory:" "$VENV/bin/pytest" "$@"

# The time-bomb guard: the same suite with the wall clock moved ahead (`.ci/run` sets 400 days), so a test that
# reads the real clock instead of taking `now` fails here today rather than in some later month.
if [ -n "${GONGZHI_TEST_AHEAD_DAYS:-}" ]; then
  echo "== tests on SQLite with the clock ${GONGZHI_TEST_AHEAD_DAYS} days ahead"
  # The authorisation matrices check who may do what, not time: they run in the other two passes.
  GONGZHI_TEST_CLOCK_OFFSET_DAYS="$GONGZHI_TEST_AHEAD_DAYS" GONGZHI_DATABASE_URL="sqlite:///:memory:" \
    "$VENV/bin/pytest" -m "not matrix" "$@"
fi

if [ -n "${GONGZHI_TEST_POSTGRES_URL:-}" ]; then
  if "$VENV/bin/python" - "$GONGZHI_TEST_POSTGRES_URL" <<'PY'
import sys, psycopg
from urllib.parse import urlparse
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {urlparse(sys.argv[1]).hostname} is not reachable: {exc}")
    sys.exit(1)
PY
  then
    echo "== tests on PostgreSQL"
    GONGZHI_DATABASE_URL="$GONGZHI_TEST_POSTGRES_URL" "$VENV/bin/pytest" "$@"
  else
    echo "PostgreSQL half FAILED: GONGZHI_TEST_POSTGRES_URL is set but the server does not answer."
    exit 1
  fi
else
  msg="PostgreSQL half SKIPPED: set GONGZHI_TEST_POSTGRES_URL=postgres://user@host:5432/db to run the suite on PostgreSQL."
  if [ "${GONGZHI_STRICT:-0}" = "1" ]; then echo "$msg (required under GONGZHI_STRICT=1)"; exit 1; fi
  echo "$msg"
fi
