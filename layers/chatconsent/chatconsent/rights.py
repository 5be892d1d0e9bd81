"""The person's rights over everything stored about them: access (Art. 15) and erasure (Art. 17).

The export holds every item about the subject in every table, decrypted, with the notice texts
the ledger points to and the Art. 15(1)(a)-(h) information. Erasure deletes every item, shreds the
data key (so backups become unreadable), leaves a receipt without personal data and, if the
person had withdrawn, a keyed-hash block-list entry. The ledger entries stay, verifiable, but
the head that linked them to the subject is gone: they point to nobody.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent import ConsentState
from chatconsent.keyring import KeyShredded, SubjectKeyring
from chatconsent.ledger import verify
from chatconsent.notices import NoticeRegistry, UnknownNotice
from chatconsent.retention import RetentionPlan
from chatconsent.ropa import build_record
from chatconsent.store import SUBJECT_ITEM_TYPES, ChatconsentTable, Keys


class SubjectRights:
    def __init__(
        self,
        table: ChatconsentTable,
        keyring: SubjectKeyring | None,
        notices: NoticeRegistry,
        config: BusinessConfig,
        clock: Clock,
    ) -> None:
        self._table = table
        self._keyring = keyring
        self._notices = notices
        self._config = config
        self._clock = clock

    def _open(self, subject: str, item: dict[str, Any]) -> Any:
        if self._keyring is None or "sealed" not in item:
            return None
        try:
            return json.loads(self._keyring.decrypt(subject, item["SK"], item["sealed"]))
        except KeyShredded:
            return None

    def export(self, subject: str) -> dict[str, Any]:
        """Art. 15: one machine-readable document."""
        now = int(self._clock())
        sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SUBJECT_ITEM_TYPES.values()}
        unknown: list[str] = []
        for item in self._table.subject_items(subject):
            if item.get("expires_at", 0) <= now:
                continue
            kind = next(
                (name for prefix, name in SUBJECT_ITEM_TYPES.items() if item["SK"].startswith(prefix)),
                None,
            )
            if kind is None:
                unknown.append(item["SK"])  # a new item type the export does not know yet
                continue
            entry = {k: v for k, v in item.items() if k not in ("PK", "sealed", "expiry_shard")}
            if "sealed" in item:
                entry["content"] = self._open(subject, item)
            sections[kind].append(entry)
        if unknown:
            raise RuntimeError("the export does not cover every item type")  # caught by tests, never silent
        # the opt-in requests that still name the subject (they live outside its partition)
        hashes = [m["token_hash"] for m in sections["link_request"]]
        hashes += [p["code_hash"] for p in sections["pending_request"]]
        optin_requests = [
            {k: v for k, v in found.items() if k not in ("PK", "expiry_shard", "suppression_hash")}
            for found in (self._table.optin_item(h) for h in hashes)
            if found is not None
        ]
        head = sections["ledger_head"][0] if sections["ledger_head"] else None
        ledger = self._table.ledger_entries(head["ledger_id"]) if head else []
        notices: dict[str, str] = {}
        for ledger_entry in ledger:
            try:
                notice = self._notices.get(ledger_entry.notice_language, ledger_entry.notice_version)
            except UnknownNotice:
                continue
            notices[notice.sha256] = notice.text
        record = build_record(self._config)
        return {
            "subject": subject,
            "generated_at": now,
            "controller": record["controller"],
            "art_15": {
                "purposes": record["processing_activities"],  # (a)
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
            "optin_requests": optin_requests,
            "key_table": {"data_key": self._keyring is not None and self._has_key(subject)},
            "rate_counters": self._table.rate_counters(self._table.subject_rate_keys(subject)),
            "ledger": {
                "entries": [{**e.body(), "entry_hash": e.entry_hash} for e in ledger],
                "verified": verify(
                    ledger,
                    None,
                    expired_prefix=True,
                    expired_before=RetentionPlan.from_config(self._config).consent_records_expired_before(now),
                ).ok,
                "notices": notices,
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

    def erase(self, subject: str, suppression_hash: str | None = None) -> dict[str, int]:
        """Art. 17: delete every item, shred the key, keep a receipt; returns counts per kind.

        An open confirmation link is voided first, so a click cannot write after the erasure; the
        partition is then emptied until nothing is left (a chat answer racing the erasure may
        write once more in between).
        """
        link = self._table.subject_state(subject).open_link
        if link is not None:
            self._table.void_link(subject, link, "erased")
        counts: dict[str, int] = {}
        withdrew = False
        for _ in range(3):
            items = self._table.subject_items(subject)
            if not items:
                break
            withdrew |= any(
                i["SK"].startswith("S#CONSENT#") and i.get("state") == ConsentState.WITHDRAWN.value for i in items
            )
            for item in items:
                kind = next((n for p, n in SUBJECT_ITEM_TYPES.items() if item["SK"].startswith(p)), "other")
                counts[kind] = counts.get(kind, 0) + 1
            keys = [{"PK": i["PK"], "SK": i["SK"]} for i in items]
            # requests that still name the subject: a pending chat request, a link sent to them
            keys += [Keys.optin(i["code_hash"]) for i in items if i["SK"] == "S#PENDING"]
            keys += [Keys.optin(i["token_hash"]) for i in items if i["SK"] == "S#LINK"]
            self._table.delete_keys(keys)
        counters = self._table.rate_counters(self._table.subject_rate_keys(subject))
        self._table.delete_keys([{"PK": c["PK"], "SK": c["SK"]} for c in counters])
        counts["rate_counters"] = len(counters)
        self._table.delete_subject_key(subject)
        if self._keyring is not None:
            self._keyring.forget(subject)
        if withdrew and suppression_hash:
            self._table.suppress(suppression_hash)
        self._table.put_erasure_receipt(uuid.uuid4().hex, counts)
        return counts
