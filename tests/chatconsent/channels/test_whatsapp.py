"""WhatsAppChannel: signatures on raw bytes, batched parsing, minimisation, Cloud API payloads."""

from __future__ import annotations

import json

import pytest

from chatconsent.channels.base import Button, InboundKind, MalformedPayload
from chatconsent.channels.outbox import Outbox
from chatconsent.channels.whatsapp import WhatsAppChannel, signature_for
from localrun import whatsapp

PHONE_ID = "106540352242922"
SECRETS = (b"current-secret", b"previous-secret")


def channel(outbox: Outbox | None = None) -> WhatsAppChannel:
    return WhatsAppChannel(SECRETS, PHONE_ID, outbox or Outbox())


@pytest.mark.parametrize("secret", SECRETS)
def test_either_live_secret_verifies_and_header_case_does_not_matter(secret: bytes) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert channel().verify({"X-Hub-Signature-256": signature_for(secret, body)}, body)
    assert channel().verify({"x-hub-signature-256": signature_for(secret, body)}, body)


def test_signature_is_over_the_exact_bytes() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    header = signature_for(SECRETS[0], body)
    assert not channel().verify({"x-hub-signature-256": header}, body + b" ")
    assert not channel().verify({"x-hub-signature-256": header.replace("sha256=", "sha1=")}, body)
    assert not channel().verify({"x-hub-signature-256": signature_for(b"other", body)}, body)
    assert not channel().verify({}, body)
    assert not channel().verify({"x-hub-signature-256": "sha256=é"}, body)


def test_batched_payload_yields_every_event_and_no_profile_name() -> None:
    text = whatsapp.text("491701234567", "hello", phone_number_id=PHONE_ID, timestamp=1, wamid="wamid.a")
    reply = whatsapp.button_reply("393471234567", "optin:yes:r", "Yes", phone_number_id=PHONE_ID, timestamp=2)
    template_button = whatsapp.inbound(
        PHONE_ID,
        "491701234567",
        {"id": "wamid.b", "timestamp": "3", "type": "button", "button": {"payload": "P", "text": "T"}},
    )
    image = whatsapp.inbound(
        PHONE_ID, "491701234567", {"id": "wamid.c", "timestamp": "4", "type": "image", "image": {"id": "m"}}
    )
    status = whatsapp.status("491701234567", "wamid.out", "read", phone_number_id=PHONE_ID, timestamp=5)
    foreign = whatsapp.text("491701234567", "not ours", phone_number_id="999", timestamp=6)
    entries = [p["entry"][0] for p in (text, reply, template_button, image, status, foreign)]
    entries[0]["changes"].append({"field": "account_update", "value": {}})
    raw = json.dumps({"object": "whatsapp_business_account", "entry": entries}).encode()
    parsed = channel().parse(raw)
    assert [m.kind for m in parsed.messages] == [
        InboundKind.TEXT,
        InboundKind.BUTTON,
        InboundKind.BUTTON,
        InboundKind.MEDIA,
    ]
    assert parsed.messages[0].sender == "+491701234567" and parsed.messages[0].timestamp == 1
    assert parsed.messages[1].button_id == "optin:yes:r" and parsed.messages[2].button_id == "P"
    assert [(s.status, s.recipient) for s in parsed.statuses] == [("read", "+491701234567")]
    assert parsed.skipped == 2  # the other number's message and the non-message field
    assert "Test Person" not in repr(parsed) and "hello" not in repr(parsed) and "4917" not in repr(parsed)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"object": "page", "entry": []}',
        b'{"entry": []}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": 1}]}',
    ],
)
def test_malformed_payloads_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        channel().parse(raw)


def test_outbound_payloads_follow_the_cloud_api() -> None:
    outbox = Outbox()
    sender = channel(outbox)
    sender.send_text("+491701234567", "hi")
    sender.send_buttons("+491701234567", "confirm?", [Button("y", "Yes, I agree"), Button("n", "No")])
    sender.send_template("+491701234567", "optin_link", "de", ["https://x"])
    text, buttons, template = (m.payload for m in outbox.to("+491701234567"))
    assert text == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "491701234567",
        "type": "text",
        "text": {"preview_url": False, "body": "hi"},
    }
    assert buttons["interactive"]["action"]["buttons"][0] == {
        "type": "reply",
        "reply": {"id": "y", "title": "Yes, I agree"},
    }  # type: ignore[index]
    assert template["template"]["components"][0]["parameters"] == [{"type": "text", "text": "https://x"}]  # type: ignore[index]
    with pytest.raises(ValueError, match="1 to 3"):
        sender.send_buttons("+491701234567", "?", [Button(str(i), "b") for i in range(4)])
    with pytest.raises(ValueError, match="20 characters"):
        sender.send_buttons("+491701234567", "?", [Button("x", "a title that is far too long")])
