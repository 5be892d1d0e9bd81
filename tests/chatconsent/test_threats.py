"""design.md §4 threats at the domain level: number notations, tampering, expression injection."""

from __future__ import annotations

import dataclasses

import pytest

from chatconsent.identity import InvalidIdentifier, Pseudonymizer, normalize_phone, normalize_whatsapp_id
from chatconsent.ledger import ConsentFact, LedgerEvent, chain, verify
from chatconsent.store import OptInRequest
from chatconsent.tokens import code_hash
from tests.conftest import Env

PEPPER = b"a-test-pepper-of-32-bytes-length"


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+49 30 12345678", None),
        ("+49 (0)30 12345678", None),
        ("0049 30 12345678", "DE"),
        ("030 12345678", "DE"),
        ("＋４９３０１２３４５６７８", None),  # full-width digits
    ],
)
def test_every_notation_of_a_number_is_one_subject(raw: str, region: str | None) -> None:
    pseudonyms = Pseudonymizer(PEPPER)
    assert normalize_phone(raw, region) == "+493012345678"
    assert pseudonyms.subject("whatsapp", normalize_phone(raw, region)) == pseudonyms.subject(
        "whatsapp", normalize_whatsapp_id("493012345678")
    )


@pytest.mark.parametrize("raw", ["not a number", "+49 1", "", "+999 123"])
def test_invalid_numbers_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as error:
        normalize_phone(raw)
    assert raw.strip() == "" or raw not in str(error.value)


def test_pseudonyms_depend_on_pepper_channel_and_use() -> None:
    a, b = Pseudonymizer(PEPPER), Pseudonymizer(PEPPER[::-1])
    number = "+493012345678"
    assert a.subject("whatsapp", number) != b.subject("whatsapp", number)
    assert a.subject("whatsapp", number) != a.subject("sms", number)
    assert a.subject("whatsapp", number) != a.keyed_hash("message", f"whatsapp:{number}")
    assert number.lstrip("+") not in a.subject("whatsapp", number)
    with pytest.raises(ValueError, match="pepper"):
        Pseudonymizer(b"short")


def facts(n: int) -> list[ConsentFact]:
    return [
        ConsentFact(LedgerEvent.CONSENT_GIVEN, f"purpose{i}", "consent", "v1", "en", "0" * 64, "whatsapp", f"r{i}")
        for i in range(n)
    ]


def test_ledger_detects_every_kind_of_tampering() -> None:
    entries, head = chain(None, "ledger-1", 1_000, facts(4))
    assert verify(entries, head).ok
    edited = [*entries]
    edited[1] = dataclasses.replace(entries[1], notice_sha256="f" * 64)
    assert not verify(edited, head).ok
    forged = [*entries]  # an edit with a recomputed hash breaks the successor's link
    forged[1] = dataclasses.replace(entries[1], purpose="marketing")
    forged[1] = dataclasses.replace(forged[1], entry_hash=forged[1].computed_hash())
    assert not verify(forged, head).ok
    assert not verify([entries[0], entries[2], entries[3]], head).ok  # a middle entry deleted
    assert not verify(entries[:3], head).ok  # the last entry deleted: only the head tells
    assert verify(entries[:3]).ok
    assert not verify([entries[1], entries[0], entries[2], entries[3]], head).ok  # reordered
    assert not verify(entries[1:], head).ok  # the first entry deleted
    assert verify(entries[1:], head, expired_prefix=True).ok  # unless it expired on schedule
    assert verify(entries[1:], head, expired_prefix=True, expired_before=1_001).ok  # it had: its time was 1,000
    assert not verify(entries[1:], head, expired_prefix=True, expired_before=1_000).ok  # it had not
    more, new_head = chain(head, "ignored", 2_000, facts(1))
    assert more[0].seq == 5 and more[0].prev_hash == head.hash
    assert verify(entries + more, new_head).ok


def test_values_never_become_expression_syntax(env: Env) -> None:
    hostile = "x OR attribute_exists(PK) #status :now )"
    request = OptInRequest(
        request_id=hostile,
        code_hash=code_hash("CC-" + "A" * 26),
        flow="chat",
        channel="whatsapp",
        language=hostile,
        purposes=(hostile, "#state"),
        notice_version=":pending",
        notice_sha256=hostile,
        status="pending",
        created_at=int(env.clock()),
        expires_at=int(env.clock()) + 3600,
    )
    env.store.optins.create_request(request)
    stored = env.store.optins.request(request.code_hash)
    assert stored == request
    assert env.store.guards.consume_rate(hostile, hostile, 60, 1)
    assert not env.store.guards.consume_rate(hostile, hostile, 60, 1)
