"""The rotating check-in code on the organiser's screen: a signed token per 30-second slot, and a short typed code.

A token is ``"<activity id>.<slot>.<signature>"`` where ``slot`` is the number of 30-second steps since the epoch
and the signature an HMAC (the site's key, the activity's own secret, the id and the slot). It is accepted only
for its own activity, for the current slot or the one before (a code scanned a moment before it rotated still
works), and only inside the activity's window (start − margin … end + margin), so a photograph of the screen is
useless a minute later. The typed code is six digits from the same HMAC under another purpose, for the same slots.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.conf import settings

from .errors import VolunteeringError
from .models import Activity

SLOT_SECONDS = 30
# How many slots back a typed code is recognised as stale (rather than wrong): ten minutes.
_STALE_LOOKBACK = 20


def slot_of(now: datetime) -> int:
    return int(now.timestamp()) // SLOT_SECONDS


def _mac(activity: Activity, slot: int, purpose: str) -> str:
    key = f"{settings.SECRET_KEY}:volunteering:{activity.token_secret}".encode()
    return hmac.new(key, f"{purpose}:{activity.pk}:{slot}".encode(), hashlib.sha256).hexdigest()


def token_for(activity: Activity, now: datetime) -> str:
    """The token the screen shows at ``now``."""
    slot = slot_of(now)
    return f"{activity.pk}.{slot}.{_mac(activity, slot, 'token')[:20]}"


def typed_code_for(activity: Activity, now: datetime) -> str:
    """The six digits the screen shows beside the QR code at ``now``."""
    return f"{int(_mac(activity, slot_of(now), 'code')[:12], 16) % 1_000_000:06d}"


def seconds_left(now: datetime) -> int:
    """Seconds until the code rotates."""
    return SLOT_SECONDS - int(now.timestamp()) % SLOT_SECONDS


def in_window(activity: Activity, now: datetime) -> bool:
    margin = timedelta(minutes=activity.check_margin_minutes)
    return activity.starts_at - margin <= now <= activity.ends_at + margin


def _accepted_slots(now: datetime) -> tuple[int, int]:
    current = slot_of(now)
    return current, current - 1


def verify_token(activity: Activity, token: str, now: datetime) -> None:
    """Raise unless ``token`` is this activity's, of the current or previous slot, and genuine."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].lstrip("-").isdigit():
        raise VolunteeringError.TOKEN_INVALID()
    activity_id, slot, signature = int(parts[0]), int(parts[1]), parts[2]
    if activity_id != activity.pk:
        raise VolunteeringError.TOKEN_OTHER_ACTIVITY()
    if not hmac.compare_digest(signature, _mac(activity, slot, "token")[:20]):
        raise VolunteeringError.TOKEN_INVALID()
    if slot not in _accepted_slots(now):
        raise VolunteeringError.TOKEN_STALE()


def verify_typed_code(activity: Activity, code: str, now: datetime) -> None:
    """Raise unless ``code`` is the six digits shown now (or a moment ago) for this activity."""
    code = (code or "").strip()
    if not (len(code) == 6 and code.isdigit()):
        raise VolunteeringError.TOKEN_INVALID()
    accepted = _accepted_slots(now)
    for slot in range(accepted[0], accepted[0] - _STALE_LOOKBACK, -1):
        expected = f"{int(_mac(activity, slot, 'code')[:12], 16) % 1_000_000:06d}"
        if hmac.compare_digest(code, expected):
            if slot in accepted:
                return
            raise VolunteeringError.TOKEN_STALE()
    raise VolunteeringError.TOKEN_INVALID()
