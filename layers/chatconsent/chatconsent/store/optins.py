"""Opt-in requests (chat codes and link tokens, stored only hashed) and confirmation links.

A chat request waits for its code to arrive from the person's messenger; a link request goes
with a one-per-period marker in the subject's partition (``link``) and is closed once: confirmed,
declined, withdrawn or erased. The consent transitions that close a request live in
:mod:`chatconsent.store.consents`.
"""

from __future__ import annotations

from typing import Any

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.guards import Guards
from chatconsent.store.records import OptInRequest
from chatconsent.store.table import Conflict, Operation, Table, retry_on_conflict

_EXPORT_HIDDEN = frozenset({keys.PARTITION, keys.EXPIRY_SHARD, "suppression_hash", "address"})


def _request_attributes(request: OptInRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "flow": request.flow,
        "channel": request.channel,
        "language": request.language,
        "purposes": list(request.purposes),
        "notice_version": request.notice_version,
        "notice_sha256": request.notice_sha256,
        "status": request.status,
        "created_at": request.created_at,
        **form_attributes(request.age_confirmed, request.widget_version),
    }


def form_attributes(age_confirmed: int, widget_version: str) -> dict[str, Any]:
    """What the form added (the age confirmed, the widget's version): stored only when given."""
    return {
        **({"age_confirmed": age_confirmed} if age_confirmed else {}),
        **({"widget_version": widget_version} if widget_version else {}),
    }


class OptIns:
    def __init__(self, table: Table, guards: Guards) -> None:
        self._t = table
        self._guards = guards

    def create_request(self, request: OptInRequest) -> None:
        """A chat-started request, waiting for its code (nothing is sent to anyone)."""
        t = self._t
        retention = RetentionClass.PENDING_OPTIN_CHAT if request.flow == "chat" else RetentionClass.PENDING_OPTIN_LINK
        item = t.item(keys.optin(request.code_hash), _request_attributes(request), retention, request.expires_at)
        t.client.put_item(**t.put(item, "attribute_not_exists(PK)"))

    def request(self, code_hash: str) -> OptInRequest | None:
        """The live request behind a code or token hash."""
        data = self._t.get(keys.optin(code_hash))
        if data is None or not self._t.is_live(data):
            return None
        return OptInRequest(
            request_id=data["request_id"],
            code_hash=code_hash,
            flow=data["flow"],
            channel=data["channel"],
            language=data["language"],
            purposes=tuple(data["purposes"]),
            notice_version=data["notice_version"],
            notice_sha256=data["notice_sha256"],
            status=data["status"],
            created_at=data["created_at"],
            expires_at=data["expires_at"],
            subject=data.get("subject", ""),
            sent_message=data.get("sent_message", ""),
            suppression_hash=data.get("suppression_hash", ""),
            address=bytes(data["address"]) if data.get("address") is not None else None,
            age_confirmed=int(data.get("age_confirmed", 0)),
            widget_version=data.get("widget_version", ""),
        )

    def exported(self, code_hashes: list[str]) -> list[dict[str, Any]]:
        """The requests as stored (for the export), without the key layout and the block-list key."""
        found = (self._t.get(keys.optin(h)) for h in code_hashes)
        return [{k: v for k, v in item.items() if k not in _EXPORT_HIDDEN} for item in found if item is not None]

    # -- link-confirmed opt-in -------------------------------------------------------------------

    def create_link_request(self, request: OptInRequest) -> bool:
        """The request and the subject's one-per-period marker, atomically, unless the number is blocked.

        False (nothing written) when a link for this subject was created within the period, when
        the number is on the block list (checked in the same transaction, so a STOP that lands
        first always wins), or when a simultaneous request for the same number got there first.
        """
        t = self._t
        now = t.now()
        attributes = {
            **_request_attributes(request),
            "flow": "link",
            "status": "pending",
            "subject": request.subject,
            "suppression_hash": request.suppression_hash,
        }
        request_item = t.item(
            keys.optin(request.code_hash), attributes, RetentionClass.PENDING_OPTIN_LINK, request.expires_at
        )
        marker = t.item(
            keys.link(request.subject),
            {
                "request_id": request.request_id,
                "token_hash": request.code_hash,
                "status": "pending",
                "created_at": request.created_at,
            },
            RetentionClass.PENDING_OPTIN_LINK,
            request.expires_at,
        )
        ops = [
            ("request", "Put", t.put(request_item, "attribute_not_exists(PK)")),
            ("link", "Put", t.put(marker, "attribute_not_exists(PK) OR #exp <= :now", {":now": now})),
            self._guards.not_suppressed_check(request.suppression_hash, now),
        ]
        for _ in retry_on_conflict():
            try:
                t.transact(ops)
            except Conflict as conflict:
                if conflict.failed == ("transaction_conflict",):  # a simultaneous request: try again
                    continue
                if {"link", "suppression"} & set(conflict.failed):
                    return False
                raise
            return True
        return False  # still contended: another request for this number is being written

    def claim_link_send(self, token_hash: str) -> bool:
        """Mark a pending request as being sent; False when it is closed or was claimed before."""
        t = self._t
        return t.update_item(
            t.update(
                keys.optin(token_hash),
                "SET send_claimed_at = :now",
                {":now": t.now(), ":pending": "pending"},
                "#status = :pending AND #exp > :now AND attribute_not_exists(send_claimed_at)",
            )
        )

    def unclaim_link_send(self, token_hash: str) -> bool:
        """Give the claim back (the provider could not take the message now): the job's next delivery sends."""
        t = self._t
        return t.update_item(
            t.update(
                keys.optin(token_hash),
                "REMOVE send_claimed_at",
                {":pending": "pending"},
                "#status = :pending AND attribute_exists(send_claimed_at)",
            )
        )

    def record_link_sent(self, token_hash: str, message_hash: str, address: bytes | None = None) -> None:
        """Which provider message carried the link (its keyed hash): evidence for the ledger.

        With ``address`` (the number, sealed with the subject's key) a click can keep it with the
        consent. The link may already be used, declined or voided by then: that is no error.
        """
        t = self._t
        values: dict[str, Any] = {":m": message_hash, ":now": t.now(), ":pending": "pending"}
        if address is not None:
            values[":addr"] = address
        t.update_item(
            t.update(
                keys.optin(token_hash),
                "SET sent_message = :m, sent_at = :now" + (", #addr = :addr" if address is not None else ""),
                values,
                "#status = :pending",
            )
        )

    def record_link_address(self, token_hash: str, address: bytes | None) -> None:
        """Keep the sealed number on a pending link request that was sent without it (a cut-short send)."""
        if address is None:
            return
        t = self._t
        t.update_item(
            t.update(
                keys.optin(token_hash),
                "SET #addr = :addr",
                {":addr": address, ":pending": "pending"},
                "#status = :pending AND attribute_not_exists(#addr)",
            )
        )

    def release_link_request(self, request: OptInRequest) -> None:
        """Undo a request whose message could not be sent, so the person may try again."""
        t = self._t
        values = {":req": request.request_id}
        t.transact(
            [
                ("request", "Delete", t.delete(keys.optin(request.code_hash), "#req = :req", values)),
                ("link", "Delete", t.delete(keys.link(request.subject), "#req = :req", values)),
            ]
        )

    def close_link_ops(self, subject: str, token_hash: str, request_id: str, status: str, now: int) -> list[Operation]:
        """pending link → ``status``; the request no longer names the subject."""
        t = self._t
        return [
            (
                "link_request",
                "Update",
                t.update(
                    keys.optin(token_hash),
                    "SET #status = :status, closed_at = :now REMOVE #subject, suppression_hash, #addr",
                    {":status": status, ":pending": "pending", ":now": now, ":subject": subject},
                    "#status = :pending AND #exp > :now AND #subject = :subject",
                ),
            ),
            (
                "link",
                "Update",
                t.update(
                    keys.link(subject), "SET #status = :status", {":status": status, ":req": request_id}, "#req = :req"
                ),
            ),
        ]

    def void_link(self, subject: str, token_hash: str, request_id: str, status: str) -> bool:
        """Close the subject's open link (erasure, withdrawal elsewhere); False when it was not open."""
        try:
            self._t.transact(self.close_link_ops(subject, token_hash, request_id, status, self._t.now()))
        except Conflict:
            return False
        return True

    def decline_link(self, request: OptInRequest) -> None:
        """pending link → declined: no consent, and the request forgets the subject."""
        self._t.transact(
            self.close_link_ops(request.subject, request.code_hash, request.request_id, "declined", self._t.now())
        )
