"""Per-person data keys: crypto-shredding for Art. 17.

Each subject gets a random AES-256 key from KMS (``GenerateDataKey``, bound to the subject by the
encryption context); only the wrapped key is stored, in a small table without point-in-time
recovery. Deleting that one item makes every copy of the subject's encrypted fields unreadable,
backups included. Unwrapped keys are cached per warm container.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from chatconsent.errors import Gone
from chatconsent.store.data_keys import DataKeys

NONCE_BYTES = 12


class KeyShredded(Gone):
    """The subject's key is gone: their encrypted data can no longer be read."""

    def __init__(self) -> None:
        super().__init__("the subject's data was erased: nothing can be read or sent")


class SubjectKeyring:
    def __init__(
        self,
        data_keys: DataKeys,
        kms: Any,
        kms_key_id: str,
        cache_size: int = 1024,
        max_age: float = 300.0,
    ) -> None:
        self._data_keys = data_keys
        self._kms = kms
        self._kms_key_id = kms_key_id
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._cache_size = cache_size
        # A key erased through another container stays usable here at most this long.
        self._max_age = max_age

    def _remember(self, subject: str, key: bytes) -> bytes:
        self._cache[subject] = (time.monotonic(), key)
        self._cache.move_to_end(subject)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return key

    def key_for(self, subject: str, create: bool = True) -> bytes:
        """The subject's plaintext data key; created on first use when ``create``."""
        cached = self._cache.get(subject)
        if cached is not None and time.monotonic() - cached[0] <= self._max_age:
            self._cache.move_to_end(subject)
            return cached[1]
        self._cache.pop(subject, None)
        wrapped = self._data_keys.wrapped(subject)
        if wrapped is not None:
            return self._remember(subject, self._unwrap(subject, wrapped))
        if not create:
            raise KeyShredded()
        generated = self._kms.generate_data_key(
            KeyId=self._kms_key_id, KeySpec="AES_256", EncryptionContext={"subject": subject}
        )
        if not self._data_keys.create(subject, bytes(generated["CiphertextBlob"])):
            return self.key_for(subject, create=False)  # another container created it first
        return self._remember(subject, bytes(generated["Plaintext"]))

    def preload(self, subjects: Sequence[str]) -> None:
        """Read the wrapped keys of ``subjects`` not cached yet in batches (one request per 100), and unwrap them.

        A subject without a key (erased) stays uncached: its reads raise KeyShredded as usual.
        """
        now = time.monotonic()
        missing = [s for s in dict.fromkeys(subjects) if not (c := self._cache.get(s)) or now - c[0] > self._max_age]
        for subject, wrapped in self._data_keys.wrapped_many(missing).items():
            self._remember(subject, self._unwrap(subject, wrapped))

    def has_key(self, subject: str) -> bool:
        """Whether the subject has a data key already (cached, or stored and then cached); creates none."""
        try:
            self.key_for(subject, create=False)
        except KeyShredded:
            return False
        return True

    def _unwrap(self, subject: str, wrapped: bytes) -> bytes:
        response = self._kms.decrypt(
            CiphertextBlob=wrapped, EncryptionContext={"subject": subject}, KeyId=self._kms_key_id
        )
        return bytes(response["Plaintext"])

    def forget(self, subject: str) -> None:
        self._cache.pop(subject, None)

    def forget_all(self) -> None:
        """Drop every cached key (and the times they were read): after a SnapStart restore."""
        self._cache.clear()

    # -- field encryption ----------------------------------------------------------------------

    def encrypt(self, subject: str, item_id: str, plaintext: bytes) -> bytes:
        """AES-GCM under the subject's key; subject and item are associated data (no swapping)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415 (only where data is stored)

        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key_for(subject)).encrypt(nonce, plaintext, f"{subject}|{item_id}".encode())

    def decrypt(self, subject: str, item_id: str, sealed: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag  # noqa: PLC0415
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

        associated = f"{subject}|{item_id}".encode()
        key = self.key_for(subject, create=False)
        try:
            return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
        except InvalidTag:
            if subject not in self._cache:
                raise
            self.forget(subject)  # the cached key may be one erased and replaced elsewhere: read it again
            fresh = self.key_for(subject, create=False)
            return AESGCM(fresh).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
