"""Consent renewal through the real handlers: asked once before the lapse, yes renews, no withdraws,
an unanswered consent lapses once, and a material notice change is re-confirmed at the next contact."""

from __future__ import annotations

from typing import Any

import pytest

from chatconsent.config import NoticeChange, current_config
from chatconsent.consent_state import ConsentState
from chatconsent.inbound.dispatch import RENEW_YES
from chatconsent.ledger import LedgerEvent
from chatconsent.schema import DocumentError
from chatconsent.store import keys
from chatconsent.wiring import Wiring
from localrun.aws import TABLE_NAME
from tests.conftest import Env
from tests.flow import PERSON, activate, button, deliver, replies_to, reply_text, subject_of, text

BOTH = {"customer_service": True, "marketing": True}
DAY = 86_400


def renewal(env: Env) -> dict[str, Any]:
    return env.invoke("renewal", {"job": "renewal"})


def events(env: Env, subject: str) -> list[tuple[str, str]]:
    return [(e.event.value, e.purpose) for e in env.wiring.consents.proof(subject).entries]


def lapses_at(env: Env, subject: str, purpose: str = "customer_service") -> int:
    return env.store.subjects.state(subject).consents[purpose].expires_at


def audience(env: Env) -> int:
    return env.store.campaigns.audience_size(keys.audience_partitions("marketing", ("de", "en", "it")), env.clock.now)


def to_ask_time(env: Env, subject: str, purpose: str = "customer_service") -> int:
    """The clock to the moment the job asks (30 days before the lapse); returns the lapse."""
    end = lapses_at(env, subject, purpose)
    env.clock.now = end - int(current_config().consent_renewal.ask_before.total_seconds()) + 60
    return end


def renewal_templates() -> list[dict[str, Any]]:
    return [m for m in replies_to() if m.get("type") == "template" and m["template"]["name"] == "consent_renewal"]


def asked_nonce(subject_state: Any) -> str:
    request = subject_state.renewal_request
    assert request is not None
    return str(request.nonce)


def test_outside_the_window_the_utility_template_asks_once_even_when_the_job_runs_twice(env: Env) -> None:
    activate(env, purposes=BOTH)
    subject = subject_of(env)
    to_ask_time(env, subject)
    first = renewal(env)
    assert first["outcomes"] == {"asked_by_template": 1} and first["due"] == 2  # one person, two consents
    [template] = renewal_templates()
    state = env.store.subjects.state(subject)
    [quick_reply] = [c for c in template["template"]["components"] if c.get("sub_type") == "quick_reply"]
    assert quick_reply["index"] == "0" and quick_reply["parameters"][0]["payload"] == RENEW_YES + asked_nonce(state)
    assert template["template"]["language"]["code"] == "en"
    assert state.renewal_request is not None and set(state.renewal_request.purposes) == {
        "customer_service",
        "marketing",
    }
    again = renewal(env)  # the same run again, and one later the same day: nothing is asked twice
    env.clock.advance(3600)
    later = renewal(env)
    assert again["due"] == 0 and later["due"] == 0 and len(renewal_templates()) == 1
    assert env.store.subjects.state(subject).active_purposes == ("customer_service", "marketing")


def test_in_the_window_it_asks_in_the_chat_with_yes_and_no(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    end = lapses_at(env, subject)
    env.clock.now = end - 30 * DAY - 3600
    deliver(env, text(env, "where is my parcel?"))  # the person wrote: the window is open
    env.clock.advance(3600 + 60)
    assert renewal(env)["outcomes"] == {"asked_in_window": 1}
    question = replies_to()[-1]
    assert question["type"] == "interactive" and renewal_templates() == []
    assert "ends in 30 days" in reply_text(question) and "Customer service" in reply_text(question)
    ids = [b["reply"]["id"] for b in question["interactive"]["action"]["buttons"]]
    nonce = asked_nonce(env.store.subjects.state(subject))
    assert ids == ["renew:yes:" + nonce, "renew:no:" + nonce]


def test_yes_renews_with_a_ledger_entry_and_moves_the_validity_and_the_reach_record(env: Env) -> None:
    activate(env, purposes=BOTH)
    subject = subject_of(env)
    old_end = to_ask_time(env, subject)
    renewal(env)
    nonce = asked_nonce(env.store.subjects.state(subject))
    deliver(env, button(env, RENEW_YES + nonce, "Yes"))  # the template's quick reply
    now = env.clock.now
    state = env.store.subjects.state(subject)
    validity = int(current_config().consent_validity.total_seconds())
    assert state.renewal_request is None and state.active_purposes == ("customer_service", "marketing")
    assert {p: r.expires_at for p, r in state.consents.items()} == {
        "customer_service": now + validity,
        "marketing": now + validity,
    }
    proof = env.wiring.consents.proof(subject)
    assert proof.verification.ok
    renewed = [e for e in proof.entries if e.event is LedgerEvent.CONSENT_RENEWED]
    assert sorted(e.purpose for e in renewed) == ["customer_service", "marketing"]
    assert all(
        e.notice_version == current_config().notice_version and e.evidence["method"] == "template" for e in renewed
    )
    assert all(e.evidence["previous_valid_until"] == str(old_end) for e in renewed)
    reach = {i["SK"]: i for i in env.subject_items(subject) if str(i["SK"]).startswith("S#REACH#")}
    assert reach["S#REACH#marketing"]["expires_at"] == now + validity
    assert state.consents["marketing"].address is not None  # still joined: the reach record follows the revision
    assert state.consents["marketing"].proof_hash == next(e.entry_hash for e in renewed if e.purpose == "marketing")
    assert "renewed for 2 years" in reply_text(replies_to()[-1])
    # the old lapse passes: nothing lapses, and the next ask comes 30 days before the new one
    env.clock.now = old_end + DAY
    assert renewal(env)["due"] == 0
    assert env.store.subjects.state(subject).active_purposes == ("customer_service", "marketing")
    assert audience(env) == 1
    deliver(env, button(env, RENEW_YES + nonce, "Yes"))  # the same tap again (a new delivery): stale
    assert len([e for e in env.wiring.consents.proof(subject).entries if e.event is LedgerEvent.CONSENT_RENEWED]) == 2


def test_no_withdraws_the_purposes_asked_about_and_says_what_remains(env: Env) -> None:
    activate(env)
    env.clock.advance(40 * DAY)
    activate(env, purposes={"marketing": True})  # a later consent: its own validity
    subject = subject_of(env)
    to_ask_time(env, subject)
    renewal(env)
    assert list(asked_request(env, subject).purposes) == ["customer_service"]  # only what ends now
    deliver(env, text(env, "Nein"))  # typed, or the template's second quick reply titled "No"
    state = env.store.subjects.state(subject)
    assert state.state_of("customer_service") is ConsentState.WITHDRAWN and state.renewal_request is None
    assert state.active_purposes == ("marketing",)
    assert events(env, subject)[-1] == ("consent_withdrawn", "customer_service")
    assert env.wiring.consents.proof(subject).entries[-1].evidence["source"] == "chat:renewal_declined"
    answer = reply_text(replies_to()[-1])
    assert "Customer service" in answer and "has ended" in answer and "Still active: Offers" in answer
    assert audience(env) == 1  # marketing goes on


def test_no_to_everything_that_is_left_withdraws_like_stop(env: Env) -> None:
    activate(env, purposes={"marketing": True})
    subject = subject_of(env)
    to_ask_time(env, subject, "marketing")
    renewal(env)
    deliver(env, text(env, "no"))
    state = env.store.subjects.state(subject)
    assert state.state_of("marketing") is ConsentState.WITHDRAWN and state.renewal_request is None
    assert not [i for i in env.subject_items(subject) if str(i["SK"]).startswith("S#REACH#")]
    assert "withdrawn" in reply_text(replies_to()[-1]) and audience(env) == 0
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))


def asked_request(env: Env, subject: str) -> Any:
    request = env.store.subjects.state(subject).renewal_request
    assert request is not None
    return request


def test_an_unanswered_consent_lapses_once_even_when_the_job_runs_twice(env: Env) -> None:
    activate(env, purposes=BOTH)
    subject = subject_of(env)
    end = to_ask_time(env, subject)
    renewal(env)
    assert audience(env) == 1
    env.clock.now = end - 2 * DAY
    deliver(env, text(env, "where is my parcel?"))  # not an answer: kept as a message
    kept = env.inbound_items(subject)
    assert len(kept) == 1 and kept[0]["expires_at"] > end
    env.clock.now = end - 1800  # the last run before the validity ends
    first = renewal(env)
    second = renewal(env)
    assert first["outcomes"] == {"lapsed": 2} and second["due"] == 0
    lapsed = [e for e in events(env, subject) if e[0] == "consent_lapsed"]
    assert sorted(lapsed) == [("consent_lapsed", "customer_service"), ("consent_lapsed", "marketing")]
    state = env.store.subjects.state(subject)
    assert state.active_purposes == () and state.state_of("marketing") is ConsentState.LAPSED
    assert state.renewal_request is None
    assert audience(env) == 0  # campaigns skip the person: the reach record went with the lapse
    assert not [i for i in env.subject_items(subject) if str(i["SK"]).startswith(("S#REACH#", "S#RENEW"))]
    assert env.wiring.consents.proof(subject).verification.ok
    # retention settled as for a withdrawal: the conversation falls under the withdrawn period
    plan = env.store.plan
    cap = plan.expires_at(plan_class("conversation_withdrawn"), env.clock.now)
    [message] = env.inbound_items(subject)
    assert message["expires_at"] <= cap
    env.clock.now = end + 60  # TTL time: the job still writes nothing more
    assert renewal(env)["due"] == 0 and len([e for e in events(env, subject) if e[0] == "consent_lapsed"]) == 2


def plan_class(name: str) -> Any:
    from chatconsent.retention import RetentionClass

    return RetentionClass(name)


def test_a_renewal_committed_while_the_lapse_runs_wins_cleanly(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    end = to_ask_time(env, subject)
    renewal(env)
    nonce = asked_nonce(env.store.subjects.state(subject))
    env.clock.now = end - 1800
    renewals = env.store.renewals
    original = renewals.lapse

    def yes_lands_first(*args: Any, **kwargs: Any) -> None:
        renewals.lapse = original  # type: ignore[method-assign]
        deliver(env, button(env, RENEW_YES + nonce, "Yes"))  # committed after the job read the state
        original(*args, **kwargs)

    renewals.lapse = yes_lands_first  # type: ignore[method-assign]
    result = renewal(env)
    assert result["outcomes"] == {"renewed_first": 1}
    assert [e for e in events(env, subject) if e[0] in ("consent_lapsed", "consent_renewed")] == [
        ("consent_renewed", "customer_service")
    ]
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)


def test_a_yes_after_the_lapse_renews_nothing(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    end = to_ask_time(env, subject)
    renewal(env)
    nonce = asked_nonce(env.store.subjects.state(subject))
    env.clock.now = end - 1800
    renewal(env)
    deliver(env, button(env, RENEW_YES + nonce, "Yes"))
    assert env.store.subjects.state(subject).state_of("customer_service") is ConsentState.LAPSED
    assert "consent_renewed" not in [e[0] for e in events(env, subject)]


def test_without_an_address_it_lapses_unasked(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    for item in env.subject_items(subject):  # consents given before the address was kept
        if str(item["SK"]).startswith("S#REACH#"):
            env.dynamodb.delete_item(TableName=TABLE_NAME, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}})
    end = to_ask_time(env, subject)
    sent = len(replies_to())
    assert renewal(env)["outcomes"] == {"unreachable": 1}
    assert len(replies_to()) == sent and env.store.subjects.state(subject).renewal_request is None
    env.clock.now = end - 1800
    assert renewal(env)["outcomes"] == {"lapsed": 1}


# -- material notice changes ------------------------------------------------------------------------


@pytest.fixture
def material(env: Env) -> Env:
    config = current_config()
    changes = {config.notice_version: NoticeChange(material=True)}
    env.wiring = Wiring(
        clock=env.clock,
        dynamodb=env.wiring.dynamodb,
        config=config.model_copy(update={"notice_changes": changes}),
        kms=env.wiring._kms,
    )
    return env


def consented_under(env: Env, subject: str, version: str) -> None:
    """The consent was given under an older notice version."""
    for item in env.subject_items(subject):
        if str(item["SK"]).startswith("S#CONSENT#"):
            env.dynamodb.update_item(
                TableName=TABLE_NAME,
                Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}},
                UpdateExpression="SET notice_version = :v",
                ExpressionAttributeValues={":v": {"S": version}},
            )


def test_a_material_notice_change_is_reconfirmed_once_at_the_next_contact(material: Env) -> None:
    env = material
    activate(env, purposes=BOTH)
    subject = subject_of(env)
    consented_under(env, subject, "2026-11-30.2")
    deliver(env, text(env, "where is my parcel?"))
    question = replies_to()[-1]
    assert question["type"] == "interactive" and "changed our privacy notice" in reply_text(question)
    assert len(env.inbound_items(subject)) == 1  # the message itself is kept as usual
    deliver(env, text(env, "and when will it arrive?"))  # asked once: the next message asks nothing
    assert replies_to()[-1] == question and len(env.inbound_items(subject)) == 2
    assert env.store.subjects.state(subject).active_purposes == ("customer_service", "marketing")  # still valid
    yes = question["interactive"]["action"]["buttons"][0]["reply"]
    deliver(env, button(env, yes["id"], yes["title"]))
    entries = env.wiring.consents.proof(subject).entries
    reconfirmed = [e for e in entries if e.event is LedgerEvent.CONSENT_RECONFIRMED]
    assert sorted(e.purpose for e in reconfirmed) == ["customer_service", "marketing"]
    version = current_config().notice_version
    assert all(
        e.notice_version == version and e.evidence["previous_notice_version"] == "2026-11-30.2" for e in reconfirmed
    )
    state = env.store.subjects.state(subject)
    assert {r.notice_version for r in state.consents.values()} == {version}
    assert "confirmed under the new privacy notice" in reply_text(replies_to()[-1])
    sent = len(replies_to())
    deliver(env, text(env, "thanks"))
    assert len(replies_to()) == sent  # confirmed: nothing more to ask


def test_a_clarifying_notice_change_asks_nothing(env: Env) -> None:
    activate(env)
    subject = subject_of(env)
    consented_under(env, subject, "2026-11-30.2")
    assert not current_config().is_material(current_config().notice_version)
    sent = len(replies_to())
    deliver(env, text(env, "where is my parcel?"))
    assert len(replies_to()) == sent and env.store.subjects.state(subject).renewal_request is None


def test_consent_under_the_current_notice_is_not_asked_even_when_it_is_material(material: Env) -> None:
    env = material
    activate(env)
    sent = len(replies_to())
    deliver(env, text(env, "where is my parcel?"))
    assert len(replies_to()) == sent


def test_a_campaign_after_the_lapse_reaches_only_those_still_consenting(env: Env) -> None:
    from tests.campaigns.helpers import campaign_messages, create, run
    from tests.flow import OTHER

    activate(env, purposes={"marketing": True})
    subject = subject_of(env)
    end = lapses_at(env, subject, "marketing")
    env.clock.now = end - 10 * DAY
    activate(env, purposes={"marketing": True}, sender=OTHER)  # consented later: still valid
    env.clock.now = end - 1800
    assert renewal(env)["outcomes"] == {"lapsed": 1}  # unasked (its ask was due while the job did not run)
    env.clock.now = end + 3 * 3600  # daytime for the quiet hours
    counts = run(env, create(env))
    assert campaign_messages("+" + OTHER) and not campaign_messages("+" + PERSON)
    assert counts.get("sent") == 1


def test_an_ask_the_messenger_could_not_take_is_sent_by_the_outbox_and_a_refused_one_is_dropped(env: Env) -> None:
    from chatconsent.channels.base import ChannelError
    from chatconsent.wiring import local_outbox
    from tests.campaigns.helpers import Provider, rejected, use_provider
    from tests.flow import OTHER

    activate(env)
    activate(env, sender=OTHER)
    subject = subject_of(env)
    to_ask_time(env, subject)
    before = len(renewal_templates())
    provider = Provider(local_outbox(), [rejected(131026), ChannelError("timed out")])
    use_provider(env, provider)
    # both asked (question, marks and the message owed in one transaction); the outbox sends
    assert renewal(env)["outcomes"] == {"asked_by_template": 2}
    env.drain_stream()  # the stream delivers again what the messenger did not take (the timeout)
    assert len(renewal_templates()) == before + 1 and provider.calls == 3  # the refused one is not tried again
    assert env.items_with_prefix("OUTBOX#") == []
    assert renewal(env)["outcomes"] == {}  # asked once per cycle, whatever became of the message


def test_one_persons_failure_fails_the_run_after_the_others_and_the_retry_completes(env: Env) -> None:
    from tests.flow import OTHER

    activate(env)
    activate(env, sender=OTHER)
    to_ask_time(env, subject_of(env))
    keyring = env.wiring.keyring
    assert keyring is not None
    original, calls = keyring.decrypt, []

    def first_fails(*args: Any) -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("throttled")
        return original(*args)

    keyring.decrypt = first_fails  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="incomplete"):
        renewal(env)
    env.drain_stream()  # the outbox sends what the run owed before it failed
    assert len(renewal_templates()) + len(renewal_templates_to(OTHER)) == 1  # the other person was asked
    assert renewal(env)["outcomes"] == {"asked_by_template": 1}  # the retry asks the one left: nothing was marked
    assert len(renewal_templates()) + len(renewal_templates_to(OTHER)) == 2


def renewal_templates_to(sender: str) -> list[dict[str, Any]]:
    return [m for m in replies_to(sender) if m.get("type") == "template" and m["template"]["name"] == "consent_renewal"]


@pytest.mark.parametrize("event", [{"job": "purge"}, {"job": "renewal", "extra": 1}, []])
def test_a_malformed_schedule_input_raises_so_the_scheduler_retries(env: Env, event: Any) -> None:
    with pytest.raises(DocumentError):
        env.invoke("renewal", event)
