"""The consent ledger (Art. 7(1) proof): append-only, hash-chained per subject, no personal data.

Each entry commits to its predecessor's hash, and the subject's head item commits to the last
entry, so an edited, inserted, reordered or deleted entry is found by :func:`verify`.
Entries hold purpose, legal basis, notice version/language/hash, the widget request id and keyed
hashes of the channel message ids: never a number or message text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

GENESIS = "0" * 64


class LedgerEvent(StrEnum):
    CONSENT_GIVEN = "consent_given"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_LAPSED = "consent_lapsed"
    CONSENT_RENEWED = "consent_renewed"  # the person said yes to continuing before the validity ended
    CONSENT_RECONFIRMED = "consent_reconfirmed"  # the person said yes under a notice that changed materially


@dataclass(frozen=True)
class LedgerHead:
    ledger_id: str
    seq: int
    hash: str
    at: int = 0  # time of the last entry


@dataclass(frozen=True)
class LedgerEntry:
    ledger_id: str
    seq: int
    at: int
    event: LedgerEvent
    purpose: str
    legal_basis: str
    notice_version: str
    notice_language: str
    notice_sha256: str
    channel: str
    request_id: str
    evidence: dict[str, str] = field(default_factory=dict)
    prev_hash: str = GENESIS
    prev_at: int = 0  # the predecessor's time: tells whether a missing predecessor had expired
    entry_hash: str = ""

    def body(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("entry_hash")
        data["event"] = self.event.value
        return data

    def computed_hash(self) -> str:
        canonical = json.dumps(self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsentFact:
    """What happened, before it is placed in the chain."""

    event: LedgerEvent
    purpose: str
    legal_basis: str
    notice_version: str
    notice_language: str
    notice_sha256: str
    channel: str
    request_id: str
    evidence: dict[str, str] = field(default_factory=dict)


def chain(
    head: LedgerHead | None, new_ledger_id: str, at: int, facts: list[ConsentFact]
) -> tuple[list[LedgerEntry], LedgerHead]:
    """Entries that extend ``head`` with ``facts`` (in order) and the head that commits to them."""
    ledger_id = head.ledger_id if head else new_ledger_id
    seq = head.seq if head else 0
    prev = head.hash if head else GENESIS
    prev_at = head.at if head else 0
    entries = []
    for fact in facts:
        seq += 1
        entry = LedgerEntry(ledger_id=ledger_id, seq=seq, at=at, prev_hash=prev, prev_at=prev_at, **asdict(fact))
        entry = replace(entry, event=fact.event, entry_hash=entry.computed_hash())
        entries.append(entry)
        prev, prev_at = entry.entry_hash, at
    return entries, LedgerHead(ledger_id=ledger_id, seq=seq, hash=prev, at=prev_at)


@dataclass(frozen=True)
class Verification:
    ok: bool
    problems: tuple[str, ...] = ()
    starts_at: int = 1  # > 1 when older entries reached the end of their retention and were purged


def verify(
    entries: list[LedgerEntry],
    head: LedgerHead | None = None,
    expired_prefix: bool = False,
    expired_before: int | None = None,
) -> Verification:
    """Check a subject's chain (ordered by seq) against itself and, if given, its head.

    With ``expired_prefix`` the chain may start after seq 1 (older entries were purged on
    schedule); with ``expired_before`` only if the missing predecessor's time (recorded, hashed, in
    the first retained entry) is before it, i.e. it had reached the end of its retention. What is
    retained must still link up without a gap and end at the head.
    """
    problems: list[str] = []
    first = entries[0].seq if entries else 1
    prefix_expired = expired_prefix and (
        expired_before is None or (bool(entries) and entries[0].prev_at < expired_before)
    )
    if first != 1 and not prefix_expired:
        problems.append(f"entries before seq {first} are missing")
    prev = entries[0].prev_hash if entries and first != 1 else GENESIS
    for expected_seq, entry in enumerate(entries, start=first):
        if entry.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (found seq {entry.seq})")
            break
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq} does not follow its predecessor")
        if entry.computed_hash() != entry.entry_hash:
            problems.append(f"entry {entry.seq} was altered")
        prev = entry.entry_hash
    if head is not None:
        if not entries and head.seq:
            problems.append("entries are missing")
        elif entries and (entries[-1].seq != head.seq or entries[-1].entry_hash != head.hash):
            problems.append("the chain does not end at the recorded head")
    return Verification(ok=not problems, problems=tuple(problems), starts_at=first)
