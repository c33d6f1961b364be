"""Pseudonyms and encryption for LINE user IDs: the only places a raw user ID is handled."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet


class SenderCrypto:
    """Keyed pseudonyms (HMAC-SHA256) and reversible encryption (Fernet, newest key first, for rotation)."""

    def __init__(self, *, pseudonym_key: str, encryption_keys: tuple[str, ...]) -> None:
        if not encryption_keys:
            raise ValueError("at least one encryption key is needed")
        self._pseudonym_key = pseudonym_key.encode()
        self._fernet = MultiFernet([Fernet(k.encode()) for k in encryption_keys])

    def pseudonym(self, desk: str, line_user_id: str) -> str:
        return hmac.new(self._pseudonym_key, f"{desk}\x00{line_user_id}".encode(), hashlib.sha256).hexdigest()

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)
