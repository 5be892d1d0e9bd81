"""Every sample under events/ is invoked through the handler the template wires to its route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun.template import routes
from tests.conftest import Env
from tools.make_events import EVENTS, build

PAGE = Path(__file__).resolve().parent.parent / "functions" / "desk" / "page"
EXPECTED_STATUS = {
    "optin-post": 201,
    "optin-post-unticked": 422,
    "optin-post-link": 202,  # the same answer for every acceptable number
    "optin-settings": 200,
    "widget": 200,
    "confirm-show": 404,  # a token issued to nobody
    "confirm-answer": 404,
    "data-show": 404,  # an access link issued to nobody
    "data-download": 404,
    "notice-latest": 200,
    "notice-version": 200,
    "whatsapp-handshake": 200,
    "whatsapp-message": 200,
    "whatsapp-button-yes": 200,
    "whatsapp-status": 200,
    "whatsapp-forged": 401,
    "apple-message": 200,
    "apple-message-gzip": 200,
    "apple-quick-reply": 200,  # an answer to a question nobody asked: recorded, nothing changes
    "apple-close": 200,
    "apple-forged": 403,  # Apple's status for a token that does not validate
    "telegram-start": 200,
    "telegram-button-yes": 200,
    "telegram-blocked": 200,
    "telegram-forged": 403,
    "telegram-no-token": 401,
    "admin-consents": 200,
    "admin-messages": 200,
    "admin-reply": 409,  # nobody has consented under that pseudonym
    "admin-export": 200,
    "admin-erase": 200,
    "admin-audit": 200,
    "admin-conversations": 200,
    "admin-withdrawal": 200,  # nothing to withdraw under that pseudonym: a no-op
    "rights-register": 201,
    "rights-list": 200,
    "rights-show": 404,  # a request nobody registered
    "rights-extension": 404,
    "rights-closure": 404,
    "rights-restriction": 404,
    "rights-lift-restriction": 404,  # nobody restricted under that pseudonym
    "campaign-create": 201,
    "campaign-list": 200,
    "campaign-show": 404,  # a campaign nobody created
    "campaign-audience": 404,
    "campaign-approval": 404,
    "campaign-schedule": 404,
    "campaign-start": 404,
    "campaign-pause": 404,
    "campaign-resume": 404,
    "campaign-cancel": 404,
    "campaign-results": 404,
    "desk-page": 200 if (PAGE / "index.html").is_file() else 404,  # the page's files ship with the page
    "desk-asset": 200 if (PAGE / "desk.js").is_file() else 404,
    "desk-config": 200,
    "desk-me": 200,
    "desk-conversations": 200,
    "desk-conversation": 404,  # nobody under that pseudonym
    "desk-reply": 404,
    "desk-withdrawal": 404,
    "desk-proof": 404,
    "desk-export": 404,
    "desk-erase": 404,
    "desk-audit": 200,
    "desk-privacy-as-agent": 403,  # an agent on a privacy route
}
SCHEDULED = {"purge-schedule": "purge", "purge-schedule-after-outage": "purge", "renewal-schedule": "renewal"}
QUEUED = {"link-job": "linksender", "campaign-plan-job": "campaignplanner"}
FILES = sorted(EVENTS.glob("*.json"))


def test_every_sample_has_an_expectation() -> None:
    assert {f.stem for f in FILES} == set(EXPECTED_STATUS) | set(SCHEDULED) | set(QUEUED)


def test_every_route_has_a_sample() -> None:
    sampled = {json.loads(f.read_text())["routeKey"] for f in FILES if f.stem in EXPECTED_STATUS}
    assert {route.route_key for route in routes()} <= sampled


def test_samples_are_up_to_date() -> None:
    built = build()
    for file in FILES:
        assert json.loads(file.read_text()) == built[file.stem], f"{file.name} is stale: run `make events`"


@pytest.mark.parametrize("file", [f for f in FILES if f.stem in SCHEDULED], ids=lambda f: f.stem)
def test_schedule_sample_through_its_handler(env: Env, file: Path) -> None:
    result = env.invoke(SCHEDULED[file.stem], json.loads(file.read_text()))
    if SCHEDULED[file.stem] == "renewal":
        assert result == {"due": 0, "subjects": 0, "outcomes": {}}
    else:
        assert result["complete"] is True and result["items_deleted"] == 0


@pytest.mark.parametrize("file", [f for f in FILES if f.stem in QUEUED], ids=lambda f: f.stem)
def test_queue_sample_through_its_handler(env: Env, file: Path) -> None:
    assert env.invoke(QUEUED[file.stem], json.loads(file.read_text())) == {"batchItemFailures": []}


@pytest.mark.parametrize("file", [f for f in FILES if f.stem in EXPECTED_STATUS], ids=lambda f: f.stem)
def test_sample_through_its_handler(env: Env, file: Path) -> None:
    event = json.loads(file.read_text())
    [route] = [r for r in routes() if r.route_key == event["routeKey"]]
    response = env.invoke(Path(route.code_uri).name, event)
    assert response["statusCode"] == EXPECTED_STATUS[file.stem]
    if file.stem == "whatsapp-handshake":
        assert response["body"] == "1158201444"
