"""Link-confirmed opt-in, the send: one template message per accepted request, off the request path.

``POST /optin`` only writes the request and queues a job, whatever is known about the number,
so its answer takes the same time for every acceptable number; this job does the provider call.
Queues deliver at least once: the send is claimed on the request first, so a job delivered
twice sends once, and a request closed in the meantime (STOP, erasure, expiry) sends nothing.
The job never holds the number in clear: it is sealed under the KMS key, bound to the token's hash
(:mod:`chatconsent.sealing`), and opened only here, right before the provider call.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from chatconsent.channels.base import RETRY_LATER, Channel, ChannelError, ChannelRejected
from chatconsent.config import BusinessConfig, ChannelName, Language
from chatconsent.errors import TryAgain
from chatconsent.identity import Pseudonymizer
from chatconsent.keyring import SubjectKeyring
from chatconsent.schema import Document, constrained
from chatconsent.sealing import Sealer, SealPurpose
from chatconsent.store import OptInRequest, Store
from chatconsent.store.keys import ADDRESS_ID
from chatconsent.tokens import LINK_TOKEN_PATTERN, token_hash


class LinkJob(Document):
    """What the queue carries: the token (in plain form nowhere else) and the number, sealed."""

    token: str = constrained(pattern=LINK_TOKEN_PATTERN, repr=False)
    sealed_number: str = constrained(
        pattern=r"^[A-Za-z0-9+/]+={0,2}$", max_length=2048, repr=False, description="KMS ciphertext, base64"
    )
    channel: ChannelName  # a channel whose settings have link_confirmation (today WhatsApp's)
    language: Language

    def number(self, sealer: Sealer) -> str:
        """The number, opened (only for the provider call and the person's own key)."""
        blob = base64.b64decode(self.sealed_number)
        return sealer.open(SealPurpose.LINK_JOB, token_hash(self.token), blob).decode("utf-8")


def seal_number(sealer: Sealer, token: str, number: str) -> str:
    """The number sealed for the job of ``token`` (base64): opens only with that token's hash."""
    blob = sealer.seal(SealPurpose.LINK_JOB, token_hash(token), number.encode("utf-8"))
    return base64.b64encode(blob).decode("ascii")


class SendOutcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # closed, expired or already sent
    REJECTED = "rejected"  # the provider refused: the request is released, the person may try again


NOTHING_TO_SEND = '{"send":false}'  # the job of a request that sends nothing (blocked, pending)


class LinkQueue:
    """Queues jobs on SQS (``LINK_QUEUE_URL``)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def enqueue(self, job: LinkJob | None) -> None:
        body = job.model_dump_json() if job is not None else NOTHING_TO_SEND
        self._sqs.send_message(QueueUrl=self._url, MessageBody=body)


class LinkSender:
    def __init__(
        self,
        store: Store,
        pseudonymizer: Pseudonymizer,
        config: BusinessConfig,
        channel: Callable[[], Channel],
        sealer: Sealer,
        keyring: SubjectKeyring | None = None,
    ) -> None:
        self._sealer = sealer
        self._store = store
        self._pseudonymizer = pseudonymizer
        self._config = config
        self._channel = channel
        self._keyring = keyring

    def send(self, job: LinkJob) -> SendOutcome:
        request = self._store.optins.request(token_hash(job.token))
        if request is None or request.flow != "link" or request.status != "pending":
            return SendOutcome.SKIPPED
        settings = getattr(self._config.channels.settings(job.channel), "link_confirmation", None)
        if settings is None:  # not a channel that sends links (the API refuses those requests)
            return SendOutcome.SKIPPED
        number = job.number(self._sealer)  # opened before the claim: a failure here leaves the send to a retry
        if not self._store.optins.claim_link_send(request.code_hash):
            if request.address is None:  # the first delivery sent it but stopped before keeping the number
                self._store.optins.record_link_address(request.code_hash, self._seal(request, number))
            return SendOutcome.SKIPPED  # delivered twice: the first delivery sent it
        try:
            message_id = self._channel().send_template(
                number,
                settings.template_name,
                settings.template_languages[job.language],
                [self._config.controller.name],
                url_suffix=job.token,
            )
        except ChannelRejected as rejected:
            if rejected.unavailable or rejected.code in RETRY_LATER:
                self._store.optins.unclaim_link_send(request.code_hash)
                raise TryAgain("the messenger did not take the link now; the job comes again") from None
            self._store.optins.release_link_request(request)
            return SendOutcome.REJECTED
        except ChannelError:
            # No answer in time: perhaps sent. The job comes again and sends the same link once more
            # rather than never (the token is single-use: a second copy opens nothing new).
            self._store.optins.unclaim_link_send(request.code_hash)
            raise TryAgain("the messenger did not answer in time; the job comes again") from None
        message_hash = self._pseudonymizer.message(job.channel, message_id)
        self._store.optins.record_link_sent(request.code_hash, message_hash, self._seal(request, number))
        return SendOutcome.SENT

    def _seal(self, request: OptInRequest, number: str) -> bytes | None:
        """The number, sealed with the person's key: a click keeps it with the consent (campaigns write to it)."""
        if self._keyring is None or not request.subject:
            return None
        return self._keyring.encrypt(request.subject, ADDRESS_ID, number.encode("utf-8"))
