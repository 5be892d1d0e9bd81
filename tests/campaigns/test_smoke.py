from __future__ import annotations

from chatconsent.campaigns import Draft
from chatconsent.wiring import local_outbox
from tests.conftest import Env
from tests.flow import OTHER, PERSON, activate


def test_a_campaign_reaches_the_people_who_said_yes_to_marketing(env: Env) -> None:
    activate(env, purposes={"customer_service": True, "marketing": True}, sender=PERSON)
    activate(env, purposes={"customer_service": True}, sender=OTHER)
    service = env.wiring.campaigns
    campaign = service.create(Draft("weekly_offers", ("Winter sale",)), "alice")
    assert service.audience_size(campaign.campaign_id) == 1
    service.approve(campaign.campaign_id, "bob")
    local_outbox().clear()
    service.start(campaign.campaign_id)
    env.drain_campaigns()
    sent = local_outbox().messages
    assert [m.recipient for m in sent] == ["+" + PERSON]
    print(service.results(campaign.campaign_id))
