"""Access from the chat (Art. 15): DATA gives the person a one-time link to their copy.

The link carries a 256-bit token, like the confirmation link's, that exists in plain form only in
the message sent to the person; the store keeps its SHA-256. It works once, for the period of the
``pending_optin_link`` class (24 hours), and one is issued per person and period. Opening it (GET)
only shows a page with a download button: link previews and scanners fetch links on their own. The
download (POST) is the document the admin API exports (:meth:`SubjectRights.export`); it spends the
link in a conditional write together with its audit entry, so a second download is refused, and an
erasure (which deletes the link) stops it from working.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from chatconsent.config import BusinessConfig
from chatconsent.store import AccessLink, OwedMessage, Store
from chatconsent.tokens import LINK_TOKEN_PATTERN, new_link_token, token_hash

_TOKEN = re.compile(LINK_TOKEN_PATTERN)
DATA_PATH = "/data/"  # the page's path under the public base URL, followed by the token
ACTOR = "data_subject"  # who downloads, as the audit trail names them: the person, through their link


class AccessOutcome(StrEnum):
    DOWNLOADED = "downloaded"
    USED = "used"  # downloaded before: the link works once
    INVALID = "invalid"  # unknown, foreign, expired or erased: the same answer for each


def access_url(config: BusinessConfig, token: str) -> str:
    return f"{str(config.public_base_url).rstrip('/')}{DATA_PATH}{token}"


def issue_link(
    store: Store,
    subject: str,
    language: str,
    audit_ref: str,
    message_hash: str,
    answer: Callable[[str], OwedMessage],
) -> bool:
    """A new link for ``subject``, recorded with the delivery of the message that asked for it and
    ``answer(token)``, the message owed that carries it (the token itself is never stored); False
    when one was issued within the period (nothing is written). Raises Duplicate for a message
    processed before."""
    token = new_link_token()
    return store.access.issue(subject, token_hash(token), language, audit_ref, message_hash, [answer(token)])


class AccessDownloads:
    """The link's side in the confirmation function: show (read only) and download (once)."""

    def __init__(self, store: Store, export: Callable[[str], dict[str, Any]]) -> None:
        self._store = store
        self._export = export

    def link_for(self, token: str) -> AccessLink | None:
        """The live link behind ``token``; a read, never a write."""
        if not _TOKEN.fullmatch(token):
            return None
        return self._store.access.link(token_hash(token))

    def download(self, token: str, action: str) -> tuple[AccessOutcome, AccessLink | None, dict[str, Any] | None]:
        """The person's copy, once: built first, handed out only if this request spent the link.

        ``action`` names the request in the audit trail (the route). Two downloads at once build the
        copy twice and one of them gets it; a failure while building spends nothing.
        """
        link = self.link_for(token)
        if link is None:
            return AccessOutcome.INVALID, None, None
        if not link.is_open:
            return AccessOutcome.USED, link, None
        document = self._export(link.subject)
        if self._store.access.spend(link, ACTOR, action):
            return AccessOutcome.DOWNLOADED, link, document
        now = self.link_for(token)  # spent by a simultaneous download, expired, or erased meanwhile
        return (AccessOutcome.USED if now is not None and not now.is_open else AccessOutcome.INVALID), link, None
