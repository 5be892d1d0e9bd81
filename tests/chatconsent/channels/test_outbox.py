"""The local outbox: records what would be sent, per recipient, and forgets on request."""

from __future__ import annotations

import threading

from chatconsent.channels.base import MessageSender
from chatconsent.channels.outbox import Outbox, OutboxMessage

ALICE, BOB = "+491701234567", "+393471234567"


def test_records_in_order_with_fresh_ids() -> None:
    outbox = Outbox()
    first = outbox.deliver("whatsapp", ALICE, {"type": "text", "n": 1})
    second = outbox.deliver("whatsapp", BOB, {"type": "text", "n": 2})
    assert first != second and first.startswith("outbox.") and second.startswith("outbox.")
    messages = outbox.messages
    assert [m.id for m in messages] == [first, second]
    assert [m.payload["n"] for m in messages] == [1, 2]
    assert all(m.channel == "whatsapp" for m in messages)


def test_filters_by_recipient() -> None:
    outbox = Outbox()
    outbox.deliver("whatsapp", ALICE, {"n": 1})
    outbox.deliver("whatsapp", BOB, {"n": 2})
    outbox.deliver("whatsapp", ALICE, {"n": 3})
    assert [m.payload["n"] for m in outbox.to(ALICE)] == [1, 3]
    assert [m.payload["n"] for m in outbox.to(BOB)] == [2]
    assert outbox.to(ALICE.lstrip("+")) == []  # recipients are matched exactly
    assert outbox.to("+4900000000") == []


def test_clear_forgets_everything_but_ids_stay_unique() -> None:
    outbox = Outbox()
    before = outbox.deliver("whatsapp", ALICE, {"n": 1})
    outbox.clear()
    assert outbox.messages == [] and outbox.to(ALICE) == []
    after = outbox.deliver("whatsapp", ALICE, {"n": 2})
    assert after != before and len(outbox.messages) == 1


def test_messages_is_a_snapshot_and_payloads_are_copied() -> None:
    outbox = Outbox()
    payload: dict[str, object] = {"n": 1}
    outbox.deliver("whatsapp", ALICE, payload)
    payload["n"] = 2  # the caller changing its dict later does not change what was "sent"
    snapshot = outbox.messages
    snapshot.clear()
    assert [m.payload["n"] for m in outbox.messages] == [1]


def test_repr_hides_recipient_and_payload() -> None:
    message = OutboxMessage("outbox.1", "whatsapp", ALICE, {"text": {"body": "private question"}})
    shown = repr(message)
    assert "outbox.1" in shown
    assert not any(secret in shown for secret in (ALICE, ALICE.lstrip("+"), "private question"))


def test_concurrent_deliveries_are_all_kept_with_unique_ids() -> None:
    outbox = Outbox()

    def send(n: int) -> None:
        for i in range(50):
            outbox.deliver("whatsapp", ALICE, {"n": n * 100 + i})

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = outbox.messages
    assert len(messages) == 200 and len({m.id for m in messages}) == 200


def test_is_a_message_sender() -> None:
    sender: MessageSender = Outbox()
    assert sender.deliver("whatsapp", ALICE, {}).startswith("outbox.")
