"""The playground's campaigns panel in Chromium (Debian's, driven by Playwright as in tests/browser):
a draft, the four-eyes refusal, approval as the other principal, the start, the campaign on the
simulated phone and its stop button."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.localrun.test_campaigns import opt_in

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
RECIPIENT = "+49 170 7654351"  # fictitious, this module's only


@pytest.fixture(scope="module")
def server(campaign_server: str) -> str:
    """This module's local run (tests/localrun/conftest.py: quiet hours off)."""
    return campaign_server


def in_its_own_thread(scenario: Callable[[Page], None], timeout: float = 180.0) -> None:
    """Run ``scenario`` on a fresh page in a thread of its own: Playwright's sync API refuses to start
    in a thread whose event loop already runs (tests/browser keeps one for the whole session)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            if not CHROMIUM.exists():
                pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (see tests/browser)")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 1000})
                    context.set_default_timeout(20_000)
                    scenario(context.new_page())
                finally:
                    browser.close()
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"the browser scenario did not end within {timeout:.0f} s")
    if errors:
        raise errors[0]


def test_a_campaign_from_draft_to_the_phone_and_its_stop_button(server: str) -> None:
    opt_in(server, RECIPIENT, {"customer_service": True, "marketing": True})
    in_its_own_thread(lambda page: campaign_in_the_panel(page, server))


def campaign_in_the_panel(page: Page, server: str) -> None:
    page.goto(f"{server}/playground")
    page.get_by_test_id("phone-number").fill(RECIPIENT)
    page.get_by_test_id("phone-number").press("Enter")

    expect(page.get_by_test_id("cp-template")).to_have_value("weekly_offers")
    page.get_by_test_id("cp-parameter").fill("Autumn sale")
    page.get_by_test_id("cp-create").click()
    row = page.get_by_test_id("cp-row").filter(has_text="Autumn sale")
    expect(row.get_by_test_id("cp-state")).to_have_text("draft")
    expect(row.get_by_test_id("cp-audience")).to_have_text("1")

    row.get_by_test_id("cp-approve").click()  # by its creator: four eyes refuse
    expect(page.get_by_test_id("cp-status")).to_contain_text("409 four eyes")
    page.get_by_test_id("cp-principal").select_option(label="local-approver")
    row.get_by_test_id("cp-approve").click()
    expect(row.get_by_test_id("cp-state")).to_have_text("approved")
    row.get_by_test_id("cp-start").click()
    expect(row.get_by_test_id("cp-state")).to_have_text("running")

    campaign = page.locator("[data-testid=msg][data-type=template]").filter(has_text="Autumn sale")
    expect(campaign).to_have_count(1)
    expect(row.get_by_test_id("cp-results")).to_contain_text("sent 1")
    stop = campaign.get_by_test_id("reply-button")
    expect(stop).to_have_text("Stop promotions")
    stop.click()
    expect(page.get_by_test_id("msg").filter(has_text="no more offers")).to_have_count(1)
    expect(page.get_by_test_id("phone-status")).to_be_empty()
    page.screenshot(path=str(ARTIFACTS / "playground-campaign.png"), full_page=True)
