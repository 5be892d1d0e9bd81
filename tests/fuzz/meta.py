"""Meta's WhatsApp Cloud API webhook payloads as Hypothesis strategies, bent in every part.

Shapes follow Meta's payload examples (messages, statuses, user_preferences in
``entry[].changes[].value``); ``loose`` lets any part be any other JSON value.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.flow import PHONE_NUMBER_ID
from tests.fuzz.support import JSON_VALUES, loose

PROFILE_NAME = "Profile-Name-Never-Read"
NOW = 1_795_000_000  # tests.conftest.START: the clock the handlers see
VALID_WA_IDS = ["4915112345678", "393331234567", "15417543010", "447911123456", "33612345678", "+4915112345678"]


wa_ids = st.one_of(
    st.sampled_from(VALID_WA_IDS),
    st.text(alphabet="0123456789+ -()", max_size=20),
    st.text(max_size=40),
)
wamids = st.one_of(st.text(min_size=1, max_size=60).map(lambda s: "wamid." + s), st.text(max_size=300))
timestamps = st.one_of(
    st.integers(min_value=NOW - 86_400, max_value=NOW + 60).map(str),
    st.integers(min_value=1_600_000_000, max_value=1_900_000_000).map(str),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "1e3", "0x10", " 17 ", "1.5", "١٢٣"]),
    st.floats(allow_nan=False, allow_infinity=False),
)
media_item = st.fixed_dictionaries(
    {"id": st.text(max_size=300)},
    optional={
        "mime_type": st.text(max_size=140),
        "sha256": st.text(max_size=64),
        "file_size": st.integers(min_value=-5, max_value=2**64),
        "caption": st.text(max_size=50),
    },
)
# What people write: any text, the words the product acts on, special categories; texts here hold no
# unpaired surrogates (an unpaired escape is its own test in test_whatsapp_parse).
texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["yes", "no", "STOP", "Stop promotions", "DELETE", "LÖSCHEN", "INFO", "DATA", "ja", "sì"]),
    st.sampled_from(["I have a nut allergy", "DE89 3704 0044 0532 0130 00", "4111 1111 1111 1111", "My code: 0"]),
)
reply = st.fixed_dictionaries({"id": st.text(max_size=300)}, optional={"title": st.text(max_size=50)})
message_types = st.sampled_from(
    [
        "text",
        "interactive",
        "button",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "reaction",
        "system",
    ]
)


def _message(kind: str, sender: str, draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {"from": sender, "id": draw(wamids), "timestamp": draw(timestamps), "type": kind}
    content: dict[str, st.SearchStrategy[Any]] = {
        "text": st.fixed_dictionaries({"body": texts}),
        "interactive": st.fixed_dictionaries(
            {"type": st.sampled_from(["button_reply", "list_reply", "nfm_reply"])},
            optional={"button_reply": loose(reply), "list_reply": loose(reply)},
        ),
        "button": st.fixed_dictionaries({}, optional={"payload": st.text(max_size=300), "text": st.text(max_size=50)}),
    }
    field = kind if kind in content or kind in ("image", "audio", "video", "document", "sticker") else None
    if field is not None and draw(st.booleans()):
        message[field] = draw(loose(content.get(field, media_item)))
    return message


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    return _message(draw(message_types), draw(wa_ids), draw)


@st.composite
def valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    """Messages with the provider's shape and a valid sender: never skipped."""
    kind = draw(st.sampled_from(["text", "button", "image", "location"]))
    message: dict[str, Any] = {
        "from": draw(st.sampled_from(VALID_WA_IDS)),
        "id": "wamid." + draw(st.text(min_size=1, max_size=40)),
        "timestamp": str(draw(st.integers(min_value=1_600_000_000, max_value=1_900_000_000))),
        "type": kind,
    }
    if kind == "text":
        message["text"] = {"body": draw(st.text(max_size=4096))}
    elif kind == "button":
        message["button"] = {"payload": draw(st.text(max_size=256)), "text": draw(st.text(max_size=100))}
    elif kind == "image":
        message["image"] = {"id": draw(st.text(max_size=256)), "mime_type": "image/jpeg", "sha256": "0" * 64}
    return message


statuses = st.fixed_dictionaries(
    {
        "id": wamids,
        "status": st.one_of(st.sampled_from(["sent", "delivered", "read", "failed"]), st.text(max_size=40)),
        "timestamp": timestamps,
        "recipient_id": wa_ids,
    },
    optional={"errors": JSON_VALUES, "conversation": JSON_VALUES, "pricing": JSON_VALUES},
)
valid_statuses = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=60).map(lambda s: "wamid." + s),
        "status": st.sampled_from(["sent", "delivered", "read", "failed"]),
        "timestamp": st.integers(min_value=1_600_000_000, max_value=1_900_000_000).map(str),
        "recipient_id": st.sampled_from(VALID_WA_IDS),
    }
)
preferences = st.fixed_dictionaries(
    {
        "wa_id": wa_ids,
        "category": st.one_of(st.just("marketing_messages"), st.text(max_size=70)),
        "value": st.one_of(st.sampled_from(["stop", "resume"]), st.text(max_size=40)),
    },
    optional={"timestamp": timestamps, "detail": st.text(max_size=50)},
)
valid_preferences = st.fixed_dictionaries(
    {
        "wa_id": st.sampled_from(VALID_WA_IDS),
        "category": st.just("marketing_messages"),
        "value": st.sampled_from(["stop", "resume"]),
        "timestamp": st.integers(min_value=1_600_000_000, max_value=1_900_000_000),
    }
)
contacts = st.lists(
    st.fixed_dictionaries({"profile": st.just({"name": PROFILE_NAME}), "wa_id": wa_ids}),
    max_size=2,
)


def values(
    message: st.SearchStrategy[Any], status: st.SearchStrategy[Any], preference: st.SearchStrategy[Any], ours: bool
) -> st.SearchStrategy[dict[str, Any]]:
    phone_number_id = st.just(PHONE_NUMBER_ID) if ours else st.sampled_from([PHONE_NUMBER_ID, "109876543210", ""])
    metadata = st.fixed_dictionaries(
        {"display_phone_number": st.just("4930123456789"), "phone_number_id": phone_number_id}
    )
    return st.fixed_dictionaries(
        {"messaging_product": st.just("whatsapp"), "metadata": metadata if ours else loose(metadata)},
        optional={
            "contacts": contacts,
            "messages": st.lists(message, max_size=4),
            "statuses": st.lists(status, max_size=4),
            "user_preferences": st.lists(preference, max_size=2),
        },
    )


def payloads(value: st.SearchStrategy[Any], fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    change = st.fixed_dictionaries({"field": fields, "value": value})
    entry = st.fixed_dictionaries({"id": st.just("102290129340398"), "changes": st.lists(change, max_size=3)})
    return st.fixed_dictionaries({"object": st.just("whatsapp_business_account"), "entry": st.lists(entry, max_size=3)})


# Shaped like Meta's, with any part possibly replaced by another JSON value.
META_LIKE = payloads(
    values(loose(messages()), loose(statuses), loose(preferences), ours=False),
    loose(st.sampled_from(["messages", "user_preferences", "statuses", "account_update"])),
).map(lambda p: p if p["entry"] else {**p, "object": "whatsapp_business_account"})
OURS = payloads(
    values(loose(messages()), loose(statuses), loose(preferences), ours=True),
    st.sampled_from(["messages", "user_preferences"]),
)
VALID = payloads(values(valid_messages(), valid_statuses, valid_preferences, ours=True), st.just("messages"))
