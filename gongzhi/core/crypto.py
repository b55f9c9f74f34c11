"""Encryption at rest for ID card numbers, and a keyed digest to find and deduplicate them without decrypting.

AES-256-GCM with a key derived (HKDF) from GONGZHI_FIELD_KEY, or from SECRET_KEY when that is not set.
The stored form is ``v1:<base64(nonce || ciphertext)>`` so keys can be rotated later by version.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = "v1"


@lru_cache(maxsize=4)
def _derived_keys(master: str) -> tuple[bytes, bytes]:
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"gongzhi-field-keys", info=b"v1").derive(
        master.encode()
    )
    return material[:32], material[32:]


def _keys() -> tuple[bytes, bytes]:
    return _derived_keys(settings.GONGZHI_FIELD_KEY or settings.SECRET_KEY)


def encrypt_text(plain: str) -> str:
    encryption_key, _ = _keys()
    nonce = os.urandom(12)
    ciphertext = AESGCM(encryption_key).encrypt(nonce, plain.encode(), _VERSION.encode())
    return f"{_VERSION}:{base64.b64encode(nonce + ciphertext).decode()}"


def decrypt_text(token: str) -> str:
    version, _, payload = token.partition(":")
    if version != _VERSION:
        raise ValueError(f"Unknown encryption version {version!r}")
    encryption_key, _ = _keys()
    raw = base64.b64decode(payload)
    return AESGCM(encryption_key).decrypt(raw[:12], raw[12:], _VERSION.encode()).decode()


def blind_index(plain: str) -> str:
    """A keyed digest: equal inputs give equal digests, but the digest reveals nothing without the key."""
    _, index_key = _keys()
    return hmac.new(index_key, plain.strip().upper().encode(), hashlib.sha256).hexdigest()
