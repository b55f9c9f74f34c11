"""Points claims on big data for the cockpit benchmark: claims and their review decisions in bulk by SQL, on a
database that already holds the place tree and the holder accounts of ``benchmarks/cockpit_bench.py``.

One category, item (with its version), claim and decision are made through the ORM (so every NOT NULL column is
real) and cloned with generate_series: claim n belongs to holder account mod(n, accounts), was submitted at 10:00
on day mod(n, days) after ``first_day``, and was (by mod(n, 10)) approved (0-7) or rejected (8) mod(n, 12) days
later, or is still waiting (9). Claims are kept distinct by their service date (one per account, item and day).
"""

from __future__ import annotations

from datetime import date, datetime, time


def fill_claims(cursor, claims: int, first_day: date, days: int, columns) -> None:
    """Insert ``claims`` claims and one decision for each decided one (see the module). ``columns`` is the
    bench's ``_columns`` (column list and select list cloning a template row)."""
    from django.utils import timezone

    from gongzhi.people.models import Account
    from gongzhi.places.models import Place
    from gongzhi.points.models import (
        Claim,
        ClaimDecision,
        PointCategory,
        PointItem,
        PointItemVersion,
        PointsAccount,
    )

    district = Place.objects.get(kind="district")
    reviewer = Account.objects.create_user(username="bench-reviewer", password=None)
    category = PointCategory.objects.create(code="bench", name="志愿服务")
    item = PointItem.objects.create(
        category=category, code="bench-service", name="志愿服务", owner=district, account_kinds=["resident"]
    )
    version = PointItemVersion.objects.create(item=item, value=5, effective_from=first_day, changed_by=reviewer)
    account = PointsAccount.objects.filter(kind="resident").order_by("pk").first()
    community = Place.objects.get(pk=[int(part) for part in account.place_path.strip("/").split("/")][2])
    moment = timezone.make_aware(datetime.combine(first_day, time(10)))
    claim = Claim.objects.create(
        account=account,
        item=item,
        item_version=version,
        value=5,
        community=community,
        service_date=first_day,
        state="approved",
        submitted_by=reviewer,
        idempotency_key="bench-claim-template",
        review_week="2029-W01",
        submitted_at=moment,
    )
    decision = ClaimDecision.objects.create(claim=claim, decision="approve", actor=reviewer, decided_at=moment)
    cursor.execute(
        "CREATE TEMP TABLE bench_accounts AS SELECT row_number() OVER (ORDER BY a.id) - 1 AS k, a.id, c.id AS "
        "community_id FROM points_pointsaccount a JOIN places_place c ON c.kind = 'community' "
        "AND a.place_path LIKE c.path || '%%' WHERE a.kind = 'resident'"
    )
    cursor.execute("CREATE INDEX ON bench_accounts (k)")
    cursor.execute("SELECT count(*) FROM bench_accounts")
    accounts = cursor.fetchone()[0]
    day = f"(date '{first_day.isoformat()}' + mod(n, {days}))"
    submitted = f"(({day} + time '10:00') AT TIME ZONE 'Asia/Shanghai')"
    decided = f"CASE WHEN mod(n, 10) < 9 THEN {submitted} + mod(n, 12) * interval '1 day' END"
    state = "CASE WHEN mod(n, 10) < 8 THEN 'approved' WHEN mod(n, 10) = 8 THEN 'rejected' ELSE 'submitted' END"
    names, select = columns(
        cursor,
        "points_claim",
        {
            "account_id": "a.id",
            "community_id": "a.community_id",
            # A different service date per claim of the same account (the open-or-approved uniqueness).
            "service_date": f"{day} - (n / {accounts * days})::int",
            "state": state,
            "idempotency_key": "'bench-claim-' || n",
            "review_week": f"to_char({day}, 'IYYY-\"W\"IW')",
            "submitted_at": submitted,
            "decided_at": decided,
        },
    )
    cursor.execute("SELECT max(id) FROM points_claim")
    base = cursor.fetchone()[0]
    cursor.execute(
        f"INSERT INTO points_claim ({names}) SELECT {select} FROM points_claim t CROSS JOIN generate_series(1, %s) n "
        f"JOIN bench_accounts a ON a.k = mod(n, {accounts}) WHERE t.id = %s ORDER BY n",
        [claims - 1, claim.pk],
    )
    names, select = columns(
        cursor,
        "points_claimdecision",
        {
            "claim_id": "c.id",
            "decision": "CASE WHEN c.state = 'approved' THEN 'approve' ELSE 'reject' END",
            "decided_at": "c.decided_at",
        },
    )
    cursor.execute(
        f"INSERT INTO points_claimdecision ({names}) SELECT {select} FROM points_claimdecision t "
        "JOIN points_claim c ON c.id > %s AND c.decided_at IS NOT NULL WHERE t.id = %s ORDER BY c.decided_at, c.id",
        [base, decision.pk],
    )
    cursor.execute("DROP TABLE bench_accounts")
