"""The agents' desk in Chromium against the local run: the development sign-in (code flow with PKCE),
the inbox, a conversation with replies and templates under the consent rules, the privacy officer's
view, the group checks (also by direct URL and on the API), and keyboard-only use.

Each test opts in a fictitious number of its own through the widget's API and the simulated phone;
its conversation is then the newest in the inbox (the tests of this module run one after another)."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.desk_data import (
    AGENT,
    PRIVACY,
    bearer,
    call,
    dev_token,
    eventually,
    opt_in,
    phone_messages,
    phone_send,
    source_of,
    subject_of,
)

pytestmark = pytest.mark.browser

SERVICE = {"customer_service": True}
INBOX_PAGE = 25  # the page asks for 25 conversations at a time
REPLY_NUMBER = "+49 151 23994001"
STOP_NUMBER = "+49 151 23994002"
SERVICE_ONLY_NUMBER = "+49 151 23994003"
ERASE_NUMBER = "+49 151 23994004"
FORBIDDEN_NUMBER = "+49 151 23994005"
KEYBOARD_NUMBER = "+49 151 23994006"
CLOSED_NUMBER = "+49 151 23994007"
WITHDRAW_NUMBER = "+49 151 23994008"


def sign_in(page: Page, server: str, user: str, path: str = "/desk") -> None:
    page.goto(f"{server}{path}")
    page.get_by_test_id("sign-in").click()
    expect(page.locator("h1")).to_have_text("Development sign-in")
    page.get_by_test_id("dev-user-agents" if user == AGENT else "dev-user-privacy").click()
    expect(page.get_by_test_id("user")).to_have_text(user)


def person(server: str, phone: str, purposes: dict[str, bool], says: str = "Hello") -> str:
    """A person who opted in and then wrote (which puts them at the top of the inbox); their subject."""
    opt_in(server, phone, purposes)
    phone_send(server, phone, says)
    return subject_of(phone)


def row_of(page: Page, subject: str) -> Locator:
    row = page.locator(f"[data-testid=conversation][data-subject='{subject}']")
    expect(row).to_be_visible()
    return row


def open_conversation(page: Page, subject: str) -> None:
    row_of(page, subject).get_by_test_id("open-conversation").click()
    expect(page.locator("h1")).to_contain_text("Conversation with")


def test_an_agent_signs_in_opens_a_conversation_and_replies_inside_the_window(
    page: Page, server: str, artifacts: Path
) -> None:
    subject = person(server, REPLY_NUMBER, SERVICE, says="Where is my order?")
    sign_in(page, server, AGENT)
    expect(page.locator("h1")).to_have_text("Inbox")
    row = page.get_by_test_id("conversation").first  # the newest activity first
    expect(row).to_have_attribute("data-subject", subject)
    expect(row.get_by_test_id("unanswered")).to_be_visible()
    expect(row.get_by_test_id("window")).to_contain_text("Window open for")
    expect(row.locator("[data-purpose=customer_service]")).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("nav-audit")).to_have_count(0)  # agents see no privacy links
    expect(page.get_by_test_id("open-privacy")).to_have_count(0)
    page.screenshot(path=str(artifacts / "desk-inbox-agent.png"), full_page=True)

    open_conversation(page, subject)
    expect(page.get_by_test_id("message-in").filter(has_text="Where is my order?")).to_have_count(1)
    page.get_by_test_id("reply-text").fill("x" * 4097)  # over-long: the API's 400 is shown, nothing sent
    page.get_by_test_id("send-reply").click()
    expect(page.get_by_test_id("reply-status")).to_contain_text("Refused (400)")
    expect(page.get_by_test_id("alert")).to_contain_text("Refused (400)")
    expect(page.get_by_test_id("message-out")).to_have_count(0)
    page.get_by_test_id("reply-text").fill("Your parcel ships today.")
    page.get_by_test_id("send-reply").click()
    expect(page.get_by_test_id("reply-status")).to_have_text("Reply queued for sending.")
    expect(page.get_by_test_id("status")).to_have_text("Reply queued for sending.")
    expect(page.get_by_test_id("message-out").filter(has_text="Your parcel ships today.")).to_have_count(1)
    eventually(
        lambda: any(m["text"] == "Your parcel ships today." for m in phone_messages(server, REPLY_NUMBER)),
        "the reply on the person's phone",
    )
    page.screenshot(path=str(artifacts / "desk-conversation-reply.png"), full_page=True)

    phone_send(server, REPLY_NUMBER, "Thanks, great!")  # the page polls: the answer appears without a reload
    expect(page.get_by_test_id("message-in").filter(has_text="Thanks, great!")).to_have_count(1, timeout=25_000)
    expect(page.get_by_test_id("status")).to_have_text("1 new message(s) from the person.")

    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.get_by_test_id("user")).to_have_text("")


def test_a_reply_after_stop_is_refused_with_the_reason_shown(page: Page, server: str, artifacts: Path) -> None:
    subject = person(server, STOP_NUMBER, SERVICE)
    sign_in(page, server, AGENT)
    open_conversation(page, subject)
    page.get_by_test_id("reply-text").fill("One more thing about your order")
    phone_send(server, STOP_NUMBER, "STOP")
    page.get_by_test_id("send-reply").click()
    # Refused by the API (409) or, once the page has polled, offered no more: the reason is shown either way.
    refusal = page.get_by_test_id("reply-status").or_(page.get_by_test_id("reply-refusal"))
    expect(refusal.first).to_contain_text("withdrawn")
    page.screenshot(path=str(artifacts / "desk-reply-refused-after-stop.png"), full_page=True)
    sent = [m["text"] for m in phone_messages(server, STOP_NUMBER)]
    assert "One more thing about your order" not in sent, "a reply reached the person after STOP"

    page.reload()  # a reload forgets the tokens: signed out
    expect(page.get_by_test_id("sign-in")).to_be_visible()


def test_a_marketing_template_is_refused_without_marketing_consent(page: Page, server: str, artifacts: Path) -> None:
    subject = person(server, SERVICE_ONLY_NUMBER, SERVICE)
    sign_in(page, server, AGENT)
    open_conversation(page, subject)
    marketing = page.locator("[data-testid=template][data-template=weekly_offers]")
    expect(marketing).to_have_attribute("data-allowed", "false")
    expect(marketing.get_by_test_id("template-refusal")).to_have_text(
        "Not allowed: the person has not consented to this template's purpose."
    )
    expect(marketing.get_by_test_id("send-template")).to_be_disabled()
    service = page.locator("[data-testid=template][data-template=service_follow_up]")
    expect(service).to_have_attribute("data-allowed", "true")
    page.screenshot(path=str(artifacts / "desk-template-refused.png"), full_page=True)

    # The API refuses it too, whatever a page offers: 409 with the reason, nothing sent.
    token = dev_token(server, AGENT)
    body = {"template": {"name": "weekly_offers", "parameters": ["Sale"]}}
    status, refused, _ = call(server, "POST", f"/desk/api/conversations/{subject}/replies", body, bearer(token))
    assert (status, refused["refusal"]) == (409, "purpose_not_consented")
    missing = {"template": {"name": "service_follow_up", "parameters": []}}
    assert call(server, "POST", f"/desk/api/conversations/{subject}/replies", missing, bearer(token))[0] == 400
    assert not any("weekly_offers" in m["text"] for m in phone_messages(server, SERVICE_ONLY_NUMBER))


def test_the_window_closed_offers_only_templates(page: Page, server: str, artifacts: Path) -> None:
    link_confirmed_person(server, CLOSED_NUMBER)  # no message of theirs: not in the inbox, reached by its URL
    sign_in(page, server, AGENT, path=f"/desk#/c/{subject_of(CLOSED_NUMBER)}")
    expect(page.locator("h1")).to_contain_text("Conversation with")
    expect(page.get_by_test_id("reply-refusal")).to_contain_text("24-hour window is closed")
    expect(page.get_by_test_id("reply-text")).to_have_count(0)
    expect(page.get_by_test_id("templates")).to_be_visible()
    service = page.locator("[data-testid=template][data-template=service_follow_up]")
    service.get_by_test_id("template-parameter").fill("A1234")
    service.get_by_test_id("send-template").click()
    expect(service.get_by_test_id("template-status")).to_have_text("Reply queued for sending.")
    eventually(
        lambda: any("service_follow_up" in m["text"] for m in phone_messages(server, CLOSED_NUMBER)),
        "the template on the person's phone",
    )
    page.screenshot(path=str(artifacts / "desk-window-closed.png"), full_page=True)


def link_confirmed_person(server: str, phone: str) -> None:
    """A person who confirmed by link (the optional link-confirmed opt-in): no message of theirs, so no
    open window."""
    _, notice, _ = call(server, "GET", "/notices/en")
    body = {
        "purposes": {"customer_service": True},
        "channel": "whatsapp",
        "language": "en",
        "notice_version": notice["version"],
        "notice_sha256": notice["sha256"],
        "phone": phone,
    }
    status, _, _ = call(server, "POST", "/optin", body, source=source_of(phone))
    assert status in (200, 201, 202)
    link = eventually(lambda: next((m["link"] for m in phone_messages(server, phone) if m["link"]), None), "the link")
    token = link.rsplit("/", 1)[1]
    form = b"decision=confirm"
    status, _, _ = call(
        server, "POST", f"/confirm/{token}", form, {"content-type": "application/x-www-form-urlencoded"}
    )
    assert status == 200


def test_the_privacy_officer_sees_the_proof_exports_and_erases(page: Page, server: str, artifacts: Path) -> None:
    subject = person(server, ERASE_NUMBER, {"customer_service": True, "marketing": True})
    sign_in(page, server, PRIVACY)
    row = row_of(page, subject)
    alias = row.get_attribute("data-alias") or ""
    assert re.fullmatch(r"[0-9A-Z]{3}-[0-9A-Z]{3}", alias)
    row.get_by_test_id("open-privacy").click()
    expect(page.locator("h1")).to_have_text(f"Privacy view: {alias}")
    expect(page.get_by_test_id("ledger-verified")).to_have_attribute("data-verified", "true")
    expect(page.get_by_test_id("ledger").locator("tbody tr")).not_to_have_count(0)
    expect(page.get_by_test_id("notice").first).to_be_visible()
    page.get_by_test_id("notice").first.locator("summary").click()
    expect(page.get_by_test_id("notice").first.locator("pre")).not_to_be_empty()
    page.screenshot(path=str(artifacts / "desk-privacy-proof.png"), full_page=True)

    with page.expect_download() as downloading:
        page.get_by_test_id("export").click()
    download = downloading.value
    assert download.suggested_filename == f"export-{alias}.json"
    exported = json.loads(Path(download.path()).read_text("utf-8"))
    assert isinstance(exported, dict) and exported, "the export is not a JSON document"
    expect(page.get_by_test_id("export-status")).to_have_text("Export downloaded.")

    page.get_by_test_id("erase").click()
    dialog = page.get_by_test_id("dialog")
    expect(dialog).to_be_visible()
    confirm = dialog.get_by_test_id("erase-confirm")
    dialog.get_by_test_id("erase-alias").fill("WRONG-1")
    expect(confirm).to_be_disabled()
    dialog.get_by_test_id("erase-alias").fill(alias)
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page.get_by_test_id("erasure-done")).to_contain_text(f"All data of {alias} has been erased")
    page.screenshot(path=str(artifacts / "desk-privacy-erased.png"), full_page=True)
    token = dev_token(server, PRIVACY)
    assert call(server, "GET", f"/desk/api/conversations/{subject}", None, bearer(token))[0] == 410

    page.get_by_test_id("nav-audit").click()
    expect(page.get_by_test_id("audit-entries")).to_be_visible()
    expect(page.locator("[data-testid=audit-entries] tr[data-action]")).not_to_have_count(0)
    page.screenshot(path=str(artifacts / "desk-audit.png"), full_page=True)


def test_an_agent_cannot_reach_the_privacy_pages_or_their_api(page: Page, server: str, artifacts: Path) -> None:
    subject = person(server, FORBIDDEN_NUMBER, SERVICE)
    token = dev_token(server, AGENT)
    _, listed, _ = call(server, "GET", "/desk/api/conversations?limit=1", None, bearer(token))
    assert listed["conversations"][0]["subject"] == subject

    # A direct URL: the page asks the API, which answers 403, and the page says so.
    sign_in(page, server, AGENT, path=f"/desk#/privacy/{subject}")
    expect(page.get_by_test_id("view-error")).to_have_text("Not allowed: your role does not give access to this.")
    page.goto(f"{server}/desk#/privacy/audit/2026-01-01")  # the same page: only the hash changes
    expect(page.get_by_test_id("view-error")).to_have_text("Not allowed: your role does not give access to this.")
    page.screenshot(path=str(artifacts / "desk-agent-not-allowed.png"), full_page=True)

    for method, path in (
        ("GET", f"/desk/api/privacy/subjects/{subject}/proof"),
        ("GET", f"/desk/api/privacy/subjects/{subject}/export"),
        ("DELETE", f"/desk/api/privacy/subjects/{subject}"),
        ("GET", "/desk/api/privacy/audit/2026-01-01"),
    ):
        body = {"confirm": "x"} if method == "DELETE" else None
        assert call(server, method, path, body, bearer(token))[0] == 403, path
        assert call(server, method, path, body)[0] == 401, path  # no token: the authorizer's 401
        assert call(server, method, path, body, bearer(token[:-4] + "AAAA"))[0] == 401, path
    assert call(server, "GET", f"/desk/api/conversations/{subject}", None, bearer(token))[0] == 200


def tab_to(page: Page, test_id: str, presses: int = 40) -> None:
    """Tab until the element with ``test_id`` has the focus (keyboard only, no clicks)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.dataset.testid") == test_id:
            return
    pytest.fail(f"{test_id} not reached with the Tab key")


def test_the_desk_is_usable_with_the_keyboard_alone(page: Page, server: str, artifacts: Path) -> None:
    person(server, KEYBOARD_NUMBER, SERVICE, says="Can I change the size?")
    page.goto(f"{server}/desk")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    tab_to(page, "sign-in")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Development sign-in")
    tab_to(page, "dev-user-agents")
    page.keyboard.press("Space")
    expect(page.get_by_test_id("user")).to_have_text(AGENT)

    expect(page.get_by_test_id("conversation").first).to_be_visible()
    tab_to(page, "open-conversation")  # the newest conversation comes first
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Conversation with")
    expect(page.locator("h1")).to_be_focused()  # the focus moves to the new view

    tab_to(page, "withdraw")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("dialog")).to_be_hidden()
    expect(page.get_by_test_id("withdraw")).to_be_focused()  # back where it was opened

    tab_to(page, "reply-text")
    page.keyboard.type("Yes, reply with the size you want.")
    tab_to(page, "send-reply")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("reply-status")).to_have_text("Reply queued for sending.")
    page.screenshot(path=str(artifacts / "desk-keyboard.png"), full_page=True)


def test_withdrawal_on_the_persons_behalf_is_confirmed_first(page: Page, server: str) -> None:
    subject = person(server, WITHDRAW_NUMBER, {"customer_service": True, "marketing": True})
    sign_in(page, server, AGENT)
    open_conversation(page, subject)
    page.get_by_test_id("withdraw").click()
    dialog = page.get_by_test_id("dialog")
    dialog.get_by_test_id("dialog-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-testid=facts] [data-purpose=marketing]")).to_have_attribute("data-status", "active")
    page.get_by_test_id("withdraw").click()
    dialog.get_by_test_id("withdraw-marketing").check()
    dialog.get_by_test_id("withdraw-confirm").click()
    expect(page.get_by_test_id("status")).to_contain_text("Withdrawn: Offers and news")
    expect(page.locator("[data-testid=facts] [data-purpose=marketing]")).to_have_attribute("data-status", "withdrawn")
    expect(page.locator("[data-testid=facts] [data-purpose=customer_service]")).to_have_attribute(
        "data-status", "active"
    )


def test_the_language_follows_the_browser_and_the_switcher(page: Page, server: str) -> None:
    page.goto(f"{server}/desk")
    expect(page.get_by_test_id("sign-in")).to_have_text("Sign in")  # the context's locale is en-GB
    page.get_by_test_id("language").select_option("de")
    expect(page.get_by_test_id("sign-in")).to_have_text("Anmelden")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_test_id("language").select_option("it")
    expect(page.get_by_test_id("sign-in")).to_have_text("Accedi")


def test_the_page_loads_nothing_from_elsewhere_and_runs_under_its_policy(page: Page, server: str) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    foreign: list[str] = []
    page.on("request", lambda request: foreign.append(request.url) if not request.url.startswith(server) else None)
    response = page.goto(f"{server}/desk")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    assert not violations and not foreign


def conversation_count(server: str, token: str) -> int:
    """How many conversations the inbox holds, page by page as the API hands them out."""
    count, cursor = 0, None
    while True:
        query = "limit=50" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, page, _ = call(server, "GET", f"/desk/api/conversations?{query}", None, bearer(token))
        assert status == 200
        count += len(page["conversations"])
        cursor = page["next_cursor"]
        if not cursor or not page["conversations"]:
            return count


def test_the_inbox_pages_on_with_the_cursor(page: Page, server: str, artifacts: Path) -> None:
    token = dev_token(server, AGENT)
    number = 0
    while conversation_count(server, token) <= INBOX_PAGE:  # one more than the page shows
        person(server, f"+49 151 2399{4100 + number}", SERVICE)
        number += 1
    sign_in(page, server, AGENT)
    rows = page.get_by_test_id("conversation")
    expect(rows).to_have_count(INBOX_PAGE)
    first_hidden = INBOX_PAGE  # the index of the first row of the next page
    page.get_by_test_id("more").click()
    expect(rows.nth(first_hidden)).to_be_visible()
    expect(rows.nth(first_hidden).get_by_test_id("open-conversation")).to_be_focused()
    subjects = [rows.nth(i).get_attribute("data-subject") for i in range(rows.count())]
    assert len(subjects) == len(set(subjects)), "a conversation shown twice"
    expect(page.get_by_test_id("status")).to_contain_text("more conversations loaded")
