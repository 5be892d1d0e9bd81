"""WhatsAppChannel: signatures on raw bytes, batched parsing, minimisation, Cloud API payloads."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

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


# -- signatures ----------------------------------------------------------------------------------

ALICE, BOB = "491701234567", "393471234567"  # WhatsApp ids (bare digits) of two people


def signed_body(payload: dict[str, object], secret: bytes = SECRETS[0]) -> tuple[bytes, dict[str, str]]:
    body, headers = whatsapp.signed(payload, secret.decode())
    return body, headers


def test_a_signature_by_the_local_builder_verifies() -> None:
    body, headers = signed_body(whatsapp.text(ALICE, "hello", phone_number_id=PHONE_ID, timestamp=1))
    assert channel().verify(headers, body)


@pytest.mark.parametrize("name", ["X-Hub-Signature-256", "x-hub-signature-256", "X-HUB-SIGNATURE-256"])
def test_header_name_is_case_insensitive(name: str) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert channel().verify({"content-type": "application/json", name: signature_for(SECRETS[1], body)}, body)


def test_a_signature_by_a_retired_secret_is_refused() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    only_current = WhatsAppChannel(SECRETS[:1], PHONE_ID, Outbox())
    assert only_current.verify({"x-hub-signature-256": signature_for(SECRETS[0], body)}, body)
    assert not only_current.verify({"x-hub-signature-256": signature_for(SECRETS[1], body)}, body)


def test_a_signature_over_the_reserialised_body_is_refused() -> None:
    payload = whatsapp.text(ALICE, "hello", phone_number_id=PHONE_ID, timestamp=1)
    body, headers = signed_body(payload)
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    assert json.loads(reserialised) == json.loads(body)  # the same JSON, other bytes
    assert not channel().verify(headers, reserialised)
    assert not channel().verify(headers, json.dumps(json.loads(body), separators=(", ", ": ")).encode())


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha256",
        "SHA256={digest}",  # the prefix is lowercase
        "sha1={digest}",
        "{digest}",
        "sha256={digest} ",
        "sha256={upper}",
        "sha256={digest}00",
        "sha256={digest}\n",
    ],
)
def test_anything_but_the_exact_header_is_refused(header: str) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    digest = signature_for(SECRETS[0], body).removeprefix("sha256=")
    value = header.format(digest=digest, upper=digest.upper())
    assert not channel().verify({"x-hub-signature-256": value}, body)


def test_a_signature_in_another_header_is_refused() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert not channel().verify({"x-hub-signature": signature_for(SECRETS[0], body)}, body)


def test_a_channel_needs_an_app_secret() -> None:
    with pytest.raises(ValueError, match="app secret"):
        WhatsAppChannel((), PHONE_ID, Outbox())


# -- parsing -------------------------------------------------------------------------------------

PROFILE = "Erika Mustermann"


def change(value: dict[str, Any], field: str = "messages", phone_number_id: str = PHONE_ID) -> dict[str, object]:
    metadata = {"display_phone_number": "4930123456789", "phone_number_id": phone_number_id}
    return {"field": field, "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}


def contacts(*wa_ids: str) -> list[dict[str, object]]:
    return [{"profile": {"name": PROFILE}, "wa_id": wa_id} for wa_id in wa_ids]


def message(sender: str, wamid: str, timestamp: int, kind: str, **content: object) -> dict[str, object]:
    return {"from": sender, "id": wamid, "timestamp": str(timestamp), "type": kind, **content}


def status(wamid: str, state: str, timestamp: int, recipient: str, **extra: object) -> dict[str, object]:
    return {"id": wamid, "status": state, "timestamp": str(timestamp), "recipient_id": recipient, **extra}


def batched_payload() -> dict[str, object]:
    """Two entries of two changes each, every change with messages and statuses."""
    button_reply = {"type": "button_reply", "button_reply": {"id": "optin:yes:r1", "title": "Yes"}}
    template_button = {"payload": "STOP_PROMOTIONS", "text": "Stop promotions"}
    image = {"id": "media-1", "mime_type": "image/jpeg", "caption": "my receipt"}
    first = [
        change(
            {
                "contacts": contacts(ALICE, BOB),
                "messages": [
                    message(ALICE, "wamid.t1", 1795000001, "text", text={"body": "hello"}),
                    message(BOB, "wamid.b1", 1795000002, "interactive", interactive=button_reply),
                ],
                "statuses": [status("wamid.o1", "sent", 1795000003, ALICE)],
            }
        ),
        change(
            {
                "contacts": contacts(ALICE),
                "messages": [message(ALICE, "wamid.q1", 1795000004, "button", button=template_button)],
                "statuses": [status("wamid.o2", "delivered", 1795000005, BOB)],
            }
        ),
    ]
    second = [
        change(
            {
                "contacts": contacts(BOB),
                "messages": [message(BOB, "wamid.i1", 1795000006, "image", image=image)],
                "statuses": [status("wamid.o1", "read", 1795000007, ALICE)],
            }
        ),
        change(
            {
                "contacts": contacts(ALICE),
                "messages": [
                    message(
                        ALICE, "wamid.r1", 1795000008, "reaction", reaction={"message_id": "wamid.o1", "emoji": "👍"}
                    )
                ],
                "statuses": [
                    status("wamid.o3", "failed", 1795000009, BOB, errors=[{"code": 131047, "title": "Re-engagement"}])
                ],
            }
        ),
    ]
    entries = [{"id": "1", "changes": first}, {"id": "1", "changes": second}]
    return {"object": "whatsapp_business_account", "entry": entries}


def test_a_batched_payload_yields_every_event_in_order() -> None:
    parsed = channel().parse(json.dumps(batched_payload()).encode())
    assert [(m.message_id, m.kind, m.timestamp) for m in parsed.messages] == [
        ("wamid.t1", InboundKind.TEXT, 1795000001),
        ("wamid.b1", InboundKind.BUTTON, 1795000002),
        ("wamid.q1", InboundKind.BUTTON, 1795000004),
        ("wamid.i1", InboundKind.MEDIA, 1795000006),
        ("wamid.r1", InboundKind.OTHER, 1795000008),
    ]
    text, reply, quick_reply, image, reaction = parsed.messages
    assert (text.text, text.button_id) == ("hello", None)
    assert (reply.text, reply.button_id) == ("Yes", "optin:yes:r1")
    assert (quick_reply.text, quick_reply.button_id) == ("Stop promotions", "STOP_PROMOTIONS")
    assert (image.text, image.button_id) == (None, None)  # a caption is not kept
    assert (reaction.text, reaction.button_id) == (None, None)
    senders = [m.sender for m in parsed.messages]
    expected_senders = ["+" + ALICE, "+" + BOB, "+" + ALICE, "+" + BOB, "+" + ALICE]
    senders_match = senders == expected_senders  # compared outside the assert: no number in a report
    assert senders_match, "senders are not the E.164 forms of the wa_ids"
    assert all(m.channel == "whatsapp" for m in parsed.messages)
    assert [(s.message_id, s.status, s.timestamp) for s in parsed.statuses] == [
        ("wamid.o1", "sent", 1795000003),
        ("wamid.o2", "delivered", 1795000005),
        ("wamid.o1", "read", 1795000007),
        ("wamid.o3", "failed", 1795000009),
    ]
    recipients_match = [s.recipient for s in parsed.statuses] == ["+" + ALICE, "+" + BOB, "+" + ALICE, "+" + BOB]
    assert recipients_match, "recipients are not the E.164 forms of the wa_ids"
    assert parsed.skipped == 0


def test_profile_names_appear_nowhere_in_the_parsed_result() -> None:
    parsed = channel().parse(json.dumps(batched_payload()).encode())
    fields = [
        str(value)
        for event in (*parsed.messages, *parsed.statuses)
        for value in dataclasses.astuple(event)  # type: ignore[call-overload]
    ]
    shown = repr(parsed) + str(parsed) + " ".join(fields)
    assert "Erika" not in shown and "Mustermann" not in shown
    assert "my receipt" not in " ".join(fields)  # nor a media caption


def test_repr_shows_no_identifier_or_text() -> None:
    parsed = channel().parse(json.dumps(batched_payload()).encode())
    shown = repr(parsed)
    assert not any(secret in shown for secret in (ALICE, BOB, "hello", "wamid.", "optin:yes", "STOP_PROMOTIONS"))


def test_changes_for_another_number_or_field_are_skipped() -> None:
    payload = batched_payload()
    entries = payload["entry"]
    assert isinstance(entries, list)
    entries[0]["changes"][1]["value"]["metadata"]["phone_number_id"] = "999999999999"  # 1 message + 1 status
    entries[1]["changes"][0]["field"] = "message_template_status_update"  # 1 message + 1 status
    entries[1]["changes"].append({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}})  # nothing: 1
    parsed = channel().parse(json.dumps(payload).encode())
    assert [m.message_id for m in parsed.messages] == ["wamid.t1", "wamid.b1", "wamid.r1"]
    assert [s.message_id for s in parsed.statuses] == ["wamid.o1", "wamid.o3"]
    assert parsed.skipped == 5


def test_messages_and_statuses_with_invalid_numbers_are_skipped() -> None:
    payload = whatsapp.text("123", "hello", phone_number_id=PHONE_ID, timestamp=1)
    payload["entry"][0]["changes"][0]["value"]["statuses"] = [
        {"id": "wamid.x", "status": "read", "timestamp": "2", "recipient_id": "0"}
    ]
    parsed = channel().parse(json.dumps(payload).encode())
    assert parsed.messages == () and parsed.statuses == () and parsed.skipped == 2


def test_interactive_list_reply_is_a_button() -> None:
    payload = whatsapp.inbound(
        PHONE_ID,
        ALICE,
        {
            "id": "wamid.l",
            "timestamp": "1",
            "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": "row-2", "title": "Row", "description": "d"}},
        },
    )
    [message] = channel().parse(json.dumps(payload).encode()).messages
    assert (message.kind, message.button_id, message.text) == (InboundKind.BUTTON, "row-2", "Row")


@pytest.mark.parametrize("media", ["image", "audio", "video", "document", "sticker"])
def test_media_kinds(media: str) -> None:
    payload = whatsapp.inbound(PHONE_ID, ALICE, {"id": "wamid.m", "timestamp": "1", "type": media, media: {"id": "x"}})
    [message] = channel().parse(json.dumps(payload).encode()).messages
    assert message.kind is InboundKind.MEDIA and message.text is None


def message_payload(**message: object) -> bytes:
    """One message in an otherwise valid payload; a field given as None is left out."""
    fields = {"from": ALICE, "id": "wamid.x", "timestamp": "1", "type": "text", "text": {"body": "hi"}, **message}
    value = {"messages": [{k: v for k, v in fields.items() if v is not None}]}
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change(value)]}]}
    return json.dumps(envelope).encode()


def test_the_message_template_is_valid_as_it_is() -> None:
    [parsed] = channel().parse(message_payload()).messages  # the skips below are each due to one change
    assert parsed.kind is InboundKind.TEXT and parsed.text == "hi"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b"null",
        b'{"object": "whatsapp_business_account"}',  # no entry
        b'{"object": "whatsapp_business_account", "entry": {}}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": []}]}',  # entry without id
        b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages"}]}]}',
        b'{"object": "instagram", "entry": []}',
        b'{"object": "whatsapp_business_account", "entry": []',  # truncated
        b'{"object": "whatsapp_business_account", "entry": [], "x": "\xff"}',  # invalid UTF-8
        b"[" * 10_000 + b"]" * 10_000,  # deep nesting
    ],
    ids=[
        "empty",
        "array",
        "null",
        "no-entry",
        "entry-object",
        "entry-without-id",
        "change-without-value",
        "other-object",
        "truncated",
        "invalid-utf8",
        "deep-nesting",
    ],
)
def test_malformed_envelopes_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        channel().parse(raw)


def test_a_refusal_names_the_part_without_the_shape_and_nothing_it_held() -> None:
    payload = json.loads(message_payload())
    payload["entry"][0]["changes"][0]["value"]["messages"] = {"from": ALICE}
    with pytest.raises(MalformedPayload, match=r"\(messages\)") as refused:
        channel().parse(json.dumps(payload).encode())
    assert ALICE.lstrip("+") not in str(refused.value)


@pytest.mark.parametrize(
    "message",
    [
        {"from": None},
        {"id": None},
        {"timestamp": None},
        {"type": None},
        {"timestamp": "yesterday"},
        {"text": {"no_body": "x"}},
        {"text": {"body": "x" * 4097}},
        {"from": "4" * 33},
        {"timestamp": "9" * 25},
        {"timestamp": 1.5},
        {"timestamp": True},
        {"type": "image", "image": {"id": "m1", "file_size": -1}},
        {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"title": "no id"}}},
        {"type": "button", "button": "yes"},
    ],
    ids=[
        "no-from",
        "no-id",
        "no-timestamp",
        "no-type",
        "bad-timestamp",
        "text-without-body",
        "huge-text",
        "long-from",
        "timestamp-beyond-64-bits",
        "fractional-timestamp",
        "boolean-timestamp",
        "negative-media-size",
        "reply-without-id",
        "button-not-an-object",
    ],
)
def test_a_message_without_the_providers_shape_is_skipped_and_the_batch_kept(message: dict[str, object]) -> None:
    payload = json.loads(message_payload(**message))
    good = {"from": ALICE, "id": "wamid.good", "timestamp": "2", "type": "text", "text": {"body": "hello"}}
    payload["entry"][0]["changes"][0]["value"]["messages"].append(good)
    parsed = channel().parse(json.dumps(payload).encode())
    assert [m.text for m in parsed.messages] == ["hello"]
    assert parsed.skipped == 1


def test_a_status_without_recipient_is_skipped() -> None:
    payload = whatsapp.status(ALICE, "wamid.o", "read", phone_number_id=PHONE_ID, timestamp=1)
    del payload["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"]
    parsed = channel().parse(json.dumps(payload).encode())
    assert parsed.statuses == () and parsed.skipped == 1


def test_media_is_kept_as_metadata_only() -> None:
    image = {"id": "1013859600285441", "mime_type": "image/jpeg", "sha256": "abc", "caption": "my rash"}
    document = {"id": "2", "mime_type": "application/pdf", "filename": "scan.pdf", "file_size": 48213}
    payload = json.loads(message_payload(type="image", text=None, image=image))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append(
        {"from": ALICE, "id": "wamid.d", "timestamp": "2", "type": "document", "document": document}
    )
    first, second = channel().parse(json.dumps(payload).encode()).messages
    assert first.kind is InboundKind.MEDIA and first.text is None  # the caption is not kept
    assert (first.media.type, first.media.id, first.media.mime_type, first.media.size) == (  # type: ignore[union-attr]
        "image",
        "1013859600285441",
        "image/jpeg",
        None,
    )
    assert second.media is not None and (second.media.type, second.media.size) == ("document", 48213)
    assert "1013859600285441" not in repr(first)


def test_the_refusal_does_not_echo_the_payload() -> None:
    payload = json.loads(message_payload(text={"body": "private question"}))
    payload["entry"][0]["id"] = ["private question", ALICE]  # the envelope itself is wrong
    with pytest.raises(MalformedPayload) as error:
        channel().parse(json.dumps(payload).encode())
    assert "private question" not in str(error.value) and ALICE not in str(error.value)
    assert error.value.__cause__ is None


# -- sending -------------------------------------------------------------------------------------


def test_text_payload_follows_the_cloud_api() -> None:
    outbox = Outbox()
    message_id = channel(outbox).send_text("+" + ALICE, "x" * 5000)
    [sent] = outbox.messages
    assert sent.id == message_id and sent.channel == "whatsapp"
    recipient_ok = sent.recipient == "+" + ALICE and sent.payload["to"] == ALICE  # no '+' in "to"
    assert recipient_ok, "the payload is not addressed to the bare international digits"
    assert sent.payload["messaging_product"] == "whatsapp" and sent.payload["recipient_type"] == "individual"
    assert sent.payload["type"] == "text"
    text = sent.payload["text"]
    assert isinstance(text, dict) and text["preview_url"] is False and len(text["body"]) == 4096


def test_button_payload_follows_the_cloud_api() -> None:
    outbox = Outbox()
    buttons = [Button("optin:yes:r", "Yes"), Button("optin:no:r", "No"), Button("info", "x" * 20)]
    channel(outbox).send_buttons("+" + ALICE, "Confirm?", buttons)
    [sent] = outbox.messages
    payload = dict(sent.payload)
    to = payload.pop("to")
    assert to == ALICE, "the payload is not addressed to the bare international digits"
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Confirm?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "optin:yes:r", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "optin:no:r", "title": "No"}},
                    {"type": "reply", "reply": {"id": "info", "title": "x" * 20}},
                ]
            },
        },
    }


def test_button_body_is_cut_to_the_api_limit() -> None:
    outbox = Outbox()
    channel(outbox).send_buttons("+" + ALICE, "y" * 2000, [Button("a", "A")])
    interactive = outbox.messages[0].payload["interactive"]
    assert isinstance(interactive, dict) and len(interactive["body"]["text"]) == 1024


@pytest.mark.parametrize("count", [0, 4, 10])
def test_send_buttons_needs_one_to_three_buttons(count: int) -> None:
    outbox = Outbox()
    with pytest.raises(ValueError, match="1 to 3"):
        channel(outbox).send_buttons("+" + ALICE, "?", [Button(str(i), "b") for i in range(count)])
    assert outbox.messages == []  # nothing was sent


def test_send_buttons_refuses_a_title_over_20_characters() -> None:
    outbox = Outbox()
    with pytest.raises(ValueError, match="20 characters"):
        channel(outbox).send_buttons("+" + ALICE, "?", [Button("a", "ok"), Button("b", "x" * 21)])
    assert outbox.messages == []


def test_template_payload_follows_the_cloud_api() -> None:
    outbox = Outbox()
    sender = channel(outbox)
    sender.send_template("+" + ALICE, "optin_link", "de", ["https://x"])
    sender.send_template("+" + ALICE, "hello_world", "en_US", [])
    with_parameters, without = (m.payload for m in outbox.messages)
    assert with_parameters["type"] == "template"
    assert with_parameters["template"] == {
        "name": "optin_link",
        "language": {"code": "de"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "https://x"}]}],
    }
    assert without["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


def test_template_with_a_url_button_fills_its_dynamic_suffix() -> None:
    outbox = Outbox()
    channel(outbox).send_template("+" + ALICE, "optin_confirmation", "it", ["Example Shop GmbH"], url_suffix="tok")
    [payload] = [m.payload for m in outbox.messages]
    assert payload["template"]["components"] == [  # type: ignore[index]
        {"type": "body", "parameters": [{"type": "text", "text": "Example Shop GmbH"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "tok"}]},
    ]
