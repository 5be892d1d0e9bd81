"""The playground: the widget beside a simulated phone, both double opt-in flows clicked through.

Each test uses its own fictitious number, so the tests do not depend on one another.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, expect

pytestmark = pytest.mark.browser

FLOW1_NUMBER = "+49 151 23456720"
FLOW2_NUMBER = "+49 151 23456730"


def open_playground(page: Page, server: str, number: str) -> FrameLocator:
    page.goto(f"{server}/playground")
    page.get_by_test_id("phone-number").fill(number)
    page.get_by_test_id("phone-number").press("Enter")
    widget = page.frame_locator("[data-testid=widget-frame]")
    expect(widget.get_by_test_id("notice-text")).not_to_be_empty()
    expect(widget.locator("#notice-title")).to_contain_text("2026-")
    return widget


def test_flow_1_chat_started(page: Page, context: BrowserContext, server: str, artifacts: Path) -> None:
    widget = open_playground(page, server, FLOW1_NUMBER)
    widget.get_by_test_id("purpose-customer_service").check()
    widget.get_by_test_id("submit").click()
    code = widget.get_by_test_id("code")
    expect(code).to_have_text(re.compile(r"^CC-[A-Z2-7]{26}$"))

    # The WhatsApp link is caught by the playground: its text lands in the phone's compose box.
    widget.get_by_test_id("link-whatsapp").click()
    compose = page.get_by_test_id("compose")
    expect(compose).to_be_focused()
    carries_code = (code.text_content() or "-") in compose.input_value()
    assert carries_code, "the compose box does not carry the widget's code"  # no message text in the output
    assert len(context.pages) == 1, "the WhatsApp link was not intercepted"

    page.get_by_test_id("send").click()
    expect(compose).to_have_value("")
    expect(page.get_by_test_id("msg-out")).to_have_count(1)
    question = page.locator("[data-testid=msg][data-type=buttons]")
    expect(question).to_have_count(1)
    expect(question).to_contain_text("Customer service")
    question.locator("[data-testid=reply-button][data-id^='optin:yes:']").click()

    expect(page.get_by_test_id("msg").filter(has_text="your consent is recorded")).to_have_count(1)
    expect(page.get_by_test_id("phone-status")).to_be_empty()
    page.screenshot(path=str(artifacts / "playground-flow1.png"), full_page=True)


def test_flow_2_link_confirmed(page: Page, context: BrowserContext, server: str, artifacts: Path) -> None:
    widget = open_playground(page, server, FLOW2_NUMBER)
    page.get_by_test_id("fill-widget-number").click()
    expect(widget.get_by_test_id("phone-toggle")).to_be_checked()
    copied = widget.get_by_test_id("phone-input").input_value() == FLOW2_NUMBER
    assert copied, "the phone's number was not copied into the widget"  # no number in the output
    widget.get_by_test_id("purpose-marketing").check()
    widget.get_by_test_id("submit").click()
    expect(widget.get_by_test_id("link-sent")).to_contain_text("a confirmation link is on its way")

    template = page.locator("[data-testid=msg][data-type=template]")
    expect(template).to_have_count(1)
    link = template.get_by_test_id("confirm-link")
    href = link.get_attribute("href") or ""
    assert href.startswith(f"{server}/confirm/"), "the template's link does not point at the confirmation page"

    with context.expect_page() as opened:
        link.click()
    confirm = opened.value
    confirm.wait_for_load_state()
    expect(confirm.locator("h1")).to_contain_text("Confirm messages from Example Shop GmbH")
    expect(confirm.locator("main")).to_contain_text("Offers and news")
    confirm.locator("button[name=decision][value=confirm]").click()
    expect(confirm.locator("h1")).to_have_text("Thank you: confirmed")

    # The link is single-use: opening it again changes nothing.
    again = confirm.goto(href)
    assert again is not None and again.status == 410
    expect(confirm.locator("h1")).to_have_text("Link already used")
    confirm.close()
    page.screenshot(path=str(artifacts / "playground-flow2.png"), full_page=True)


def test_phone_rejects_a_malformed_number(page: Page, server: str) -> None:
    page.goto(f"{server}/playground")
    page.get_by_test_id("phone-number").fill("12")
    page.get_by_test_id("phone-number").press("Enter")
    expect(page.get_by_test_id("phone-status")).to_contain_text("not a valid phone number")
    page.get_by_test_id("compose").fill("hello")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("msg-out")).to_have_count(0)


def test_the_widgets_telegram_link_opens_the_telegram_phone(
    page: Page, context: BrowserContext, server: str, artifacts: Path
) -> None:
    widget = open_playground(page, server, FLOW1_NUMBER)
    widget.get_by_test_id("channel-telegram").check()
    widget.get_by_test_id("purpose-customer_service").check()
    widget.get_by_test_id("submit").click()
    code = widget.get_by_test_id("code")
    expect(code).to_have_text(re.compile(r"^CC-[A-Z2-7]{26}$"))

    # The t.me deep link is caught: the Telegram-style phone opens with the code, as Telegram opens the bot.
    with context.expect_page() as opened:
        widget.get_by_test_id("link-telegram").click()
    phone = opened.value
    phone.wait_for_load_state()
    assert phone.url.startswith(f"{server}/playground/telegram?start=CC-"), "the phone did not get the code"
    phone.get_by_test_id("tg-start").click()
    expect(phone.get_by_test_id("tg-start")).to_be_hidden()
    expect(phone.get_by_test_id("tg-msg-out")).to_contain_text(code.text_content() or "-")
    phone.locator("[data-testid=tg-inline-button][data-callback^='optin:yes:']").click()
    expect(phone.get_by_test_id("tg-msg").filter(has_text="consent is recorded")).to_have_count(1)
    expect(phone.get_by_test_id("tg-status")).to_be_empty()

    phone.get_by_test_id("tg-compose").fill("STOP")
    phone.get_by_test_id("tg-send").click()
    expect(phone.get_by_test_id("tg-msg").filter(has_text="withdrawn")).to_have_count(1)
    phone.screenshot(path=str(artifacts / "playground-telegram.png"), full_page=True)


def test_the_telegram_phone_refuses_a_chat_id_that_is_none(page: Page, server: str) -> None:
    page.goto(f"{server}/playground/telegram")
    page.get_by_test_id("tg-chat-id").fill("-12")
    page.get_by_test_id("tg-compose").fill("hello")
    page.get_by_test_id("tg-send").click()
    expect(page.get_by_test_id("tg-status")).to_contain_text("positive integer")
    expect(page.get_by_test_id("tg-msg-out")).to_have_count(0)
    page.get_by_test_id("tg-random").click()
    assert re.fullmatch(r"[1-9][0-9]{8,9}", page.get_by_test_id("tg-chat-id").input_value())
