"""The consent ledger: a hash chain per subject in which every kind of tampering is found."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import pytest

from chatconsent.identity import Pseudonymizer
from chatconsent.ledger import (
    GENESIS,
    ConsentFact,
    LedgerEntry,
    LedgerEvent,
    LedgerHead,
    chain,
    verify,
)

NOTICE_SHA = "ab" * 32
PEPPER = b"a-test-pepper-of-32-bytes-length"


def fact(n: int, event: LedgerEvent = LedgerEvent.CONSENT_GIVEN) -> ConsentFact:
    return ConsentFact(
        event=event,
        purpose=f"purpose_{n}",
        legal_basis="consent",
        notice_version="2026-12-01",
        notice_language="en",
        notice_sha256=NOTICE_SHA,
        channel="whatsapp",
        request_id=f"request-{n}",
        evidence={"confirmation_method": "button", "confirmation_message": f"hash-{n}"},
    )


@pytest.fixture
def ledger() -> tuple[list[LedgerEntry], LedgerHead]:
    return chain(None, "ledger-1", 1_795_000_000, [fact(n) for n in range(5)])


def test_a_fresh_chain_verifies(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    assert all(e.entry_hash == e.computed_hash() and len(e.entry_hash) == 64 for e in entries)
    assert head == LedgerHead("ledger-1", 5, entries[-1].entry_hash, 1_795_000_000)
    result = verify(entries, head)
    assert result.ok and result.problems == () and result.starts_at == 1
    assert verify(entries).ok


def test_facts_are_kept_verbatim_in_order(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, _ = ledger
    for n, entry in enumerate(entries):
        assert entry.purpose == f"purpose_{n}" and entry.request_id == f"request-{n}"
        assert entry.event is LedgerEvent.CONSENT_GIVEN and entry.at == 1_795_000_000
        assert entry.ledger_id == "ledger-1" and entry.notice_sha256 == NOTICE_SHA


def test_empty_chain_and_empty_head() -> None:
    entries, head = chain(None, "ledger-1", 0, [])
    assert entries == [] and head == LedgerHead("ledger-1", 0, GENESIS)
    assert verify([], head).ok
    assert verify([]).ok


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("notice_sha256", "f" * 64),
        ("purpose", "marketing"),
        ("legal_basis", "explicit_consent"),
        ("at", 1),
        ("event", LedgerEvent.CONSENT_WITHDRAWN),
        ("notice_version", "2026-11-01"),
        ("evidence", {"confirmation_method": "text", "confirmation_message": "hash-2"}),
        ("ledger_id", "ledger-2"),
    ],
)
def test_an_edited_field_is_detected(ledger: tuple[list[LedgerEntry], LedgerHead], field: str, value: Any) -> None:
    entries, head = ledger
    edited = [*entries]
    edited[2] = dataclasses.replace(entries[2], **{field: value})
    for with_head in (head, None):
        result = verify(edited, with_head)
        assert not result.ok
        assert "entry 3 was altered" in result.problems


def test_an_edited_hash_is_detected(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    edited = [*entries]
    edited[2] = dataclasses.replace(entries[2], entry_hash="0" * 64)
    assert not verify(edited, head).ok


def test_a_forgery_with_a_recomputed_hash_breaks_the_successor(
    ledger: tuple[list[LedgerEntry], LedgerHead],
) -> None:
    entries, head = ledger
    forged = dataclasses.replace(entries[2], purpose="marketing")
    forged = dataclasses.replace(forged, entry_hash=forged.computed_hash())
    tampered = [*entries]
    tampered[2] = forged
    result = verify(tampered, head)
    assert not result.ok
    assert result.problems == ("entry 4 does not follow its predecessor",)


def test_a_forged_last_entry_with_recomputed_hash_is_found_only_by_the_head(
    ledger: tuple[list[LedgerEntry], LedgerHead],
) -> None:
    entries, head = ledger
    forged = dataclasses.replace(entries[-1], purpose="marketing")
    forged = dataclasses.replace(forged, entry_hash=forged.computed_hash())
    tampered = [*entries[:-1], forged]
    assert verify(tampered).ok  # nothing after it to break: this is what the head is for
    assert verify(tampered, head).problems == ("the chain does not end at the recorded head",)


def test_a_deleted_middle_entry_is_detected(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    without = entries[:2] + entries[3:]
    assert not verify(without, head).ok
    assert not verify(without).ok
    assert "entry 3 is missing (found seq 4)" in verify(without).problems


def test_a_deleted_last_entry_is_detectable_only_with_the_head(
    ledger: tuple[list[LedgerEntry], LedgerHead],
) -> None:
    entries, head = ledger
    assert verify(entries[:-1]).ok
    result = verify(entries[:-1], head)
    assert not result.ok and "the chain does not end at the recorded head" in result.problems


def test_every_entry_deleted_is_detected_with_the_head(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    _, head = ledger
    assert not verify([], head).ok


def test_a_deleted_first_entry_is_detected_unless_it_expired(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    assert not verify(entries[1:], head).ok
    result = verify(entries[1:], head, expired_prefix=True)
    assert result.ok and result.starts_at == 2
    # an expired prefix still has to link up without a gap and end at the head
    assert not verify(entries[1:2] + entries[3:], head, expired_prefix=True).ok
    assert not verify(entries[1:-1], head, expired_prefix=True).ok


@pytest.mark.parametrize("order", [[1, 0, 2, 3, 4], [0, 1, 3, 2, 4], [0, 1, 2, 4, 3], [4, 3, 2, 1, 0]])
def test_reordered_entries_are_detected(ledger: tuple[list[LedgerEntry], LedgerHead], order: list[int]) -> None:
    entries, head = ledger
    assert not verify([entries[i] for i in order], head).ok
    assert not verify([entries[i] for i in order]).ok


def test_reordered_entries_with_swapped_seq_numbers_are_detected(
    ledger: tuple[list[LedgerEntry], LedgerHead],
) -> None:
    entries, head = ledger
    second = dataclasses.replace(entries[2], seq=2)
    third = dataclasses.replace(entries[1], seq=3)
    assert not verify([entries[0], second, third, *entries[3:]], head).ok


def test_an_inserted_forged_entry_is_detected(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    # a well-formed entry that links to entry 2, as if the forger knew how the chain works
    [forged], _ = chain(LedgerHead("ledger-1", 2, entries[1].entry_hash), "x", 1, [fact(99)])
    inserted = [*entries[:2], forged, *entries[2:]]
    assert not verify(inserted, head).ok
    assert not verify(inserted).ok
    # appended at the end it links up, and only the head tells
    [appended], _ = chain(head, "x", 1, [fact(99)])
    assert verify([*entries, appended]).ok
    assert not verify([*entries, appended], head).ok


def test_a_duplicated_entry_is_detected(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    assert not verify([*entries[:3], entries[2], *entries[3:]], head).ok


def test_an_entry_from_another_chain_is_detected(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    other, _ = chain(None, "ledger-2", 1_795_000_000, [fact(n) for n in range(5)])
    assert not verify([*entries[:2], other[2], *entries[3:]], head).ok


def test_chaining_continues_from_an_existing_head(ledger: tuple[list[LedgerEntry], LedgerHead]) -> None:
    entries, head = ledger
    more, new_head = chain(head, "ignored-new-id", 1_795_000_100, [fact(5, LedgerEvent.CONSENT_WITHDRAWN), fact(6)])
    assert [e.seq for e in more] == [6, 7]
    assert all(e.ledger_id == "ledger-1" for e in more)  # an existing chain keeps its id
    assert more[0].prev_hash == head.hash and more[1].prev_hash == more[0].entry_hash
    assert new_head == LedgerHead("ledger-1", 7, more[1].entry_hash, 1_795_000_100)
    assert more[0].prev_at == 1_795_000_000  # the predecessor's time travels, hashed, with the entry
    assert verify(entries + more, new_head).ok
    assert not verify(entries + more, head).ok  # the old head no longer is the end
    assert not verify(more, new_head).ok  # the continuation alone lacks its start


def test_the_same_fact_at_another_position_hashes_differently() -> None:
    [a], _ = chain(None, "ledger-1", 10, [fact(1)])
    [b], _ = chain(LedgerHead("ledger-1", 1, a.entry_hash), "ledger-1", 10, [fact(1)])
    assert a.entry_hash != b.entry_hash


def test_hash_is_over_a_canonical_body() -> None:
    [entry], _ = chain(None, "ledger-1", 10, [fact(1)])
    body = entry.body()
    assert "entry_hash" not in body and body["event"] == "consent_given"
    reordered_evidence = dataclasses.replace(entry, evidence=dict(reversed(list(entry.evidence.items()))))
    assert reordered_evidence.computed_hash() == entry.computed_hash()  # key order is not content
    json.dumps(body)  # serialisable as it is stored


def test_entries_hold_no_phone_number_or_message_id() -> None:
    """Built as the consent service builds them: every identifier is a keyed hash."""
    number, wamid = "+491701234567", "wamid.HBgNNDkxNzAxMjM0NTY3FQIAEhgg"
    pseudonyms = Pseudonymizer(PEPPER)
    facts = [
        ConsentFact(
            event=LedgerEvent.CONSENT_GIVEN,
            purpose="customer_service",
            legal_basis="consent",
            notice_version="2026-12-01",
            notice_language="de",
            notice_sha256=NOTICE_SHA,
            channel="whatsapp",
            request_id="0b6e5b7e-8a4b-4f0e-9a53-5d1c2d8e9f10",
            evidence={
                "code_message": pseudonyms.message("whatsapp", wamid),
                "confirmation_message": pseudonyms.message("whatsapp", wamid + "2"),
                "confirmation_method": "button",
            },
        )
    ]
    entries, head = chain(None, "ledger-1", 1_795_000_000, facts)
    stored = json.dumps([{**e.body(), "entry_hash": e.entry_hash} for e in entries] + [dataclasses.asdict(head)])
    # (no number is ever part of an assertion message)
    assert not any(needle in stored for needle in (number, number.lstrip("+"), "1701234567", wamid, "HBgN"))
    # the entry's fields are an allow-list: nothing there could carry a sender or a text
    assert {f.name for f in dataclasses.fields(LedgerEntry)} == {
        "ledger_id",
        "seq",
        "at",
        "event",
        "purpose",
        "legal_basis",
        "notice_version",
        "notice_language",
        "notice_sha256",
        "channel",
        "request_id",
        "evidence",
        "prev_hash",
        "prev_at",
        "entry_hash",
    }
