"""Replaying erasures into a table restored from a point-in-time backup (the README's restore runbook).

A restored copy holds everyone as they were at the restore time *T*, including the people erased
since. Their sealed items stay unreadable (the key table is never restored), the rest must be
deleted again. Every erasure leaves a tombstone in the live table for as long as a backup can be
restored; :func:`replay_erasures` reads those after *T*, erases each pseudonym from the copy with
the erasure's own code path (a :class:`~chatconsent.rights.SubjectRights` bound to the copy and no
keyring: the copy must never shred a key of the live key table, which may belong to the same
person opted in again) and copies the block-list entries written after *T*. Running it again
changes nothing: a pseudonym with nothing left in the copy is skipped, an entry the copy has is
kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatconsent.rights import SubjectRights
from chatconsent.store import Store


@dataclass(frozen=True)
class ReplaySummary:
    """Counts only: no pseudonym, no number."""

    tombstones: int  # erasures after the restore time, as the live table lists them
    subjects: int  # distinct pseudonyms among them
    erased: int  # of those, the ones the copy still held something of (erased again)
    items: dict[str, int] = field(default_factory=dict)  # deleted from the copy, per kind
    block_list_found: int = 0  # block-list entries written after the restore time
    block_list_copied: int = 0  # of those, the ones the copy lacked


def _left_in(copy: Store, subject: str) -> bool:
    return bool(copy.subjects.items(subject)) or bool(copy.guards.subject_rate_counters(subject))


def replay_erasures(live: Store, copy: Store, copy_rights: SubjectRights, since: int) -> ReplaySummary:
    """Make every erasure after ``since`` (epoch seconds) hold in ``copy``; ``copy_rights`` works on ``copy``."""
    if copy.table.name == live.table.name:
        raise ValueError("the restored copy must be another table than the live one")
    tombstones = live.restore.tombstones_since(since)
    first: dict[str, str] = {}
    for tombstone in tombstones:
        first.setdefault(tombstone.subject, tombstone.erasure_id)
    items: dict[str, int] = {}
    erased = 0
    for subject, erasure_id in first.items():
        if not _left_in(copy, subject):
            continue
        counts = copy_rights.erase(subject, erasure_id=f"replay-{erasure_id}")
        erased += 1
        for kind, count in counts.items():
            items[kind] = items.get(kind, 0) + count
    blocked = live.restore.suppressions_since(since)
    copied = live.restore.copy_missing(blocked, copy.restore)
    return ReplaySummary(len(tombstones), len(first), erased, items, len(blocked), copied)
