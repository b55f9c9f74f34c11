"""The ballot box as a hash chain: the canonical serialisation, the hash, and the verification.

Each ballot's ``hash`` is SHA-256 over ``canonical(...)``: a JSON object with sorted keys and no spaces holding the
sequence number, the vote id, the choice, the voter reference (open ballot) or pseudonym (secret ballot), the
channel, the tally sheet id, the time (open ballots only, ISO 8601 UTC to the microsecond) and the previous hash.
The first ballot's previous hash is ``GENESIS`` (64 zeros). The vote row keeps the head (count and last hash),
published with the result, so a deleted last ballot or a chain rebuilt from the start is found too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(
    *,
    sequence: int,
    vote_id: int,
    choice: int,
    voter: str,
    channel: str,
    tally_sheet_id: int | None,
    cast_at: datetime | None,
    previous_hash: str,
) -> bytes:
    """The bytes a ballot's hash is taken over (see the module's docstring)."""
    moment = cast_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if cast_at is not None else ""
    document = {
        "at": moment,
        "channel": channel,
        "choice": choice,
        "previous": previous_hash,
        "sequence": sequence,
        "sheet": tally_sheet_id,
        "vote": vote_id,
        "voter": voter,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def ballot_hash(**fields: Any) -> str:
    return hashlib.sha256(canonical(**fields)).hexdigest()


@dataclass
class ChainReport:
    """What a verification found: the ballots read, the head recomputed, and each problem (empty: intact)."""

    vote_id: int
    ballots: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_rows(
    vote_id: int,
    rows: Iterable[tuple[int, int, str, str, int | None, datetime | None, str, str]],
    *,
    expected_count: int,
    expected_head: str,
) -> ChainReport:
    """Recompute the chain from ``rows`` (sequence, choice, voter, channel, sheet, cast_at, previous_hash, hash),
    in sequence order, and compare it with the head the vote row keeps.

    Finds: a ballot altered (its hash does not match its contents), deleted (a gap in the sequence, or fewer
    ballots than the head), inserted (a repeated or extra sequence, or more ballots than the head), and a broken
    link (previous hash not the preceding ballot's hash).
    """
    report = ChainReport(vote_id=vote_id)
    previous = GENESIS
    expected_sequence = 1
    for sequence, choice, voter, channel, sheet, cast_at, previous_hash, stored_hash in rows:
        report.ballots += 1
        if sequence != expected_sequence:
            if sequence > expected_sequence:
                report.problems.append(f"ballots {expected_sequence}–{sequence - 1} missing (deleted)")
            else:
                report.problems.append(f"ballot {sequence} appears again (inserted)")
        if previous_hash != previous:
            report.problems.append(f"ballot {sequence}: link to the previous ballot broken")
        computed = ballot_hash(
            sequence=sequence,
            vote_id=vote_id,
            choice=choice,
            voter=voter,
            channel=channel,
            tally_sheet_id=sheet,
            cast_at=cast_at,
            previous_hash=previous_hash,
        )
        if computed != stored_hash:
            report.problems.append(f"ballot {sequence}: contents do not match its hash (altered)")
        previous = stored_hash
        expected_sequence = max(expected_sequence, sequence) + 1
    report.head = previous
    if report.ballots != expected_count:
        report.problems.append(f"{report.ballots} ballots found, the vote's head counts {expected_count}")
    if previous != (expected_head or GENESIS):
        report.problems.append("the last ballot's hash is not the vote's published head")
    return report
