"""Link-confirmed opt-in, step two: the person opens the link and confirms or declines.

Opening the link (a GET) only reads: link previews and mail scanners fetch URLs on their own.
Only the person's explicit answer (a POST) changes state, once: the token is single-use, expires
with its request and stops working when the person writes STOP first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from enum import StrEnum

from chatconsent.clock import Clock
from chatconsent.consent_service import ConsentService
from chatconsent.store import Conflict, OptInRequest, Store
from chatconsent.tokens import LINK_TOKEN_PATTERN, token_hash

_TOKEN = re.compile(LINK_TOKEN_PATTERN)


class LinkDecision(StrEnum):
    CONFIRM = "confirm"
    DECLINE = "decline"


class LinkOutcome(StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CLOSED = "closed"  # used, declined or voided by a withdrawal before
    INVALID = "invalid"  # unknown, foreign or expired: the same answer for each


class LinkConfirmation:
    def __init__(
        self, store: Store, consents: ConsentService, clock: Clock, page: Callable[[OptInRequest], str]
    ) -> None:
        self._store = store
        self._consents = consents
        self._clock = clock
        self._page = page

    def page(self, request: OptInRequest) -> str:
        """The confirmation page of ``request``, exactly as shown (its hash goes into the proof)."""
        return self._page(request)

    def request_for(self, token: str) -> OptInRequest | None:
        """The live link request behind ``token``; a read, never a write."""
        if not _TOKEN.fullmatch(token):
            return None
        request = self._store.optins.request(token_hash(token))
        if request is None or request.flow != "link":
            return None
        return request

    @staticmethod
    def is_open(request: OptInRequest) -> bool:
        return request.status == "pending" and bool(request.subject)

    def decide(self, token: str, decision: LinkDecision) -> tuple[LinkOutcome, OptInRequest | None]:
        request = self.request_for(token)
        if request is None:
            return LinkOutcome.INVALID, None
        if not self.is_open(request):
            # the same answer again (a double click, a reload): the same result, nothing changes
            if (request.status, decision) in (("confirmed", LinkDecision.CONFIRM), ("declined", LinkDecision.DECLINE)):
                return LinkOutcome(request.status), request
            return LinkOutcome.CLOSED, request
        if decision is LinkDecision.CONFIRM:
            evidence = {
                "confirmed_at": str(int(self._clock())),
                "confirmed_by": "link",
                "page_sha256": hashlib.sha256(self._page(request).encode("utf-8")).hexdigest(),  # what was answered
            }
            confirmed = self._consents.confirm_link(request, evidence)
            return (LinkOutcome.CONFIRMED if confirmed else LinkOutcome.CLOSED), request
        try:
            self._store.optins.decline_link(request)
        except Conflict:
            return LinkOutcome.CLOSED, request
        return LinkOutcome.DECLINED, request
