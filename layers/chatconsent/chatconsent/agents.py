"""The agents' desk: read a subject's conversation and reply, only under consent.

Agents see pseudonymous subjects and message texts, never the number: replies go to the address
sealed in the subject's last message. WhatsApp allows free-form text only within 24 hours of the
person's last message; outside that window a configured template is the only way to write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chatconsent.channels.base import Channel
from chatconsent.clock import Clock
from chatconsent.identity import Pseudonymizer
from chatconsent.keyring import SubjectKeyring
from chatconsent.store import ChatconsentTable

SERVICE_WINDOW_SECONDS = 24 * 3600
REPLY_PURPOSE = "customer_service"


class ReplyRefused(Exception):
    """The reply may not be sent; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ConversationMessage:
    received_at: int
    kind: str
    text: str | None
    button: str | None
    expires_at: int


class AgentDesk:
    def __init__(
        self,
        table: ChatconsentTable,
        keyring: SubjectKeyring,
        channel: Channel,
        pseudonymizer: Pseudonymizer,
        clock: Clock,
    ) -> None:
        self._table = table
        self._keyring = keyring
        self._channel = channel
        self._pseudonymizer = pseudonymizer
        self._clock = clock

    def conversation(self, subject: str) -> list[ConversationMessage]:
        messages = []
        for item in self._table.inbound_messages(subject):
            content = json.loads(self._keyring.decrypt(subject, item["SK"], item["sealed"]))
            messages.append(
                ConversationMessage(
                    item["received_at"], item["kind"], content.get("text"), content.get("button"), item["expires_at"]
                )
            )
        return messages

    def reply(self, subject: str, text: str) -> str:
        """Send ``text``; raises ReplyRefused without consent or outside the service window."""
        state = self._table.subject_state(subject)
        if REPLY_PURPOSE not in state.active_purposes:
            raise ReplyRefused("no active consent for customer service")
        messages = self._table.inbound_messages(subject)
        if not messages:
            raise ReplyRefused("the person has not written yet")
        last = messages[-1]
        if self._clock() - last["received_at"] > SERVICE_WINDOW_SECONDS:
            raise ReplyRefused("outside WhatsApp's 24-hour window: only a template may be sent")
        address = json.loads(self._keyring.decrypt(subject, last["SK"], last["sealed"]))["from"]
        sent = self._channel.send_text(address, text)
        content = json.dumps({"text": text}).encode("utf-8")
        self._table.record_outbound(
            subject,
            self._pseudonymizer.message(self._channel.name, sent),
            "agent_reply",
            lambda item_id: self._keyring.encrypt(subject, item_id, content),
        )
        return sent
