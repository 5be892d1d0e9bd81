"""After a withdrawal the conversation falls under the withdrawn period off the request path.

The webhook commits the withdrawal (consent records, ledger proof, block list) in one transaction
and answers; the table's stream brings that commit to the retention function, which moves the
person's stored items under ``conversation_withdrawn``. The tests call the inbound handler directly
where they look at the state between the answer and the stream's delivery (``Env.invoke`` drains
the stream after each invocation, as Lambda delivers it within a second or so).
"""

from __future__ import annotations

from typing import Any

import pytest

from localrun.functions import LambdaContext, load_function
from localrun.template import matches, stream_consumers
from tests.conftest import Env
from tests.flow import activate, deliver, subject_of, text, webhook_event


def _classes(env: Env, subject: str) -> set[str]:
    return {i["retention_class"] for i in env.inbound_items(subject)}


def _inbound_without_stream(env: Env, payload: dict[str, Any]) -> dict[str, Any]:
    module = load_function("functions/inbound")
    module.wiring = env.wiring
    response: dict[str, Any] = module.lambda_handler(webhook_event(payload), LambdaContext())
    return response


def _count_updates(env: Env) -> list[str]:
    updates: list[str] = []
    env.dynamodb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: updates.append(model.name) if model.name == "UpdateItem" else None
    )
    return updates


def test_the_webhook_answers_before_the_conversation_is_re_dated_and_the_stream_completes_it(env: Env) -> None:
    activate(env)
    for question in ("where is my parcel?", "and when?", "thanks"):
        deliver(env, text(env, question))
    subject = subject_of(env)
    assert _classes(env, subject) == {"conversation"}

    response = _inbound_without_stream(env, text(env, "STOP"))
    assert response["statusCode"] == 200
    assert env.store.subjects.state(subject).active_purposes == ()  # the withdrawal itself is synchronous
    assert _classes(env, subject) == {"conversation"}  # the items wait for the stream

    updates = _count_updates(env)
    assert env.drain_stream() >= 1  # the consent records' changes, filtered as the template says
    assert _classes(env, subject) == {"conversation_withdrawn"}
    redated = [i for i in env.subject_items(subject) if i["retention_class"] == "conversation_withdrawn"]
    assert len(redated) >= 4  # the three messages, the replies and the conversation summary
    assert len(updates) == len(redated)  # one UpdateItem each

    env.stream._after = dict.fromkeys(env.stream._after)  # type: ignore[union-attr]  # the whole stream delivered again
    env.drain_stream()
    assert len(updates) == len(redated)  # idempotent: nothing is re-dated twice


def test_only_changed_consent_records_reach_the_function(env: Env) -> None:
    delivered: list[dict[str, Any]] = []
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    env.stream._after = dict.fromkeys(env.stream._after)  # type: ignore[union-attr]
    env.stream.drain("RetentionFunction", lambda event, _: delivered.extend(event["Records"]), None)  # type: ignore[union-attr]
    assert delivered, "the activation changed the consent records"
    assert all(
        r["eventName"] == "MODIFY" and r["dynamodb"]["Keys"]["SK"]["S"].startswith("S#CONSENT#") for r in delivered
    )
    (consumer,) = [c for c in stream_consumers("ChatconsentTable") if c.function == "RetentionFunction"]
    assert consumer.function == "RetentionFunction"
    message = {"eventName": "INSERT", "dynamodb": {"Keys": {"SK": {"S": "M#IN#0000000001#abc"}}}}
    assert not any(matches(p, message) for p in consumer.patterns)


def test_an_active_conversation_is_left_alone(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    updates = _count_updates(env)
    env.stream._after = dict.fromkeys(env.stream._after)  # type: ignore[union-attr]  # the activation's records again
    env.drain_stream()
    assert updates == [] and _classes(env, subject_of(env)) == {"conversation"}


def test_a_failed_batch_is_delivered_again(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))
    subject = subject_of(env)
    _inbound_without_stream(env, text(env, "STOP"))
    consents = env.wiring.consents
    original = consents.settle_retention
    monkeypatch.setattr(consents, "settle_retention", lambda s: (_ for _ in ()).throw(TimeoutError("cut short")))
    with pytest.raises(TimeoutError):
        env.drain_stream()
    assert _classes(env, subject) == {"conversation"}
    monkeypatch.setattr(consents, "settle_retention", original)
    env.drain_stream()  # Lambda retries the batch
    assert _classes(env, subject) == {"conversation_withdrawn"}
