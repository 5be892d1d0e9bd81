"""The inbound path: every message, status and preference of a webhook delivery, in order.

Each state change and its delivery record commit in one transaction, so a duplicated or
concurrently delivered webhook has no second effect. What a message means is decided by
:func:`chatconsent.inbound.dispatch.role_of`; each role's step lives in its own module.
"""

from __future__ import annotations

from dataclasses import replace

from chatconsent.channels.base import InboundKind, InboundMessage, ParsedWebhook, PreferenceUpdate, StatusUpdate
from chatconsent.consent_state import SubjectState
from chatconsent.inbound import conversation, optin_steps, renewal, rights_words, special, unknown
from chatconsent.inbound.dispatch import RECORD_FIRST, Role, marketing_stops, role_of
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import InboundParts, Turn
from chatconsent.retention import RetentionClass
from chatconsent.store import STATUS_RANK
from chatconsent.tokens import find_code

# While the person's processing is restricted (Art. 18) only these steps run: keeping a message as
# the consent allows, and what the person does to end processing (withdrawal, erasure, declining).
# Whatever else they send is recorded as delivered and nothing more; nothing is sent either way.
_WHILE_RESTRICTED = frozenset(
    {
        Role.NUMBER_CHANGED,
        Role.BLOCKED,
        Role.MARKETING_STOP,
        Role.WITHDRAWAL,
        Role.SPECIAL_NO,
        Role.ERASE_YES,
        Role.ERASE_NO,
        Role.CONSENT_NO,
        Role.CONVERSATION,
    }
)


def _run(role: Role, turn: Turn, state: SubjectState) -> Outcome:
    """The step for ``role``: one line per role, in the dispatch order."""
    if state.restricted and role not in _WHILE_RESTRICTED:
        if role in RECORD_FIRST:  # recorded already
            return Outcome.RESTRICTED
        return Outcome.RESTRICTED if turn.record_delivery() else Outcome.DUPLICATE
    if role is Role.NUMBER_CHANGED:
        return rights_words.number_changed(turn, state)
    if role is Role.BLOCKED:
        return rights_words.blocked(turn, state)
    if role is Role.MARKETING_STOP:
        return rights_words.marketing_stop(turn, state)
    if role is Role.WITHDRAWAL:
        return rights_words.withdraw(turn, state)
    if role in (Role.SPECIAL_YES, Role.SPECIAL_NO):
        return special.answer(turn, state, granted=role is Role.SPECIAL_YES)
    if role in (Role.STALE_SPECIAL, Role.STALE_RENEWAL):  # an answer to a question that expired or was answered
        return Outcome.STALE_ANSWER if turn.record_delivery() else Outcome.DUPLICATE
    if role in (Role.ERASE_YES, Role.ERASE_NO):
        return rights_words.erase(turn, state, confirmed=role is Role.ERASE_YES)
    if role in (Role.RENEWAL_YES, Role.RENEWAL_NO):
        return renewal.answer(turn, state, renew=role is Role.RENEWAL_YES)
    if role is Role.CONSENT_YES:
        return optin_steps.activate(turn, state)
    if role is Role.CONSENT_NO:
        return optin_steps.decline(turn, state)
    if role is Role.CONVERSATION:
        return conversation.keep(turn, state)
    if role is Role.ACCESS:
        return rights_words.access(turn, state)
    return _after_delivery_record(role, turn, state)


def _after_delivery_record(role: Role, turn: Turn, state: SubjectState) -> Outcome:
    """The roles that change nothing but may answer (their delivery record goes with the answer)."""
    if role is Role.ERASE_ASK:
        return rights_words.ask_erasure(turn, state)
    if role in (Role.HELP, Role.AGENT, Role.MENU):  # who we are and the notice; how to reach a person; the words
        return rights_words.help_reply(turn, state, {Role.AGENT: "agent", Role.MENU: "menu"}.get(role, "help"))
    if role is Role.REMINDER:
        assert state.pending is not None
        reminder = turn.owe_text("answer_buttons", state.pending.language, RetentionClass.PENDING_OPTIN_CHAT)
        return turn.answer([reminder], Outcome.REMINDED)
    if role is Role.ACCEPTED:
        return Outcome.ACCEPTED
    if role is Role.SUPPRESSED:
        return Outcome.SUPPRESSED
    return unknown.info(turn, "help" if role is Role.INFO_HELP else "info")


# A delivery can arrive late (the provider retries for up to 7 days) but only within the delivery records'
# period less this margin: past it, a captured, validly signed body would no longer be recognised as a
# duplicate. Ahead of the clock, only a little skew is tolerated.
LATE_MARGIN_SECONDS = 86_400
EARLY_TOLERANCE_SECONDS = 300


class InboundService:
    def __init__(self, parts: InboundParts) -> None:
        self._parts = parts
        period = parts.plan.period(RetentionClass.WEBHOOK_DEDUPE).total_seconds()
        self._oldest_age = int(period) - LATE_MARGIN_SECONDS
        campaigns = parts.config.campaigns
        self._marketing = marketing_stops(campaigns.purpose, campaigns.stop_words)

    @property
    def parts(self) -> InboundParts:
        return self._parts

    def handle(self, parsed: ParsedWebhook) -> list[Outcome]:
        """Every message, status and preference of a batched webhook, in order (those dated outside the
        window a delivery can still arrive in are counted as outdated, and nothing else happens)."""
        outcomes = [
            self.handle_message(m) if self.is_current(m.timestamp) else Outcome.OUTDATED for m in parsed.messages
        ]
        outcomes += [
            self.handle_status(s) if self.is_current(s.timestamp) else Outcome.OUTDATED for s in parsed.statuses
        ]
        outcomes += [
            self.handle_preference(p) if self.is_current(p.timestamp) else Outcome.OUTDATED for p in parsed.preferences
        ]
        return outcomes

    def is_current(self, timestamp: int) -> bool:
        """Whether an item dated ``timestamp`` can still be told apart from a duplicate (and is not from the future)."""
        now = int(self._parts.clock())
        return now - self._oldest_age <= timestamp <= now + EARLY_TOLERANCE_SECONDS

    def handle_message(self, message: InboundMessage) -> Outcome:
        parts = self._parts
        subject = parts.pseudonymizer.subject(message.channel, message.sender)
        turn = Turn(parts, message, subject, parts.pseudonymizer.message(message.channel, message.message_id))
        code = find_code(message.text) if message.kind is InboundKind.TEXT and message.text else None
        if code:  # before the state is read: the code names the request
            return optin_steps.code(turn, code)
        state = parts.store.subjects.state(subject)
        turn = replace(turn, restricted=state.restricted)
        role = role_of(message, state, parts.config.conversation_purpose, self._marketing)
        if role in RECORD_FIRST and not turn.record_delivery():
            return Outcome.DUPLICATE
        outcome = _run(role, turn, state)
        if outcome in (Outcome.STORED, Outcome.ACCEPTED):  # a contact under consent: re-confirm a material change
            renewal.ask_reconfirmation(turn, state)
        return outcome

    def handle_status(self, status: StatusUpdate) -> Outcome:
        if status.status not in STATUS_RANK:
            return Outcome.STATUS_IGNORED
        pseudonymizer = self._parts.pseudonymizer
        subject = pseudonymizer.subject(status.channel, status.recipient)
        message_hash = pseudonymizer.message(status.channel, status.message_id)
        updated = self._parts.store.messages.update_status(subject, message_hash, status.status)
        return Outcome.STATUS_UPDATED if updated else Outcome.STATUS_IGNORED

    def handle_preference(self, preference: PreferenceUpdate) -> Outcome:
        """WhatsApp's in-app "stop marketing messages" withdraws the campaigns' purpose (nothing is sent)."""
        if preference.category != "marketing_messages" or preference.value != "stop":
            return Outcome.IGNORED
        parts = self._parts
        subject = parts.pseudonymizer.subject(preference.channel, preference.sender)
        withdrawn = parts.consents.withdraw(
            subject, source=f"{preference.channel}:user_preferences", purposes={parts.config.campaigns.purpose}
        )
        return Outcome.CONSENT_WITHDRAWN if withdrawn else Outcome.ALREADY_WITHDRAWN
