"""Campaigns are WhatsApp templates: a marketing consent given on Telegram or Apple is not in their reach."""

from __future__ import annotations

from chatconsent.store import keys
from chatconsent.wiring import local_outbox
from tests import apple_flow, telegram_flow
from tests.campaigns.helpers import campaign_messages, create, run
from tests.conftest import TABLE_NAME, Env
from tests.flow import PERSON, activate


def test_a_campaign_writes_over_whatsapp_only_to_people_who_consented_on_whatsapp(env: Env) -> None:
    marketing = {"customer_service": True, "marketing": True}
    activate(env, purposes=marketing)  # WhatsApp
    telegram_flow.activate(env, purposes=marketing)
    apple_flow.activate(env, purposes=marketing)
    local_outbox().clear()
    counts = run(env, create(env))
    # the others are not in the audience at all: the campaign never reads their consents
    assert counts["sent"] == 1 and counts.get("skipped_other_channel", 0) == 0
    assert sum(counts.values()) == 1
    # never the chat id or the opaque id as if it were a number
    assert [m.recipient for m in local_outbox().messages] == ["+" + PERSON]
    assert len(campaign_messages("+" + PERSON)) == 1
    # the others' consents stay active: not being reachable by a campaign is not a withdrawal
    for subject in (telegram_flow.subject_of(env), apple_flow.subject_of(env)):
        assert env.store.subjects.state(subject).consents["marketing"].state.value == "active"


def test_a_reach_record_of_another_messenger_found_in_the_audience_is_skipped_at_the_claim(env: Env) -> None:
    """Reach records written before the audience index held WhatsApp consents only: the claim checks
    the consent's channel itself, so such a record is counted and never written to."""
    marketing = {"customer_service": True, "marketing": True}
    activate(env, purposes=marketing)
    telegram_flow.activate(env, purposes=marketing)
    subject = telegram_flow.subject_of(env)
    reach = keys.reach(subject, "marketing")
    env.dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={keys.PARTITION: {"S": reach.pk}, keys.SORT: {"S": reach.sk}},
        UpdateExpression="SET #aud = :aud, #at = :at",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeNames={"#aud": keys.AUDIENCE, "#at": keys.AUDIENCE_SORT},
        ExpressionAttributeValues={":aud": {"S": keys.audience("marketing", "en", subject)}, ":at": {"N": "0"}},
    )
    local_outbox().clear()
    counts = run(env, create(env))
    assert counts["sent"] == 1 and counts["skipped_other_channel"] == 1
    assert [m.recipient for m in local_outbox().messages] == ["+" + PERSON]
