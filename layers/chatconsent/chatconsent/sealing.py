"""Values sealed under the KMS key itself: personal data that belongs to no person's data key.

Two such values exist: the number a queued confirmation-link job carries (sealed before it is
queued, so that the queue never holds it in clear) and the identity-check note of a rights request
(kept as long as the register entry, also after the person's erasure, which it must survive as proof).
Each is bound to what it belongs to by the KMS encryption context (``{purpose: id}``): a sealed value
opens only for the same purpose and id, and each function's IAM policy allows only its own purpose.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from chatconsent.errors import InvalidInput


class SealPurpose(StrEnum):
    LINK_JOB = "link_job"  # bound to the link token's hash
    RIGHTS_NOTE = "rights_request"  # bound to the rights request's id


class Unreadable(InvalidInput):
    """A sealed value that does not open (altered, or sealed for something else)."""

    def __init__(self) -> None:
        super().__init__("a sealed value could not be opened")


class Sealer:
    """KMS ``Encrypt``/``Decrypt`` (at most 4 KB) with the purpose and id as encryption context."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, purpose: SealPurpose, bound_to: str, plaintext: bytes) -> bytes:
        response = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=plaintext, EncryptionContext={purpose.value: bound_to}
        )
        return bytes(response["CiphertextBlob"])

    def open(self, purpose: SealPurpose, bound_to: str, sealed: bytes) -> bytes:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            response = self._kms.decrypt(
                CiphertextBlob=sealed, EncryptionContext={purpose.value: bound_to}, KeyId=self._key_id
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise Unreadable() from None
            raise
        return bytes(response["Plaintext"])
