"""The register of rights requests received by e-mail or post (Art. 12(3), Art. 5(2)) and the Art. 18
restriction marker.

A request is one item outside the subject's partition (an erasure it asks for keeps the proof). While
it is open it carries the sparse index's partition attribute, so the open requests are one query by
deadline; closing removes it. Every change is a conditional write: a request is extended once, never
beyond the latest date it was registered with, and closed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.records import RightsRequest
from chatconsent.store.table import Conflict, Operation, Table

OPEN_STATES = ("open", "extended")


def _request(data: Mapping[str, Any]) -> RightsRequest:
    def sealed(name: str) -> bytes | None:
        return bytes(data[name]) if data.get(name) is not None else None

    return RightsRequest(
        request_id=data["request_id"],
        request_type=data["request_type"],
        subject=data["subject"],
        channel=data["channel"],
        received_on=data["received_on"],
        due_on=data["due_on"],
        due_at=int(data[keys.RIGHTS_DUE]),
        latest_on=data["latest_on"],
        status=data["status"],
        registered_at=int(data["registered_at"]),
        registered_by=data["registered_by"],
        note=bytes(data.get("note", b"")),  # not in the index: the list never opens it
        extended_at=data.get("extended_at"),
        extension_reason=sealed("extension_reason"),
        closed_at=data.get("closed_at"),
        closing_reason=sealed("closing_reason"),
        expires_at=int(data["expires_at"]),
    )


class RightsRegister:
    def __init__(self, table: Table) -> None:
        self._t = table

    def register(self, request: RightsRequest, latest_at: int) -> None:
        """A new open request; kept while open and for the register's period after its latest deadline."""
        t = self._t
        attributes = {
            "request_id": request.request_id,
            "request_type": request.request_type,
            "subject": request.subject,
            "channel": request.channel,
            "received_on": request.received_on,
            "due_on": request.due_on,
            keys.RIGHTS_DUE: request.due_at,
            "latest_on": request.latest_on,
            "latest_at": latest_at,
            "status": "open",
            keys.RIGHTS_QUEUE: keys.OPEN_RIGHTS,
            "registered_at": request.registered_at,
            "registered_by": request.registered_by,
            "note": request.note,
        }
        expires = t.expires_at(RetentionClass.RIGHTS_REQUEST, latest_at)
        item = t.item(keys.rights_request(request.request_id), attributes, RetentionClass.RIGHTS_REQUEST, expires)
        t.client.put_item(**t.put(item, "attribute_not_exists(PK)"))

    def get(self, request_id: str) -> RightsRequest | None:
        data = self._t.get(keys.rights_request(request_id))
        return _request(data) if data is not None and self._t.is_live(data) else None

    def extend(self, request_id: str, due_on: str, due_at: int, reason: bytes, now: int) -> bool:
        """Once, while the deadline has not passed, later than it and not beyond the latest date.

        False when any of these does not hold (the condition decides, so two extensions at once
        cannot both succeed).
        """
        t = self._t
        values = {
            ":extended": "extended",
            ":due_on": due_on,
            ":due": due_at,
            ":now": now,
            ":why": reason,
            ":open": "open",
        }
        request = t.update(
            keys.rights_request(request_id),
            "SET #status = :extended, due_on = :due_on, #due = :due, extended_at = :now, extension_reason = :why",
            values,
            "#status = :open AND #due > :now AND #due < :due AND latest_at >= :due",
        )
        return t.update_item(request)

    def _close_op(self, request_id: str, outcome: str, reason: bytes | None, type_check: str | None) -> Operation:
        t = self._t
        now = t.now()
        values: dict[str, Any] = {":outcome": outcome, ":now": now, ":open": "open", ":extended": "extended"}
        update = "SET #status = :outcome, closed_at = :now"
        if reason is not None:
            update += ", closing_reason = :why"
            values[":why"] = reason
        condition = "#status IN (:open, :extended)"
        if type_check is not None:
            condition += " AND request_type = :type"
            values[":type"] = type_check
        retention = (RetentionClass.RIGHTS_REQUEST, t.expires_at(RetentionClass.RIGHTS_REQUEST, now))
        request = t.update(keys.rights_request(request_id), update + " REMOVE #queue", values, condition, retention)
        return ("request", "Update", request)

    def close(self, request_id: str, outcome: str, reason: bytes | None) -> bool:
        """Closed once (done or refused): leaves the open list; kept for the register's period from now."""
        return self._t.update_item(self._close_op(request_id, outcome, reason, None)[2])

    def restrict(self, request_id: str, subject: str) -> bool:
        """An accepted restriction request: the subject is marked and the request done, in one transaction."""
        t = self._t
        now = t.now()
        marker = t.item(
            keys.restriction(subject),
            {"request_id": request_id, "restricted_at": now},
            RetentionClass.RIGHTS_REQUEST,
            t.expires_at(RetentionClass.RIGHTS_REQUEST, now),
        )
        try:
            t.transact([self._close_op(request_id, "done", None, "restriction"), ("marker", "Put", t.put(marker))])
        except Conflict:
            return False
        return True

    def lift(self, subject: str) -> bool:
        """The restriction ends (the officer's action); False when the subject was not restricted."""
        return self._t.delete_item(self._t.delete(keys.restriction(subject), "attribute_exists(PK)"))

    def is_restricted(self, subject: str) -> bool:
        data = self._t.get(keys.restriction(subject))
        return data is not None and self._t.is_live(data)

    def open_requests(self, limit: int) -> list[RightsRequest]:
        """The open requests, nearest deadline first (the sparse index: closed ones are not in it)."""
        found: list[RightsRequest] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            options: dict[str, Any] = {"ScanIndexForward": True, "Limit": limit - len(found)}
            if start:
                options["ExclusiveStartKey"] = start
            condition, values = "#queue = :open", {":open": keys.OPEN_RIGHTS}
            items, start = self._t.query_index(keys.DEADLINE_INDEX, condition, values, **options)
            found += [_request(i) for i in items if self._t.is_live(i)]
            if not start:
                break
        return found

    def overdue(self, now: int) -> int:
        """How many open requests are past their deadline (a count, from the index alone)."""
        condition = "#queue = :open AND #due <= :now"
        return self._t.count_index(keys.DEADLINE_INDEX, condition, {":open": keys.OPEN_RIGHTS, ":now": now})
