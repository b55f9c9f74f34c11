"""The production stack, end to end: gunicorn + PostgreSQL + Redis + Celery workers and beat (docs/deployment.md).

One test, in phases, because starting the stack is the expensive part (its database is a copy of the suite's
migrated test database, see conftest.py, so `migrate` there only proves nothing is left to apply):

1. `gongzhi migrate`, `gongzhi collectstatic`, seed data, and a slow task sent through ``core.jobs.enqueue`` in
   celery mode (it waits in Redis); gunicorn and Celery worker A start;
2. worker A takes the task and is killed with SIGKILL (its whole process group) in the middle of it; workers B and C
   and beat start, and one of the workers takes the message over after the visibility timeout;
3. meanwhile a journey over HTTP against gunicorn: the health check, a static file from WhiteNoise, a page login, a
   token, a points claim written through the API and read back, bad input answered in the error shape;
4. the task completes once: every row written once, one run record with two attempts by two processes, no third
   start;
5. beat dispatches due jobs every second to the two workers, and the same period is sent six times more: the
   periodic job runs once per period.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from .conftest import BIN, ROOT, free_port, prepare, wait_for

TALLY_TASK = "gongzhi.stack_tests.stack_tasks.slow_tally"
TALLY_STEPS = 16
TALLY_PAUSE = 0.5
WORKERS = ("worker-b", "worker-c")


class Browser:
    """urllib with a cookie jar: enough of a browser for a login form and JSON calls."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, method: str, path: str, *, data: dict | None = None, json_body=None, headers=None):
        body, sent = None, dict(headers or {})
        if json_body is not None:
            body, sent["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif data is not None:
            body, sent["Content-Type"] = urllib.parse.urlencode(data).encode(), "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=sent)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def cookie(self, name: str) -> str:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), "")


def _journey(base: str, world: dict) -> None:
    anonymous = Browser(base)
    status, _headers, body = anonymous.request("GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})

    # Static files come from WhiteNoise out of STATIC_ROOT (DEBUG is off: Django itself would not serve them).
    source = (ROOT / "gongzhi/static/gongzhi/app.js").read_bytes()
    status, headers, body = anonymous.request("GET", "/static/gongzhi/app.js")
    assert status == 200 and body == source
    status, headers, _body = anonymous.request("GET", "/static/gongzhi/app.js", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    status, _headers, _body = anonymous.request("GET", "/static/gongzhi/no-such-file.js")
    assert status == 404

    # The login page: CSRF cookie and field, password, a new session, then a page that needs it.
    person = Browser(base)
    status, _headers, page = person.request("GET", "/login/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "the login form carries a CSRF token"
    status, _headers, _page = person.request(
        "POST",
        "/login/",
        data={"username": world["username"], "password": world["password"], "csrfmiddlewaretoken": token[1]},
        headers={"Referer": base + "/login/"},
    )
    assert status == 200 and person.cookie("sessionid"), "logged in and redirected to a page"
    status, _headers, _page = person.request("GET", "/points/")
    assert status == 200

    # The token API: a write (a points claim) and reads.
    status, _headers, body = anonymous.request(
        "POST", "/api/v1/auth/token", json_body={"username": world["username"], "password": world["password"]}
    )
    assert status == 200, body
    bearer = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    claim = {"item_id": world["item_id"], "account_id": world["account_id"], "service_date": world["today"]}
    status, _headers, body = anonymous.request(
        "POST", "/api/v1/points/claims", json_body={**claim, "description": "楼道清扫一次"}, headers=bearer
    )
    assert status == 201, body
    created = json.loads(body)
    status, _headers, body = anonymous.request("GET", "/api/v1/points/claims", headers=bearer)
    assert status == 200
    assert [row["id"] for row in json.loads(body)["results"]] == [created["id"]]
    status, _headers, body = anonymous.request("GET", f"/api/v1/points/claims/{created['id']}", headers=bearer)
    assert status == 200 and json.loads(body)["description"] == "楼道清扫一次"
    # Bad input answers in the error shape, not a 500.
    status, _headers, body = anonymous.request(
        "POST", "/api/v1/points/claims", json_body={**claim, "item_id": 987654321}, headers=bearer
    )
    assert status in (400, 404, 422) and "code" in json.loads(body)


def test_the_production_stack(stack):
    timings: dict[str, float] = {}
    clock = time.monotonic()
    # The data, then the slow task through core.jobs.enqueue in celery mode: it waits in Redis for a worker.
    world = prepare(
        stack,
        then=f"from gongzhi.core.jobs import enqueue; enqueue({TALLY_TASK!r}, tally='roster-like', "
        f"steps={TALLY_STEPS}, pause={TALLY_PAUSE})",
    )
    timings["migrate, collectstatic, seed"] = time.monotonic() - clock
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stack.start(
        "gunicorn",
        str(BIN / "gunicorn"),
        "gongzhi.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
    )
    worker_a = stack.start_worker("worker-a")

    # ---- worker A takes the task and is killed (SIGKILL, its whole process group) in the middle of it
    wait_for(lambda: _tally_rows(stack) >= 3, timeout=60, what="worker A to get the task going")
    stack.kill("worker-a")
    assert worker_a.poll() is not None
    assert 3 <= _tally_rows(stack) < TALLY_STEPS, "killed mid-task"
    assert _task_runs(stack) == [("running", 1)]
    # Two more workers (the message goes to one of them once the visibility timeout has passed) and beat.
    stack.start_worker("worker-b")
    stack.start_worker("worker-c")
    stack.start(
        "beat",
        str(BIN / "celery"),
        "-A",
        "gongzhi",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(stack.workdir / "beat-schedule"),
    )
    timings["stack started, worker A killed"] = time.monotonic() - clock

    # ---- the journey over HTTP meanwhile
    wait_for(lambda: _answers(base + "/healthz"), timeout=30, what="gunicorn to answer /healthz")
    _journey(base, world)
    timings["journey done"] = time.monotonic() - clock

    # ---- the task completes once
    wait_for(lambda: _task_runs(stack) == [("succeeded", 2)], timeout=60, what="another worker to finish the task")
    steps = stack.sql("SELECT step, count(*) FROM stack_tally GROUP BY step ORDER BY step")
    assert steps == [(step, 1) for step in range(TALLY_STEPS)], "every row written exactly once"
    attempt_pids = [pid for (pid,) in stack.sql("SELECT pid FROM stack_attempt ORDER BY id")]
    writer_pids = {pid for (pid,) in stack.sql("SELECT DISTINCT pid FROM stack_tally")}
    assert len(attempt_pids) == 2 and len(set(attempt_pids)) == 2 and writer_pids == set(attempt_pids)
    assert "taken back" in _worker_logs(stack)
    timings["task completed"] = time.monotonic() - clock

    # ---- beat + two workers: the periodic job runs once per period
    stack.wait_ready("worker-b")
    stack.wait_ready("worker-c")
    [(run_key,)] = wait_for(
        lambda: stack.sql("SELECT run_key FROM core_jobrun WHERE job_name = 'stack_test.tick' LIMIT 1"),
        timeout=60,
        what="beat's dispatch to run the periodic job",
    )
    # The same period sent to both workers at once, as several beats or a slow dispatch would.
    client = stack.celery_client()
    sent = [client.send_task("gongzhi.run_job", args=("stack_test.tick", run_key)).id for _ in range(6)]
    wait_for(
        lambda: all(f"gongzhi.run_job[{task_id}] succeeded" in _worker_logs(stack) for task_id in sent),
        timeout=60,
        what="the workers to take the six deliveries of one period",
    )
    assert stack.log("beat").count("Sending due task gongzhi-dispatch-due-jobs") >= 3
    # One snapshot of runs and effects (the job writes its row and its success in one transaction; a run of the next
    # minute may be under way, its row not yet there).
    runs = stack.sql(
        "SELECT run_key, status, attempts, (SELECT count(*) FROM stack_tick t WHERE t.run_key = r.run_key) "
        "FROM core_jobrun r WHERE job_name = 'stack_test.tick' ORDER BY run_key"
    )
    finished = [(key, attempts, ticks) for key, status, attempts, ticks in runs if status == "succeeded"]
    assert run_key in [key for key, _attempts, _ticks in finished]
    assert all(attempts == 1 and ticks == 1 for _key, attempts, ticks in finished), f"a period ran twice: {runs}"
    assert all(status == "running" and ticks == 0 for _key, status, _a, ticks in runs if status != "succeeded"), runs
    orphans = (
        "SELECT count(*) FROM stack_tick WHERE run_key NOT IN (SELECT run_key FROM core_jobrun WHERE job_name = %s)"
    )
    assert stack.sql(orphans, ("stack_test.tick",)) == [(0,)]
    taken = [sum(f"gongzhi.run_job[{task_id}] received" in stack.log(name) for task_id in sent) for name in WORKERS]
    assert all(taken), f"both workers took deliveries of the period: {dict(zip(WORKERS, taken, strict=True))}"
    # The task stayed done: no later delivery started it a third time.
    assert len(stack.sql("SELECT pid FROM stack_attempt")) == 2 and _task_runs(stack) == [("succeeded", 2)]
    timings["periodic job checked"] = time.monotonic() - clock
    print("stack test timings (s):", {phase: round(seconds, 1) for phase, seconds in timings.items()})


def _worker_logs(stack) -> str:
    return stack.log("worker-b") + stack.log("worker-c")


def _tally_rows(stack) -> int:
    return stack.sql("SELECT count(*) FROM stack_tally")[0][0]


def _task_runs(stack) -> list[tuple]:
    return stack.sql("SELECT status, attempts FROM core_jobrun WHERE job_name = %s", (f"task:{TALLY_TASK}",))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False
