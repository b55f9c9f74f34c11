#!/usr/bin/env bash
# Benchmarks on PostgreSQL (needs a server; default the local one with trust auth).
#   make bench                       households=100000
#   BENCH_HOUSEHOLDS=20000 make bench
# Creates a scratch database, seeds it, runs each benchmark (platform vs psycopg in the same run), drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
HOUSEHOLDS="${BENCH_HOUSEHOLDS:-100000}"
SERVER="${BENCH_POSTGRES_SERVER:-postgres://postgres@127.0.0.1:5432}"
DB="gongzhi_bench_$$"
export GONGZHI_DATABASE_URL="$SERVER/$DB"
export GONGZHI_VAR_DIR="$(mktemp -d)"
psql "$SERVER/postgres" -qc "CREATE DATABASE $DB" >/dev/null
trap 'psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null' EXIT
.venv/bin/gongzhi migrate -v0
echo "== seed: $HOUSEHOLDS households"
/usr/bin/time -f "seed took %e s" .venv/bin/gongzhi seed --households "$HOUSEHOLDS" --seed 1
echo "== access_bench"
.venv/bin/python benchmarks/access_bench.py
echo "== deliberation_bench (own scratch database)"
.venv/bin/python benchmarks/deliberation_bench.py
echo "== volunteering_bench (own scratch database)"
.venv/bin/python benchmarks/volunteering_bench.py
echo "== cobuilding_bench (own scratch database)"
.venv/bin/python benchmarks/cobuilding_bench.py
echo "== cockpit_bench (own scratch databases; BENCH_SIZES postings, default 100000,1000000,10000000)"
.venv/bin/python benchmarks/cockpit_bench.py
