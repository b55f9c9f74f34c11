"""Photos held between two tries of a form, so a resident on a phone never loses a picture to a typing mistake.

When a form with photos comes back with errors, the photos already checked (``clean_photos``: pictures only,
re-encoded without EXIF) are kept in the private file storage under ``cases/held/<account id>/<token>/`` and the
form carries the token in a hidden field. The next try uses them unless new photos are chosen (or the person
drops them). Only the account that held them can use a token; a hold is removed once the request is sent, and
holds older than a day are swept by the daily job ``cases.sweep_held_photos``, so a picture of a resident's home
never stays behind because nobody came back to the form.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from gongzhi.core.uploads import IMAGES

FOLDER = "cases/held"
KEPT_FOR = timedelta(days=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Held photos went through clean_photos, so they are one of the re-encoded picture kinds.
_CONTENT_TYPES = {kind.suffix: kind.content_type for kind in IMAGES}


@dataclass(frozen=True)
class Held:
    token: str
    names: tuple[str, ...]


def _folder(actor: Any, token: str) -> str:
    return f"{FOLDER}/{int(actor.pk)}/{token}"


def _listing(folder: str) -> list[str]:
    try:
        return sorted(default_storage.listdir(folder)[1])
    except (FileNotFoundError, NotADirectoryError):
        return []


def _shown_name(stored: str) -> str:
    """``"0-IMG_1234.jpg"`` → ``"IMG_1234.jpg"``."""
    return stored.split("-", 1)[1] if "-" in stored else stored


def release(actor: Any, token: str) -> None:
    """Remove a hold (after the request is sent, or when the person drops the photos)."""
    if not token or not _TOKEN.match(token) or getattr(actor, "pk", None) is None:
        return
    folder = _folder(actor, token)
    for name in _listing(folder):
        default_storage.delete(f"{folder}/{name}")


def _folders(root: str) -> list[str]:
    try:
        return sorted(default_storage.listdir(root)[0])
    except (FileNotFoundError, NotADirectoryError):
        return []


def held_photos_sweep(*, now: datetime) -> dict[str, int]:
    """Remove every hold whose photos are all older than ``KEPT_FOR`` at ``now``; idempotent."""
    cutoff = now - KEPT_FOR
    removed = 0
    for account_id in _folders(FOLDER):
        for token in _folders(f"{FOLDER}/{account_id}"):
            folder = f"{FOLDER}/{account_id}/{token}"
            names = _listing(folder)
            if not names:  # emptied already (sent, dropped or swept)
                continue
            try:
                stale = all(default_storage.get_modified_time(f"{folder}/{name}") < cutoff for name in names)
            except (NotImplementedError, OSError):
                stale = False
            if stale:
                for name in names:
                    default_storage.delete(f"{folder}/{name}")
                removed += 1
    return {"holds_removed": removed}


def hold(actor: Any, photos: list[Any], *, token: str = "") -> Held | None:
    """Keep checked photos for the next try of the form; returns the token and the names to show (None if none)."""
    if not photos or getattr(actor, "pk", None) is None:
        return None
    if token and _TOKEN.match(token):
        release(actor, token)
    else:
        token = secrets.token_urlsafe(18)
    folder = _folder(actor, token)
    names = []
    for index, photo in enumerate(photos):
        base = (getattr(photo, "name", "") or "photo.jpg").rsplit("/", 1)[-1][:80]
        photo.seek(0)
        stored = default_storage.save(f"{folder}/{index}-{base}", photo)
        names.append(_shown_name(stored.rsplit("/", 1)[-1]))
        photo.seek(0)
    return Held(token=token, names=tuple(names))


def held(actor: Any, token: str) -> Held | None:
    """What a token holds for this account (None when nothing, or not theirs)."""
    if not token or not _TOKEN.match(token) or getattr(actor, "pk", None) is None:
        return None
    names = _listing(_folder(actor, token))
    return Held(token=token, names=tuple(_shown_name(name) for name in names)) if names else None


def load(actor: Any, token: str) -> list[SimpleUploadedFile]:
    """The held photos as uploads, ready for the service (empty when nothing is held for this account)."""
    if held(actor, token) is None:
        return []
    folder = _folder(actor, token)
    photos = []
    for name in _listing(folder):
        with default_storage.open(f"{folder}/{name}", "rb") as stored:
            content = stored.read()
        suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        photos.append(
            SimpleUploadedFile(_shown_name(name), content, content_type=_CONTENT_TYPES.get(suffix, "image/jpeg"))
        )
    return photos
