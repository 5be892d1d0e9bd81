"""Messages the product owes someone: sealed into the transaction of the change they answer, sent after.

:class:`OutboxSealer` turns an answer (text, buttons or template, and the address) into an
:class:`~chatconsent.store.OwedMessage`: AES-GCM under a data key from KMS (envelope encryption),
bound to the outbox item by its key. One data key serves a container for at most five minutes and
a bounded number of messages, so the webhook makes no KMS call for most answers; the sender
unwraps each data key once per container. Nothing unique is created at init (the first answer
creates the key) and a SnapStart restore forgets the keys (:meth:`OutboxSealer.forget_all`).

:class:`OutboxSender` delivers one owed message: it opens the envelope, sends through the channel
and deletes the item in one transaction with the outbound record that tracks the delivery status.
A provider that is down, throttles or times out raises :class:`~chatconsent.errors.TryAgain` (the
stream delivers the item again, then its position goes to the dead letters); a refusal that
cannot change (an invalid number, a closed window) drops the item and is counted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chatconsent.channels.base import RETRY_LATER, Button, Channel, ChannelError, ChannelRejected, UnknownChannel
from chatconsent.consent_state import ConsentState
from chatconsent.errors import TryAgain
from chatconsent.keyring import SubjectKeyring
from chatconsent.retention import RetentionClass
from chatconsent.store import Conflict, OutboxItem, OwedMessage, Store
from chatconsent.store.keys import ItemKey
from chatconsent.store.outbox import sealing_id

NONCE_BYTES = 12


@dataclass(frozen=True)
class Reply:
    """What to send: a text, a question with buttons, or an approved template."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    template: str = ""
    language: str = ""
    parameters: tuple[str, ...] = ()
    url_suffix: str | None = None
    quick_reply: tuple[int, str] | None = None  # a template's quick-reply button: (index, payload)

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[b.id, b.title] for b in self.buttons],
            "template": self.template,
            "language": self.language,
            "parameters": list(self.parameters),
            "url_suffix": self.url_suffix,
            "quick_reply": list(self.quick_reply) if self.quick_reply else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=str(data.get("text", "")),
            buttons=tuple(Button(str(i), str(t)) for i, t in data.get("buttons", [])),
            template=str(data.get("template", "")),
            language=str(data.get("language", "")),
            parameters=tuple(str(p) for p in data.get("parameters", [])),
            url_suffix=data.get("url_suffix"),
            quick_reply=(int(quick[0]), str(quick[1])) if (quick := data.get("quick_reply")) else None,
        )

    def kept(self) -> dict[str, str]:
        """What the conversation keeps of it (an agent's reply): the text, or the template and its values."""
        if self.template:
            return {"template": self.template, "text": " | ".join(self.parameters)}
        return {"text": self.text}

    def send(self, channel: Channel, to: str) -> str:
        """Through ``channel``; the provider's message id."""
        if self.template:
            return channel.send_template(
                to, self.template, self.language, self.parameters, self.url_suffix, self.quick_reply
            )
        if self.buttons:
            return channel.send_buttons(to, self.text, self.buttons)
        return channel.send_text(to, self.text)


@dataclass(frozen=True)
class Owing:
    """Who is owed what: the answer, to whom, and how its outbound record is kept (None: not at all);
    ``keeps``: the consent (purpose, revision) its content is kept under with the conversation."""

    subject: str
    channel: str
    address: str
    reply: Reply
    kind: str
    track: RetentionClass | None
    keeps: tuple[str, int] | None = None


class OutboxSealer:
    """Envelope encryption for owed messages (see the module's description)."""

    def __init__(self, kms: Any, kms_key_id: str, max_age: float = 300.0, max_messages: int = 10_000) -> None:
        self._kms = kms
        self._kms_key_id = kms_key_id
        self._max_age = max_age
        self._max_messages = max_messages
        self._current: tuple[float, bytes, bytes] | None = None  # (created, plaintext key, wrapped key)
        self._used = 0
        self._unwrapped: dict[bytes, bytes] = {}

    def _data_key(self) -> tuple[bytes, bytes]:
        now = time.monotonic()
        current = self._current
        if current is None or now - current[0] > self._max_age or self._used >= self._max_messages:
            generated = self._kms.generate_data_key(
                KeyId=self._kms_key_id, KeySpec="AES_256", EncryptionContext={"chatconsent": "outbox"}
            )
            current = (now, bytes(generated["Plaintext"]), bytes(generated["CiphertextBlob"]))
            self._current, self._used = current, 0
        self._used += 1
        return current[1], current[2]

    def seal(self, owing: Owing, message_hash: str, index: int) -> OwedMessage:
        """The owed message as the outbox keeps it: address and answer sealed, bound to its item."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415 (first answer only)

        key, wrapped = self._data_key()
        plaintext = json.dumps({"to": owing.address, "reply": owing.reply.as_dict()}, ensure_ascii=False).encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(key).encrypt(nonce, plaintext, sealing_id(message_hash, index).encode())
        return OwedMessage(
            message_hash, index, owing.subject, owing.channel, owing.kind, owing.track, sealed, wrapped, owing.keeps
        )

    def open(self, item: OutboxItem) -> tuple[str, Reply]:
        """The address and the answer of an owed message."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

        message = item.message
        key = self._unwrapped.get(message.wrapped_key)
        if key is None:
            response = self._kms.decrypt(
                CiphertextBlob=message.wrapped_key, EncryptionContext={"chatconsent": "outbox"}, KeyId=self._kms_key_id
            )
            key = bytes(response["Plaintext"])
            if len(self._unwrapped) >= 64:
                self._unwrapped.clear()
            self._unwrapped[message.wrapped_key] = key
        sealed = message.sealed
        associated = f"{item.key.pk}|{item.key.sk}".encode()
        content = json.loads(AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated))
        return str(content["to"]), Reply.from_dict(content["reply"])

    def forget_all(self) -> None:
        """After a SnapStart restore: each environment makes its own data key."""
        self._current, self._used = None, 0
        self._unwrapped.clear()


class Delivery(StrEnum):
    """What became of one owed message (a metric each)."""

    SENT = "sent"
    GONE = "gone"  # sent before (a stream record delivered twice) or given up
    EXPIRED = "expired"  # older than its class allows: not sent any more
    REFUSED = "refused"  # the provider refused it for good
    WITHDRAWN = "withdrawn"  # an agent's reply whose consent was withdrawn before it could be sent
    BLOCKED = "blocked"  # the person blocked the business on the channel: not sent, consent withdrawn


def retryable(error: ChannelError) -> bool:
    """Whether the provider may accept the same message later (a timeout is unknown: tried again)."""
    if not isinstance(error, ChannelRejected):
        return True
    return error.unavailable or error.retry_after is not None or error.code in RETRY_LATER


class OutboxSender:
    def __init__(
        self,
        store: Store,
        sealer: OutboxSealer,
        channels: Callable[[str], Channel],
        message_hash: Callable[[str, str], str],
        keyring: SubjectKeyring | None = None,
        on_blocked: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._on_blocked = on_blocked  # (subject, channel, address): the withdrawal a block means
        self._store = store
        self._sealer = sealer
        self._channels = channels
        self._message_hash = message_hash  # (channel, provider message id) → its keyed hash
        self._keyring = keyring  # seals an agent's reply kept with the conversation

    def deliver(self, key: ItemKey) -> Delivery:
        """Send the owed message at ``key`` once; TryAgain while the provider cannot take it."""
        outbox = self._store.outbox
        item = outbox.get(key)
        if item is None:
            return Delivery.GONE
        if not outbox.is_live(item):
            outbox.drop(item)
            return Delivery.EXPIRED
        message = item.message
        if message.keeps is not None and not self._still_active(message.subject, *message.keeps):
            outbox.drop(item)
            return Delivery.WITHDRAWN
        address, reply = self._sealer.open(item)
        try:
            channel = self._channels(message.channel)
        except UnknownChannel:  # a channel since removed from the registry: nothing can send it
            outbox.drop(item)
            return Delivery.REFUSED
        try:
            sent = reply.send(channel, address)
        except ChannelError as error:
            if retryable(error):
                raise TryAgain("the messenger did not take the message; it is sent again") from None
            if isinstance(error, ChannelRejected) and error.blocked and self._on_blocked is not None:
                self._on_blocked(message.subject, message.channel, address)  # first: a failure leaves the item
                outbox.drop(item)
                return Delivery.BLOCKED
            outbox.drop(item)
            return Delivery.REFUSED
        return Delivery.SENT if self._settle(item, reply, sent) else Delivery.GONE

    def _still_active(self, subject: str, purpose: str, rev: int) -> bool:
        record = self._store.subjects.state(subject).consents.get(purpose)
        return record is not None and record.state is ConsentState.ACTIVE and record.rev == rev

    def _settle(self, item: OutboxItem, reply: Reply, sent: str) -> bool:
        """Delete the item with the outbound record: its status only, or (an agent's reply) its content
        too, sealed with the person's key, if the consent it was written under is still as it was."""
        message, messages = item.message, self._store.messages
        if message.track is None:
            return self._store.outbox.settle(item)
        provider_hash = self._message_hash(message.channel, sent)
        if message.keeps is not None and self._keyring is not None:
            keyring, subject = self._keyring, message.subject
            content = json.dumps(reply.kept()).encode("utf-8")
            ops = messages.kept_outbound_ops(
                subject, provider_hash, message.kind, lambda item_id: keyring.encrypt(subject, item_id, content)
            )
            ops.append(self._store.guards.still_active_at(subject, *message.keeps))
            try:
                return self._store.outbox.settle(item, ops)
            except Conflict:  # withdrawn while the reply was on its way: its content is not kept
                pass
        return self._store.outbox.settle(
            item, [messages.outbound_op(message.subject, provider_hash, message.kind, message.track)]
        )

    def deliver_all(self, item_keys: Sequence[ItemKey]) -> tuple[list[Delivery], int | None]:
        """In order; stops at the first that must be tried again and returns its position."""
        outcomes: list[Delivery] = []
        for position, key in enumerate(item_keys):
            try:
                outcomes.append(self.deliver(key))
            except TryAgain:
                return outcomes, position
        return outcomes, None
