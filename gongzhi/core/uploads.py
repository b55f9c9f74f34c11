"""The one check for every uploaded photo and file: type by its first bytes, size, count; pictures re-encoded.

    photos = clean_photos(request.FILES.getlist("photos"))                # claims, cases, progress reports
    scan = clean_upload(upload, field="agreement_file", kinds=DOCUMENTS)  # a signed agreement
    sheet = clean_upload(upload, field="file", kinds=SPREADSHEETS, max_bytes=20 * MB)

The name and the browser's content type are never trusted: a file is what its first bytes say. A picture is
decoded and written again (turned upright by its EXIF orientation, at most ``MAX_SIDE`` pixels a side): the new
file carries no EXIF, so no GPS position or phone model leaves with a resident's photo, and a file that only
looks like a picture is refused. HEIC photos (iPhones) become JPEG so every browser can show them.
Refusals are ``ValidationFailed`` with the message on ``field``, in the user's language.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from .errors import CoreError

MB = 1024 * 1024
MAX_SIDE = 4096
DEFAULT_MAX_BYTES = 10 * MB
DEFAULT_MAX_PHOTOS = 9


@dataclass(frozen=True)
class FileKind:
    name: str  # shown to people: "JPEG", "PDF"
    suffix: str
    content_type: str
    matches: Callable[[bytes], bool]
    image_format: str = ""  # Pillow's format name when the kind is a picture


def _is_heic(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc")


JPEG = FileKind("JPEG", ".jpg", "image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff"), "JPEG")
PNG = FileKind("PNG", ".png", "image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"), "PNG")
WEBP = FileKind("WebP", ".webp", "image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", "WEBP")
HEIC = FileKind("HEIC", ".heic", "image/heic", _is_heic, "HEIF")
PDF = FileKind("PDF", ".pdf", "application/pdf", lambda head: head.startswith(b"%PDF-"))
XLSX = FileKind(
    "Excel (.xlsx)",
    ".xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    lambda head: head.startswith(b"PK\x03\x04"),
)

IMAGES: tuple[FileKind, ...] = (JPEG, PNG, WEBP, HEIC)
DOCUMENTS: tuple[FileKind, ...] = (PDF, JPEG, PNG)
SPREADSHEETS: tuple[FileKind, ...] = (XLSX,)


def _refuse(field: str, message: str) -> Exception:
    return CoreError.UPLOAD_REFUSED(_("This file cannot be accepted."), fields={field: message})


def kind_of(upload: Any, kinds: Iterable[FileKind]) -> FileKind | None:
    """Which of ``kinds`` the file is, by its first bytes (None when it is none of them)."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return next((kind for kind in kinds if kind.matches(head)), None)


def upload_problem(upload: Any, *, kinds: Sequence[FileKind] = IMAGES, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """What is wrong with the file, in the user's language ("" when nothing is), without re-encoding it."""
    size = getattr(upload, "size", None) or 0
    if size == 0:
        return _("The file is empty.")
    if size > max_bytes:
        return _("The file is larger than %(size)d MB.") % {"size": max_bytes // MB}
    if kind_of(upload, kinds) is None:
        return _("Send the file as %(types)s.") % {"types": " / ".join(kind.name for kind in kinds)}
    return ""


def clean_upload(
    upload: Any, *, field: str, kinds: Sequence[FileKind] = IMAGES, max_bytes: int = DEFAULT_MAX_BYTES
) -> Any:
    """The upload, checked; for a picture, a fresh re-encoded copy (same base name, no EXIF, upright).

    Raises ``ValidationFailed`` (code ``upload_refused``) with the reason on ``field``; nothing is stored here.
    """
    problem = upload_problem(upload, kinds=kinds, max_bytes=max_bytes)
    if problem:
        raise _refuse(field, problem)
    kind = kind_of(upload, kinds)
    assert kind is not None
    if not kind.image_format:
        upload.seek(0)
        return upload
    return _reencoded(upload, kind, field)


def clean_photos(
    uploads: Iterable[Any],
    *,
    field: str = "photos",
    max_count: int = DEFAULT_MAX_PHOTOS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Any]:
    """Up to ``max_count`` pictures, each checked and re-encoded as ``clean_upload`` does."""
    uploads = [upload for upload in uploads if upload]
    if len(uploads) > max_count:
        raise _refuse(field, _("Attach at most %(count)d photos.") % {"count": max_count})
    return [clean_upload(upload, field=field, kinds=IMAGES, max_bytes=max_bytes) for upload in uploads]


def _reencoded(upload: Any, kind: FileKind, field: str) -> SimpleUploadedFile:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if kind is HEIC:
        from pillow_heif import register_heif_opener

        register_heif_opener()
    upload.seek(0)
    try:
        with Image.open(upload) as opened:
            opened.load()
            picture = ImageOps.exif_transpose(opened)
            picture.thumbnail((MAX_SIDE, MAX_SIDE))
            target = PNG if kind is PNG else WEBP if kind is WEBP else JPEG
            if target is JPEG and picture.mode not in ("RGB", "L"):
                picture = picture.convert("RGB")
            buffer = io.BytesIO()
            options: dict[str, Any] = {"quality": 85} if target is not PNG else {"optimize": True}
            picture.save(buffer, format=target.image_format, **options)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise _refuse(field, _("This picture could not be read. Take or choose it again.")) from None
    stem = (getattr(upload, "name", "") or "photo").rsplit("/", 1)[-1].rsplit(".", 1)[0][:80] or "photo"
    return SimpleUploadedFile(f"{stem}{target.suffix}", buffer.getvalue(), content_type=target.content_type)
