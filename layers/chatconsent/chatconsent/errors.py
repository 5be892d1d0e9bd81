"""What can go wrong in the domain, by meaning: the callers (the API handlers) decide how to answer.

Every error carries a ``reason`` that is safe to show to the caller: it never holds personal
data (no number, no message text). The domain knows nothing about HTTP; ``chatconsent.api``
maps each kind to one status code in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidInput(DomainError):
    """The request itself is wrong (unknown purpose or template, bad phone number, forged cursor)."""


class AgeNotConfirmed(InvalidInput):
    """The business asks for a minimum age (Art. 8 GDPR) and the request does not confirm it."""

    def __init__(self, minimum_age: int) -> None:
        super().__init__(
            f"age_confirmed: the person must confirm being at least {minimum_age} years old (the JSON literal true)"
        )
        self.minimum_age = minimum_age


class NotFound(DomainError):
    """What the request names does not exist (or is no longer live)."""


class NotAllowed(DomainError):
    """The request is well-formed but the consent or the state does not allow it now."""


class NoticeChanged(DomainError):
    """The notice the person saw is not the one published now: they must reload it."""


class Gone(DomainError):
    """The data was erased (its key shredded): nothing can be read or sent any more."""


class TryAgain(DomainError):
    """A dependency is down for the moment: nothing was kept, the same request may simply be sent again."""

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RateLimited(DomainError):
    """Too many requests from one source; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests, try again later")
        self.retry_after = retry_after
