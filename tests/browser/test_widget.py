"""The opt-in widget in Chromium: unticked boxes, the hash of the notice shown, languages, errors."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.browser.conftest import ROOT, get_json

pytestmark = pytest.mark.browser

PURPOSES = ("customer_service", "marketing", "health_data")
TITLES = ("Customer service", "Offers and news", "Health information")
WIDGET_FILE = ROOT / "functions" / "optin" / "widget" / "index.html"


def open_widget(page: Page, server: str, query: str = "") -> None:
    page.goto(f"{server}/widget{query}")
    wait_for_notice(page)


def wait_for_notice(page: Page) -> None:
    """The notice is on screen and its hash computed (the details' title names the version)."""
    expect(page.get_by_test_id("notice-text")).not_to_be_empty()
    expect(page.locator("#notice-title")).to_contain_text("2026-")


def shown_notice_hash(page: Page) -> str:
    text = page.get_by_test_id("notice-text").text_content() or ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_optin_post(request: Request) -> bool:
    return request.method == "POST" and request.url.split("?")[0].endswith("/optin")


def posted(request: Request) -> dict[str, Any]:
    body = request.post_data_json
    assert isinstance(body, dict)
    return body


def fulfil_json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    def handler(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body), headers=headers or {})

    return handler


def test_boxes_start_unticked_and_submit_needs_a_ticked_purpose(page: Page, server: str) -> None:
    open_widget(page, server)
    submit = page.get_by_test_id("submit")
    for purpose in PURPOSES:
        expect(page.get_by_test_id(f"purpose-{purpose}")).not_to_be_checked()
    expect(submit).to_be_disabled()

    page.get_by_test_id("purpose-marketing").check()
    expect(submit).to_be_enabled()
    page.get_by_test_id("purpose-health_data").check()
    page.get_by_test_id("purpose-marketing").uncheck()
    expect(submit).to_be_enabled()
    page.get_by_test_id("purpose-health_data").uncheck()
    expect(submit).to_be_disabled()

    # The special category is marked as explicit consent under Art. 9, and every box has a label.
    expect(page.locator("#p-health_data-s")).to_contain_text("Art. 9")
    for purpose, title in zip(PURPOSES, TITLES, strict=True):
        expect(page.get_by_label(title, exact=True)).to_have_attribute("data-testid", f"purpose-{purpose}")
    # A channel is not a consent: the only one may be preselected.
    expect(page.get_by_test_id("channel-whatsapp")).to_be_checked()


def widget_version() -> str:
    [version] = re.findall(r'<meta name="widget-version" content="([^"]+)">', WIDGET_FILE.read_text("utf-8"))
    return version


def with_age_check(page: Page, age: int = 16) -> None:
    """The settings of a business that asks for a minimum age (the real settings, and the check)."""

    def handler(route: Route) -> None:
        response = route.fetch()
        settings = response.json()
        assert settings["age_check"] is None
        settings["age_check"] = {
            "minimum_age": age,
            "statement": {
                "en": f"I am at least {age} years old.",
                "de": f"Ich bin mindestens {age} Jahre alt.",
                "it": f"Ho almeno {age} anni.",
            },
            "hint": {"en": "Why: Art. 8", "de": "Warum: Art. 8", "it": "Perché: art. 8"},
            "need": {"en": "Confirm your age first.", "de": "Bestätigen Sie zuerst Ihr Alter.", "it": "Confermi."},
        }
        route.fulfill(response=response, json=settings)

    page.route("**/optin/settings", handler)


def test_a_minimum_age_is_confirmed_before_any_purpose(page: Page, server: str) -> None:
    with_age_check(page)
    open_widget(page, server)
    age, submit = page.get_by_test_id("age-confirm"), page.get_by_test_id("submit")
    expect(age).to_be_visible()
    expect(age).not_to_be_checked()
    expect(page.get_by_label("I am at least 16 years old.", exact=True)).to_have_attribute("data-testid", "age-confirm")
    order = page.evaluate("() => [...document.querySelectorAll('input[type=checkbox]')].map(i => i.dataset.testid)")
    assert order == ["age-confirm", *(f"purpose-{p}" for p in PURPOSES)]  # its own box, before every purpose
    for purpose in PURPOSES:
        expect(page.get_by_test_id(f"purpose-{purpose}")).to_be_disabled()
    expect(submit).to_be_disabled()
    expect(page.locator("#need")).to_have_text("Confirm your age first.")
    expect(age).to_have_attribute("aria-describedby", "age-hint")
    expect(page.locator("#age-hint")).to_have_text("Why: Art. 8")

    age.check()
    page.get_by_test_id("purpose-customer_service").check()
    expect(submit).to_be_enabled()
    age.uncheck()  # taken back: nothing can be sent
    expect(page.get_by_test_id("purpose-marketing")).to_be_disabled()
    expect(submit).to_be_disabled()
    page.get_by_test_id("lang-de").click()
    expect(page.get_by_label("Ich bin mindestens 16 Jahre alt.", exact=True)).not_to_be_checked()
    expect(page.locator("#need")).to_have_text("Bestätigen Sie zuerst Ihr Alter.")
    wait_for_notice(page)
    age.check()

    with page.expect_request(is_optin_post) as captured:
        submit.click()
    body = posted(captured.value)
    assert body["age_confirmed"] is True and body["purposes"] == {"customer_service": True}
    assert body["widget_version"] == widget_version()
    expect(page.get_by_test_id("code")).to_contain_text("CC-")  # the server takes the field (and the version)
    expect(page.get_by_test_id("error")).to_be_empty()


def test_screenshot_of_the_form(page: Page, server: str, artifacts: Path) -> None:
    open_widget(page, server)
    page.get_by_test_id("notice").locator("summary").click()
    expect(page.get_by_test_id("notice-text")).to_be_visible()
    assert page.get_by_test_id("notice-text").evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    page.get_by_test_id("purpose-health_data").check()
    page.get_by_test_id("phone-toggle").check()
    page.screenshot(path=str(artifacts / "widget-form.png"), full_page=True)


def test_posted_hash_is_the_hash_of_the_notice_shown_then_code_link_qr_countdown(
    page: Page, server: str, artifacts: Path
) -> None:
    open_widget(page, server)
    status, notice = get_json(f"{server}/notices/en")
    assert status == 200
    page.get_by_test_id("purpose-customer_service").check()

    with page.expect_request(is_optin_post) as captured:
        page.get_by_test_id("submit").click()
    body = posted(captured.value)
    shown = shown_notice_hash(page)
    assert body["notice_sha256"] == shown == notice["sha256"]
    assert body["purposes"] == {"customer_service": True}  # only ticked purposes, each exactly true
    assert body["language"] == "en" and body["channel"] == "whatsapp"
    assert body["notice_version"] == notice["version"]
    assert "phone" not in body
    _, settings = get_json(f"{server}/optin/settings")
    assert body["widget_version"] == settings["widget_version"] == widget_version()  # recorded in the proof
    assert "age_confirmed" not in body  # no minimum age configured: no question, no field

    link = page.get_by_test_id("link-whatsapp")
    expect(link).to_be_visible()
    assert (link.get_attribute("href") or "").startswith("https://wa.me/")
    assert "noopener" in (link.get_attribute("rel") or "")
    qr = page.get_by_test_id("qr")
    expect(qr).to_be_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    assert qr.get_attribute("alt")
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=qr]'); return i.naturalWidth > 0 }")
    expect(page.get_by_test_id("code")).to_have_text(re.compile(r"^CC-[A-Z2-7]{26}$"))
    countdown = page.get_by_test_id("countdown")
    expect(countdown).to_have_text(re.compile(r"^[0-9]{2}:[0-5][0-9]$"))
    minutes, seconds = map(int, (countdown.text_content() or "").split(":"))
    assert 55 * 60 < minutes * 60 + seconds <= 60 * 60
    expect(page.get_by_test_id("error")).to_be_empty()
    page.screenshot(path=str(artifacts / "widget-code.png"), full_page=True)


def test_language_switch_changes_lang_texts_and_notice(page: Page, server: str) -> None:
    open_widget(page, server)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_test_id("purpose-marketing").check()

    for language, title in (("de", "Kundenservice"), ("it", "Assistenza clienti"), ("en", "Customer service")):
        _, notice = get_json(f"{server}/notices/{language}")
        page.get_by_test_id(f"lang-{language}").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_test_id(f"lang-{language}")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("label[for=p-customer_service]")).to_have_text(title)
        page.wait_for_function(
            "t => document.querySelector('[data-testid=notice-text]').textContent === t", arg=notice["text"]
        )
        wait_for_notice(page)
        assert shown_notice_hash(page) == notice["sha256"]
        # Nothing was ticked or unticked behind the person's back.
        expect(page.get_by_test_id("purpose-marketing")).to_be_checked()
        expect(page.get_by_test_id("purpose-customer_service")).not_to_be_checked()
        expect(page.get_by_test_id("summary").locator("li").first).to_be_visible()
    page.get_by_test_id("lang-de").click()
    expect(page.get_by_test_id("submit")).to_have_text("Weiter")

    # The posted language and hash follow the switch.
    page.route("**/optin", fulfil_json(400, {"error": "test"}))
    page.get_by_test_id("purpose-marketing").uncheck()
    page.get_by_test_id("purpose-customer_service").check()
    wait_for_notice(page)
    with page.expect_request(is_optin_post) as captured:
        page.get_by_test_id("submit").click()
    _, german = get_json(f"{server}/notices/de")
    assert posted(captured.value)["language"] == "de"
    assert posted(captured.value)["notice_sha256"] == german["sha256"] == shown_notice_hash(page)


def test_visitor_language_comes_from_the_browser(browser: Browser, server: str) -> None:
    context = browser.new_context(locale="it-IT")
    try:
        page = context.new_page()
        open_widget(page, server)
        expect(page.locator("html")).to_have_attribute("lang", "it")
        expect(page.locator("label[for=p-customer_service]")).to_have_text("Assistenza clienti")
    finally:
        context.close()


def test_rate_limited_says_when_to_try_again(page: Page, server: str) -> None:
    page.route("**/optin", fulfil_json(429, {"error": "too many requests, try again later"}, {"Retry-After": "120"}))
    open_widget(page, server)
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("Too many attempts")
    expect(error).to_contain_text("in 2 minutes")
    expect(error).to_have_attribute("aria-live", "assertive")
    expect(page.get_by_test_id("submit")).to_be_enabled()  # the person can try again later


def test_notice_changed_offers_a_reload(page: Page, server: str) -> None:
    page.route("**/optin", fulfil_json(409, {"error": "the notice text shown differs: reload the page"}))
    open_widget(page, server)
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("privacy notice has changed")
    with page.expect_response(lambda r: r.url.endswith("/notices/en")):
        error.get_by_test_id("error-action").click()
    expect(page.get_by_test_id("notice")).to_have_attribute("open", "")
    wait_for_notice(page)
    expect(error).to_be_empty()


def test_other_rejections_show_the_servers_reason(page: Page, server: str) -> None:
    page.route("**/optin", fulfil_json(400, {"error": "unknown purpose: nonsense"}))
    open_widget(page, server)
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error")).to_contain_text("Not accepted: unknown purpose: nonsense")


def test_schema_rejections_name_the_field(page: Page, server: str) -> None:
    detail = {"statusCode": 422, "detail": [{"loc": ["body", "phone"], "type": "string_too_long"}]}
    page.route("**/optin", fulfil_json(422, detail))
    open_widget(page, server)
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error")).to_contain_text("Not accepted: phone: string_too_long")


def test_offline_is_explained(page: Page, context: BrowserContext, server: str) -> None:
    open_widget(page, server)
    page.get_by_test_id("purpose-customer_service").check()
    context.set_offline(True)
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("offline")
    context.set_offline(False)
    expect(error).to_be_empty()


def test_network_failure_is_explained_as_offline(page: Page, server: str) -> None:
    page.route("**/optin", lambda route: route.abort("internetdisconnected"))
    open_widget(page, server)
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error")).to_contain_text("offline")


def test_a_notice_whose_hash_differs_is_never_submitted(page: Page, server: str) -> None:
    _, notice = get_json(f"{server}/notices/en")
    tampered = {**notice, "text": notice["text"] + "\nAn extra line the controller never published."}
    page.route("**/notices/en", lambda route: route.fulfill(json=tampered))
    posted: list[Request] = []
    page.on("request", lambda request: posted.append(request) if is_optin_post(request) else None)
    open_widget(page, server)
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("could not be verified")
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()
    expect(error).to_contain_text("nothing was sent")
    page.wait_for_timeout(300)
    assert posted == []


def test_expired_code_offers_a_restart(page: Page, server: str) -> None:
    started = {
        "request_id": "00000000-0000-4000-8000-000000000000",
        "code": "CC-" + "A" * 26,
        "expires_at": 0,  # set when answered
        "links": {"whatsapp": "https://wa.me/4930123456789?text=test"},
        "qr_svg": None,
        "notice_version": "2026-12-01",
        "notice_sha256": "0" * 64,
    }

    def answer(route: Route) -> None:
        started["expires_at"] = int(time.time()) + 4
        route.fulfill(status=201, json=started)

    page.route("**/optin", answer)
    open_widget(page, server)
    page.get_by_test_id("purpose-marketing").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("link-whatsapp")).to_be_visible()
    expect(page.get_by_test_id("countdown")).to_have_text(re.compile(r"^00:0[1-4]$"))
    expect(page.get_by_test_id("countdown")).to_have_text("00:00", timeout=8_000)
    expect(page.get_by_test_id("error")).to_contain_text("expired")
    expect(page.get_by_test_id("link-whatsapp")).to_be_hidden()
    page.get_by_test_id("restart").click()
    expect(page.get_by_test_id("submit")).to_be_visible()
    for purpose in PURPOSES:
        expect(page.get_by_test_id(f"purpose-{purpose}")).not_to_be_checked()
    expect(page.get_by_test_id("submit")).to_be_disabled()


def test_link_mode_sends_the_phone_and_answers_the_same_for_everyone(page: Page, server: str) -> None:
    open_widget(page, server)
    phone = page.get_by_test_id("phone-input")
    expect(phone).to_be_hidden()
    page.get_by_test_id("phone-toggle").check()
    expect(phone).to_be_visible()
    expect(phone).to_have_attribute("type", "tel")
    expect(phone).to_have_attribute("autocomplete", "tel")
    expect(page.get_by_label("Your WhatsApp number")).to_have_count(1)
    page.get_by_test_id("purpose-customer_service").check()

    posted_bodies: list[Request] = []
    page.on("request", lambda request: posted_bodies.append(request) if is_optin_post(request) else None)
    for typed in ("", "12"):  # no number, or one that cannot be: refused in the page
        phone.fill(typed)
        page.get_by_test_id("submit").click()
        expect(page.get_by_test_id("error")).to_contain_text("enter your WhatsApp number")
        expect(phone).to_be_focused()
        expect(phone).to_have_attribute("aria-invalid", "true")
    assert posted_bodies == []

    phone.fill("+49 151 23456710")
    with page.expect_request(is_optin_post) as captured:
        page.get_by_test_id("submit").click()
    same_number = posted(captured.value)["phone"] == "+49 151 23456710"
    assert same_number, "the number typed is not the one posted"  # no number in the output
    sent = page.get_by_test_id("link-sent")
    expect(sent).to_be_visible()
    expect(sent).to_contain_text("a confirmation link is on its way")
    expect(sent).to_contain_text("expires in 24 hours")
    page.get_by_test_id("lang-de").click()
    expect(sent).to_contain_text("läuft in 24 Stunden ab")


def test_keyboard_only(page: Page, server: str) -> None:
    open_widget(page, server)
    target = "purpose-customer_service"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.dataset.testid") == target:
            break
    else:
        pytest.fail("the first purpose checkbox is not reachable with Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "no visible focus style"
    expect(page.get_by_test_id("submit")).to_be_disabled()
    page.keyboard.press("Space")
    expect(page.get_by_test_id(target)).to_be_checked()
    expect(page.get_by_test_id("submit")).to_be_enabled()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.testid") == "submit":
            break
    else:
        pytest.fail("the submit button is not reachable with Tab")


def test_opened_as_a_file_with_an_api_parameter(page: Page, server: str) -> None:
    """``?api=`` points a copy of the file at the API; the API's CORS answers let it in, up to a code."""
    page.goto(f"{WIDGET_FILE.as_uri()}?api={server}")
    wait_for_notice(page)
    expect(page.locator("label[for=p-customer_service]")).to_have_text("Customer service")
    page.get_by_test_id("purpose-customer_service").check()
    page.get_by_test_id("submit").click()  # a POST with a JSON body: preflighted from a file:// page
    expect(page.get_by_test_id("code")).to_contain_text("CC-")
    expect(page.get_by_test_id("error")).to_be_empty()


def test_widget_size_and_self_containment() -> None:
    html = WIDGET_FILE.read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < 20_000
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external resources"
    assert "innerHTML" not in html
