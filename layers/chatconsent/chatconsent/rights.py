"""The person's rights over everything stored about them: access (Art. 15) and erasure (Art. 17).

The export holds every item about the subject in every table, decrypted, with the notice texts
the ledger points to and the Art. 15(1)(a)-(h) information. Erasure deletes every item, shreds the
data key (so backups become unreadable), leaves a receipt without personal data, a tombstone
naming the pseudonym for as long as a backup can be restored (so that a restore can erase the
person again; never part of an export) and, if the person had withdrawn, a keyed-hash block-list
entry. The ledger entries stay, verifiable, but
the head that linked them to the subject is gone: they point to nobody.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.keyring import KeyShredded, SubjectKeyring
from chatconsent.ledger import LedgerEntry, verify
from chatconsent.notices import NoticeRegistry, UnknownNotice
from chatconsent.retention import RetentionPlan
from chatconsent.ropa import build_record
from chatconsent.store import Store, SubjectItem
from chatconsent.store.keys import ADDRESS_ID, SUBJECT_ITEM_KINDS


class SubjectRights:
    def __init__(
        self,
        store: Store,
        keyring: SubjectKeyring | None,
        notices: NoticeRegistry,
        config: BusinessConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._notices = notices
        self._config = config
        self._clock = clock

    def _open(self, subject: str, item: SubjectItem) -> Any:
        if self._keyring is None or item.sealed is None:
            return None
        try:
            return json.loads(self._keyring.decrypt(subject, item.key.item_id, item.sealed))
        except KeyShredded:
            return None

    def _address(self, subject: str, sealed: bytes) -> str | None:
        if self._keyring is None:
            return None
        try:
            return self._keyring.decrypt(subject, ADDRESS_ID, sealed).decode("utf-8")
        except KeyShredded:
            return None

    def _sections(self, subject: str, now: int) -> dict[str, list[dict[str, Any]]]:
        sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SUBJECT_ITEM_KINDS.values()}
        for item in self._store.subjects.items(subject):
            if item.expires_at <= now:
                continue
            if item.kind is None:  # a new item type the export does not know yet: caught by tests, never silent
                raise RuntimeError("the export does not cover every item type")
            entry = dict(item.attributes)
            if item.sealed is not None:
                entry["content"] = self._open(subject, item)
            if item.address is not None:  # where we may write to the person: their own number, unsealed
                entry["address"] = self._address(subject, item.address)
            sections[item.kind].append(entry)
        return sections

    def _notices_of(self, ledger: list[LedgerEntry]) -> dict[str, str]:
        notices: dict[str, str] = {}
        for entry in ledger:
            try:
                notice = self._notices.get(entry.notice_language, entry.notice_version)
            except UnknownNotice:
                continue
            notices[notice.sha256] = notice.text
        return notices

    def export(self, subject: str) -> dict[str, Any]:
        """Art. 15: one machine-readable document."""
        now = int(self._clock())
        sections = self._sections(subject, now)
        # the opt-in requests that still name the subject (they live outside its partition)
        hashes = [m["token_hash"] for m in sections["link_request"]]
        hashes += [p["code_hash"] for p in sections["pending_request"]]
        head = sections["ledger_head"][0] if sections["ledger_head"] else None
        ledger = self._store.ledger.entries(head["ledger_id"]) if head else []
        record = build_record(self._config)
        return {
            "subject": subject,
            "generated_at": now,
            "controller": record["controller"],
            "art_15": {
                "purposes": record["processing_activities"],  # (a)
                "other_purposes": record["other_activities"],  # (a), what is kept on another legal basis
                "categories": record["data_categories"],  # (b)
                "recipients": record["recipients"],  # (c)
                "third_country_transfers": record["third_country_transfers"],  # Art. 15(2)
                "retention": record["retention"],  # (d)
                "rights": ["rectification", "erasure", "restriction", "objection", "portability", "withdrawal"],  # (e)
                "complaint": self._config.supervisory_authority.model_dump(mode="json"),  # (f)
                "source": self._source(bool(sections["link_request"])),  # (g)
                "automated_decision_making": "none",  # (h)
            },
            "items": sections,
            "optin_requests": self._store.optins.exported(hashes),
            "access_links": self._store.access.exported([a["token_hash"] for a in sections["access_link"]]),
            "key_table": {"data_key": self._keyring is not None and self._has_key(subject)},
            "rate_counters": [
                {"hits": c.hits, "expires_at": c.expires_at} for c in self._store.guards.subject_rate_counters(subject)
            ],
            "ledger": {
                "entries": [{**e.body(), "entry_hash": e.entry_hash} for e in ledger],
                "verified": verify(
                    ledger,
                    None,
                    expired_prefix=True,
                    expired_before=RetentionPlan.from_config(self._config).consent_records_expired_before(now),
                ).ok,
                "notices": self._notices_of(ledger),
            },
        }

    @staticmethod
    def _source(link: bool) -> str:
        chat = "collected from you through the messenger you wrote from"
        if not link:
            return chat
        return chat + "; your number was also entered in a web form, which sent you one confirmation link"

    def _has_key(self, subject: str) -> bool:
        try:
            assert self._keyring is not None
            self._keyring.key_for(subject, create=False)
        except KeyShredded:
            return False
        return True

    def erase(
        self, subject: str, suppression_hash: str | None = None, keep_question: bool = False, erasure_id: str = ""
    ) -> dict[str, int]:
        """Art. 17: delete every item, shred the key, keep a receipt; returns counts per kind.

        An open confirmation link is voided first, so a click cannot write after the erasure; the
        store then empties the partition until nothing is left (a chat answer racing the erasure
        may write once more in between).
        """
        link = self._store.subjects.state(subject).open_link
        if link is not None:
            self._store.optins.void_link(subject, link.token_hash, link.request_id, "erased")
        erased = self._store.subjects.erase(subject, keep_question)
        if self._keyring is not None:
            self._keyring.forget(subject)
        if erased.had_withdrawn and suppression_hash:
            self._store.guards.suppress(suppression_hash)
        # one receipt and one tombstone per erasure: a chat erasure run again (the same question)
        # keeps the first; the tombstone is what a restore from a backup replays (see restore.py)
        self._store.subjects.record_erasure(subject, erasure_id or uuid.uuid4().hex, erased.counts)
        return erased.counts
