"""Every marketing message can be stopped in one tap: a campaign's stop button, and the configured words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chatconsent.config import BusinessConfig, current_config, load_config
from chatconsent.consent_state import ConsentState
from chatconsent.inbound.dispatch import MARKETING_STOP_BUTTON
from chatconsent.wiring import Wiring
from localrun import whatsapp
from tests.conftest import Env
from tests.flow import PERSON, PHONE_NUMBER_ID, activate, deliver, replies_to, reply_text, subject_of, text


def stop_button(env: Env, campaign: str, title: str = "Stop promotions") -> dict[str, object]:
    """The stop button of a campaign's message, tapped."""
    return whatsapp.template_reply(
        PERSON, title, MARKETING_STOP_BUTTON + campaign, phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock())
    )


def sources(env: Env) -> list[tuple[str, str]]:
    return [(e.purpose, e.evidence.get("source", "")) for e in env.wiring.consents.proof(subject_of(env)).entries]


def test_a_campaigns_stop_button_withdraws_marketing_only_once_and_names_the_campaign(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    subject = subject_of(env)
    tap = stop_button(env, "c-2026-11", title="Stop")
    deliver(env, tap)
    state = env.store.subjects.state(subject)
    assert state.active_purposes == ("customer_service",) and state.state_of("marketing") is ConsentState.WITHDRAWN
    answer = reply_text(replies_to()[-1])
    assert "no more offers" in answer and "Customer service" in answer  # what continues
    assert sources(env)[-1] == ("marketing", "chat:marketing_stop:c-2026-11")
    assert env.inbound_items(subject) == []  # handled, not kept as a message
    entries, sent = len(sources(env)), len(replies_to())
    deliver(env, tap)  # delivered twice: nothing more
    deliver(env, stop_button(env, "c-2026-12"))  # another campaign's button: nothing left to stop
    assert len(sources(env)) == entries and len(replies_to()) == sent
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)


def test_a_stop_button_with_an_odd_campaign_id_still_stops_without_writing_it(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, stop_button(env, "x" * 80))
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)
    assert sources(env)[-1] == ("marketing", "chat:marketing_stop")


def test_a_campaigns_stop_button_with_nothing_else_left_withdraws_everything(env: Env) -> None:
    activate(env, purposes={"marketing": True})
    deliver(env, stop_button(env, "c-2026-11"))
    assert env.store.subjects.state(subject_of(env)).active_purposes == ()
    assert "withdrawn" in reply_text(replies_to()[-1])
    assert env.store.guards.is_suppressed(env.wiring.pseudonymizer.suppression("whatsapp", "+" + PERSON))


def reconfigured(env: Env, config: BusinessConfig) -> Env:
    env.wiring = Wiring(clock=env.clock, dynamodb=env.wiring.dynamodb, config=config, kms=env.wiring._kms)
    return env


@pytest.fixture
def own_words(env: Env) -> Iterator[Env]:
    """The business adds its own marketing stop words."""
    config = current_config()
    campaigns = config.campaigns.model_copy(update={"stop_words": ("Werbestopp", "basta newsletter")})
    yield reconfigured(env, config.model_copy(update={"campaigns": campaigns}))


def test_the_configured_stop_words_stop_marketing_only(own_words: Env) -> None:
    env = own_words
    activate(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, "WERBESTOPP!"))
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)
    assert sources(env)[-1] == ("marketing", "chat:marketing_stop")
    assert "Customer service" in reply_text(replies_to()[-1])
    deliver(env, text(env, "Stop promotions"))  # the built-in words still count: nothing left to stop
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)


@pytest.fixture
def offers(env: Env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """A business whose campaigns write under a purpose called "offers" (no "marketing" anywhere)."""
    raw = current_config().model_dump(mode="json")
    renamed = json.dumps(raw).replace('"marketing"', '"offers"')
    path = tmp_path_factory.mktemp("config") / "config.json"
    path.write_text(renamed, encoding="utf-8")
    config = load_config(path)
    assert config.campaigns.purpose == "offers" and "marketing" not in config.purpose_ids
    yield reconfigured(env, config)


def test_the_marketing_purpose_is_the_configured_one(offers: Env) -> None:
    env = offers
    activate(env, purposes={"customer_service": True, "offers": True})
    subject = subject_of(env)
    deliver(env, stop_button(env, "c-1"))
    assert env.store.subjects.state(subject).active_purposes == ("customer_service",)
    assert sources(env)[-1] == ("offers", "chat:marketing_stop:c-1")


def test_whatsapps_in_app_stop_withdraws_the_configured_purpose(offers: Env) -> None:
    env = offers
    activate(env, purposes={"customer_service": True, "offers": True})
    preference = whatsapp.user_preferences(PERSON, "stop", phone_number_id=PHONE_NUMBER_ID, timestamp=int(env.clock()))
    deliver(env, preference)
    assert env.store.subjects.state(subject_of(env)).active_purposes == ("customer_service",)
    assert sources(env)[-1] == ("offers", "whatsapp:user_preferences")
