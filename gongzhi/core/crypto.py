"""Encryption at rest for ID card numbers, and a keyed digest to find and deduplicate them without decrypting.

AES-256-GCM with a key derived (HKDF) from GONGZHI_FIELD_KEY, or from SECRET_KEY when that is not set. The stored
form ``v2:<key id>:<base64(nonce || ciphertext)>`` names its key, so keys can be rotated: put the new key in
GONGZHI_FIELD_KEY and the old one in GONGZHI_FIELD_KEYS_RETIRED (both still decrypt), then run
``gongzhi rotate_field_key``, which re-encrypts in batches and can be stopped and run again. Values stored before
keys had ids (``v1:``) are read with any configured key and re-encrypted the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_LEGACY_VERSION = "v1"  # v1:<base64>, made with the one field key before keys had ids
_VERSION = "v2"  # v2:<key id>:<base64(nonce || ciphertext)>


@lru_cache(maxsize=8)
def _derived_keys(master: str) -> tuple[bytes, bytes]:
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"gongzhi-field-keys", info=b"v1").derive(
        master.encode()
    )
    return material[:32], material[32:]


def _current_master() -> str:
    return settings.GONGZHI_FIELD_KEY or settings.SECRET_KEY


def _retired_masters() -> list[str]:
    return [key for key in getattr(settings, "GONGZHI_FIELD_KEYS_RETIRED", []) if key]


def _key_id(encryption_key: bytes) -> str:
    return hashlib.sha256(b"gongzhi-key-id" + encryption_key).hexdigest()[:8]


def current_key_id() -> str:
    return _key_id(_derived_keys(_current_master())[0])


def _encryption_keys() -> dict[str, bytes]:
    """Every key that may decrypt, by id: the current one first, then the retired ones."""
    keys: dict[str, bytes] = {}
    for master in (_current_master(), *_retired_masters()):
        encryption_key = _derived_keys(master)[0]
        keys.setdefault(_key_id(encryption_key), encryption_key)
    return keys


def encrypt_text(plain: str) -> str:
    """Encrypt with the current key; the result names the key (``v2:<key id>:...``)."""
    encryption_key = _derived_keys(_current_master())[0]
    nonce = os.urandom(12)
    ciphertext = AESGCM(encryption_key).encrypt(nonce, plain.encode(), _VERSION.encode())
    return f"{_VERSION}:{_key_id(encryption_key)}:{base64.b64encode(nonce + ciphertext).decode()}"


def decrypt_text(token: str) -> str:
    """Decrypt a value made with the current key or a retired one (``GONGZHI_FIELD_KEYS_RETIRED``)."""
    version, _, rest = token.partition(":")
    keys = _encryption_keys()
    if version == _VERSION:
        key_id, _, payload = rest.partition(":")
        if key_id not in keys:
            raise ValueError(f"Encrypted with key {key_id}, which is neither GONGZHI_FIELD_KEY nor a retired key")
        raw = base64.b64decode(payload)
        return AESGCM(keys[key_id]).decrypt(raw[:12], raw[12:], _VERSION.encode()).decode()
    if version == _LEGACY_VERSION:
        raw = base64.b64decode(rest)
        for encryption_key in keys.values():
            try:
                return AESGCM(encryption_key).decrypt(raw[:12], raw[12:], _LEGACY_VERSION.encode()).decode()
            except InvalidTag:
                continue
        raise ValueError("Encrypted with a key that is neither GONGZHI_FIELD_KEY nor a retired key")
    raise ValueError(f"Unknown encryption version {version!r}")


def needs_rotation(token: str) -> bool:
    """Whether a stored value is not yet under the current key."""
    return bool(token) and not token.startswith(f"{_VERSION}:{current_key_id()}:")


def blind_index(plain: str) -> str:
    """A keyed digest: equal inputs give equal digests, but the digest reveals nothing without the key.

    The index key comes from ``GONGZHI_INDEX_KEY`` when set, else from the field key: pinning it to the old field
    key when rotating keeps every stored digest valid (``gongzhi rotate_field_key`` recomputes them otherwise)."""
    index_key = _derived_keys(getattr(settings, "GONGZHI_INDEX_KEY", "") or _current_master())[1]
    return hmac.new(index_key, plain.strip().upper().encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- rotation


@dataclass(frozen=True)
class EncryptedField:
    """A model field holding ``encrypt_text`` values, and the field holding their ``blind_index`` if any."""

    model: str  # "app_label.ModelName"
    field: str
    digest_field: str = ""


ENCRYPTED_FIELDS: list[EncryptedField] = []


def register_encrypted_field(model: str, field: str, digest_field: str = "") -> None:
    """Apps name their encrypted fields (in ``AppConfig.ready``) so the rotation finds every one."""
    entry = EncryptedField(model, field, digest_field)
    if entry not in ENCRYPTED_FIELDS:
        ENCRYPTED_FIELDS.append(entry)


def rotate_encrypted_fields(*, batch_size: int = 500, log: Callable[[str], None] | None = None) -> dict[str, int]:
    """Re-encrypt every registered value not yet under the current key (and recompute its digest), in batches in
    primary-key order. Each row is changed only if it still holds the value read (a row changed meanwhile was
    written under the current key already), so it is safe while the platform runs; running it again continues
    where it stopped and changes nothing once done. Returns the rows changed per field."""
    from django.apps import apps
    from django.db import transaction

    changed: dict[str, int] = {}
    for entry in ENCRYPTED_FIELDS:
        model = apps.get_model(entry.model)
        label = f"{entry.model}.{entry.field}"
        changed[label] = 0
        last_pk = 0
        while True:
            rows = list(
                model.objects.filter(pk__gt=last_pk)
                .exclude(**{entry.field: ""})
                .order_by("pk")
                .values_list("pk", entry.field)[:batch_size]
            )
            if not rows:
                break
            last_pk = rows[-1][0]
            with transaction.atomic():
                for pk, token in rows:
                    if not needs_rotation(token):
                        continue
                    plain = decrypt_text(token)
                    values = {entry.field: encrypt_text(plain)}
                    if entry.digest_field:
                        values[entry.digest_field] = blind_index(plain)
                    changed[label] += model.objects.filter(pk=pk, **{entry.field: token}).update(**values)
            if log is not None:
                log(f"{label}: up to #{last_pk}, {changed[label]} re-encrypted")
    return changed
