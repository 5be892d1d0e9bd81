"""Campaigns are WhatsApp templates: a marketing consent given on Telegram or Apple is not in their reach."""

from __future__ import annotations

from chatconsent.wiring import local_outbox
from tests import apple_flow, telegram_flow
from tests.campaigns.helpers import campaign_messages, create, run
from tests.conftest import Env
from tests.flow import PERSON, activate


def test_a_campaign_writes_over_whatsapp_only_to_people_who_consented_on_whatsapp(env: Env) -> None:
    marketing = {"customer_service": True, "marketing": True}
    activate(env, purposes=marketing)  # WhatsApp
    telegram_flow.activate(env, purposes=marketing)
    apple_flow.activate(env, purposes=marketing)
    local_outbox().clear()
    counts = run(env, create(env))
    assert counts["sent"] == 1 and counts["skipped_other_channel"] == 2
    # never the chat id or the opaque id as if it were a number
    assert [m.recipient for m in local_outbox().messages] == ["+" + PERSON]
    assert len(campaign_messages("+" + PERSON)) == 1
    # the others' consents stay active: not being reachable by a campaign is not a withdrawal
    for subject in (telegram_flow.subject_of(env), apple_flow.subject_of(env)):
        assert env.store.subjects.state(subject).consents["marketing"].state.value == "active"
