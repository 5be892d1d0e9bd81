"""The outbox: every answer in the chat is written with the change it answers, then sent once.

The webhook never calls the provider: a provider that is down when the person sends their code no
longer costs them the yes/no question (Meta's retry is a duplicate, and the answer was owed with
the state change), and a change that did not commit owes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from chatconsent.channels.base import ChannelError, ChannelRejected
from chatconsent.outbox import Delivery
from chatconsent.snapshot import run_hooks, snapshot_hooks
from chatconsent.store import keys
from chatconsent.wiring import local_outbox
from localrun.aws import StreamPoller
from tests.conftest import Env
from tests.flow import PERSON, activate, button, deliver, last_buttons, replies_to, start_optin, text


class FlakyProvider:
    """The provider's side of the local outbox: refuses the next ``failures`` sends with ``error``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, error: ChannelError, failures: int = 1) -> None:
        self.error = error
        self.failures = failures
        self.attempts = 0
        outbox = local_outbox()
        original = outbox.deliver

        def deliver(channel: str, recipient: str, payload: Any) -> str:
            self.attempts += 1
            if self.failures > 0:
                self.failures -= 1
                raise self.error
            return original(channel, recipient, payload)

        monkeypatch.setattr(outbox, "deliver", deliver)


@pytest.fixture
def down(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyProvider]:
    yield FlakyProvider(monkeypatch, ChannelRejected("WhatsApp API unavailable", unavailable=True))


def owed(env: Env) -> list[dict[str, Any]]:
    return env.items_with_prefix("OUTBOX#")


def test_an_answer_is_owed_with_its_change_and_holds_nothing_in_clear(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = start_optin(env)
    monkeypatch.setattr(env, "drain_stream", lambda: 0)  # the outbox sender has not run yet
    deliver(env, text(env, f"My code: {started['code']}"))
    assert replies_to() == []  # the webhook called no provider
    (item,) = owed(env)
    assert item["retention_class"] == "outbox"
    assert item["kind"] == "confirmation_question"
    assert item["expires_at"] - item["created_at"] == 86_400
    stored = repr(item)
    for clear in (PERSON, PERSON[-7:], "Yes", "consent"):
        assert clear not in stored  # the address and the question are sealed
    state = env.store.subjects.state(item["subject"])
    assert state.pending is not None  # ...and the change it answers committed with it


def test_the_question_reaches_the_person_after_the_provider_failed_on_it(env: Env, down: FlakyProvider) -> None:
    """The lost send this product had: the provider fails on the yes/no question, Meta's retry of
    the code message is a duplicate; the question still arrives, once."""
    started = start_optin(env)
    code = text(env, f"My code: {started['code']}")
    assert deliver(env, code)["statusCode"] == 200
    assert down.attempts == 1 and replies_to() == []
    assert len(owed(env)) == 1  # still owed
    deliver(env, code)  # Meta delivers the webhook again: a duplicate, and the outbox tries again
    (question,) = replies_to()
    assert question["type"] == "interactive"
    assert owed(env) == []
    env.drain_stream()
    assert len(replies_to()) == 1  # never twice


def test_a_sent_answer_is_tracked_by_its_delivery_status(env: Env) -> None:
    activate(env)
    subject = env.wiring.pseudonymizer.subject("whatsapp", "+" + PERSON)
    kinds = sorted(str(i["kind"]) for i in env.subject_items(subject) if str(i["SK"]).startswith("M#OUT#"))
    assert kinds == ["activated", "confirmation_question"]
    assert owed(env) == []


def test_a_final_refusal_is_counted_and_not_tried_again(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    started = start_optin(env)
    provider = FlakyProvider(monkeypatch, ChannelRejected("WhatsApp API answered 400", 131026), failures=1)
    deliver(env, text(env, f"My code: {started['code']}"))
    assert provider.attempts == 1
    assert owed(env) == []  # dropped: an undeliverable number stays undeliverable
    env.drain_stream()
    assert provider.attempts == 1 and replies_to() == []


def test_a_record_delivered_twice_sends_once(env: Env) -> None:
    start = start_optin(env)
    deliver(env, text(env, f"My code: {start['code']}"))
    assert len(replies_to()) == 1
    stream = env.stream
    assert isinstance(stream, StreamPoller)
    stream._after = dict.fromkeys(stream._after)  # the whole stream delivered again
    env.drain_stream()
    assert len(replies_to()) == 1


def test_an_answer_older_than_its_class_is_not_sent(env: Env, down: FlakyProvider) -> None:
    start = start_optin(env)
    down.failures = 10
    deliver(env, text(env, f"My code: {start['code']}"))
    assert len(owed(env)) == 1
    env.clock.advance(86_400 + 1)
    down.failures = 0
    sender = env.wiring.outbox_sender
    (item,) = owed(env)
    assert sender.deliver(keys.ItemKey(item["PK"], item["SK"])) is Delivery.EXPIRED
    assert owed(env) == [] and replies_to() == []


def test_a_change_that_did_not_commit_owes_nothing(env: Env) -> None:
    bound = start_optin(env)
    deliver(env, text(env, f"My code: {bound['code']}"))
    yes, _ = last_buttons()
    deliver(env, text(env, "STOP"))  # the request is withdrawn: the yes finds nothing to activate
    before = len(replies_to())
    deliver(env, button(env, yes["id"]))
    assert len(replies_to()) == before
    assert owed(env) == []


def test_an_envelope_opens_only_at_its_own_item(env: Env, down: FlakyProvider) -> None:
    down.failures = 10
    activate(env)
    deliver(env, text(env, "HELP"))
    items = owed(env)
    assert len(items) >= 2
    store, sealer = env.store, env.wiring.outbox_sealer
    first, second = (store.outbox.get(keys.ItemKey(i["PK"], i["SK"])) for i in items[:2])
    assert first is not None and second is not None
    assert sealer.open(first)[0] == "+" + PERSON
    swapped = type(first)(second.key, first.message, first.created_at, first.expires_at)
    with pytest.raises(InvalidTag):
        sealer.open(swapped)


def test_a_snapstart_restore_forgets_the_outbox_key(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    generated: list[int] = []
    kms = env.wiring.outbox_sealer._kms
    original = kms.generate_data_key

    def generate(**kwargs: Any) -> Any:
        if kwargs["EncryptionContext"] == {"chatconsent": "outbox"}:  # not the person's own data key
            generated.append(1)
        return original(**kwargs)

    monkeypatch.setattr(kms, "generate_data_key", generate)
    activate(env)
    assert len(generated) == 1  # one data key for every answer of this container
    run_hooks(snapshot_hooks().get_after_restore())
    deliver(env, text(env, "HELP"))
    assert len(generated) == 2  # each restored environment makes its own
