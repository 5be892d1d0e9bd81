"""Senders we know nothing about: at most one short information reply a day, nothing stored.

Only the delivery record and a pseudonymous one-day counter remain; a number on the block list
gets no reply at all. The reply's language comes from the number's country.
"""

from __future__ import annotations

from chatconsent.identity import region_of
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn


def info(turn: Turn, key: str) -> Outcome:
    """The info (or help) reply for someone without consent, rate-limited and never to a blocked number."""
    parts, message = turn.parts, turn.message
    limit = parts.config.limits.info_replies_per_day
    suppression = parts.pseudonymizer.suppression(message.channel, message.sender)
    if limit == 0 or parts.store.guards.is_suppressed(suppression):
        return turn.answer([], Outcome.SUPPRESSED)
    if parts.store.guards.was_delivered(turn.message_hash):
        return Outcome.DUPLICATE  # before the counter: a redelivery costs no reply of the day
    if not parts.store.guards.consume_rate("info-reply", turn.subject, 86_400, limit):
        return turn.answer([], Outcome.INFO_SUPPRESSED)
    language = parts.texts.language_for_region(region_of(message.sender))
    return turn.answer([turn.owe_text(key, language, track=None)], Outcome.INFO_REPLIED)
