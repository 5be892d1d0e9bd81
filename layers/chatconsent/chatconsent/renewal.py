"""Consent renewal: asked before the lapse, lapsed when unanswered, re-confirmed after a material notice change.

The renewal job (scheduled) reads the sparse renewal index for the active consents it must act
on. Before the validity ends (``consent_renewal.ask_before``) it asks each person once per cycle:
a yes/no question with reply buttons when WhatsApp's 24-hour window is open, otherwise the
configured UTILITY template whose first quick reply answers yes. When the validity ends without
renewal (at the latest ``consent_renewal.lapse_ahead`` before the record expires) it writes the
lapse: one transaction per subject, conditioned on each consent being the active revision read,
so a renewal that commits first wins. DynamoDB TTL and the purge remain the backstop.

A notice version marked ``material`` asks active subjects who consented under an older version
to re-confirm at their next contact (the inbound path asks, once per version); a clarifying
version asks nothing. The answers are handled by the inbound path (``inbound.renewal``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from chatconsent.channels.base import Button
from chatconsent.channels.registry import has_service_window
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent_renewal import ConsentRenewal
from chatconsent.consent_service import ConsentService
from chatconsent.consent_state import ConsentRecord, ConsentState, RenewalRequest, SubjectState
from chatconsent.inbound.dispatch import RENEW_NO, RENEW_YES
from chatconsent.keyring import SubjectKeyring
from chatconsent.notices import NoticeRegistry
from chatconsent.outbox import OutboxSealer, Owing, Reply
from chatconsent.renewal_rules import cycle_of, new_request
from chatconsent.retention import RetentionClass
from chatconsent.store import Asked, Conflict, OwedMessage, Store
from chatconsent.store.keys import ADDRESS_ID
from chatconsent.texts import Texts

SERVICE_WINDOW_SECONDS = 24 * 3600
# A question sent in the window must arrive while it is still open.
_WINDOW_MARGIN_SECONDS = 600


class RenewalOutcome(StrEnum):
    ASKED_IN_WINDOW = "asked_in_window"
    ASKED_BY_TEMPLATE = "asked_by_template"
    ALREADY_ASKED = "already_asked"  # another run asked first (or the consent changed): nothing sent
    UNREACHABLE = "unreachable"  # no address kept, or no template configured: it lapses unasked
    LAPSED = "lapsed"
    RENEWED_FIRST = "renewed_first"  # due to lapse, but a renewal committed first
    FAILED = "failed"  # this person's turn failed (a throttled call, a timeout): the schedule retries the run


@dataclass(frozen=True)
class RenewalParts:
    """What the job needs to write to people: their sealed address, the channel, message-id hashing."""

    keyring: SubjectKeyring
    sealer: OutboxSealer  # the ask is owed with its mark, and sent by the outbox
    message_hash: Callable[[str], str]


@dataclass
class RenewalReport:
    due: int = 0
    subjects: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: RenewalOutcome, n: int = 1) -> None:
        self.counts[outcome.value] = self.counts.get(outcome.value, 0) + n


class RenewalJob:
    def __init__(
        self,
        store: Store,
        config: BusinessConfig,
        clock: Clock,
        consents: ConsentService,
        notices: NoticeRegistry,
        parts: RenewalParts,
        lookback_seconds: int,
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._renewal = ConsentRenewal(store, consents)
        self._notices = notices
        self._parts = parts
        self._lookback = lookback_seconds
        self._texts = Texts(config)
        settings = config.consent_renewal
        self._lapse_ahead = int(settings.lapse_ahead.total_seconds())

    def run(self) -> RenewalReport:
        """One pass over what is due: lapse what ends now, ask who has not been asked this cycle."""
        now = int(self._clock())
        report = RenewalReport()
        by_subject: dict[str, set[str]] = defaultdict(set)
        for due in self._store.renewals.due(now, self._lookback):
            by_subject[due.subject].add(due.purpose)
            report.due += 1
        for subject, purposes in sorted(by_subject.items()):
            report.subjects += 1
            try:
                self._handle(subject, purposes, now, report)
            except Exception:  # one person's failure does not hold up the others
                report.count(RenewalOutcome.FAILED)
        return report

    def _handle(self, subject: str, purposes: set[str], now: int, report: RenewalReport) -> None:
        ending_by = now + self._lapse_ahead
        state = self._store.subjects.state(subject, lapsing=True)
        active = [state.consents[p] for p in sorted(purposes) if state.state_of(p) is ConsentState.ACTIVE]
        ending = [r.purpose for r in active if r.expires_at <= ending_by]
        if ending:
            lapsed = self._renewal.lapse(subject, ending, ending_by)
            if lapsed:
                report.count(RenewalOutcome.LAPSED, len(lapsed))
            if len(lapsed) < len(ending):
                report.count(RenewalOutcome.RENEWED_FIRST, len(ending) - len(lapsed))
        to_ask = [r for r in active if r.expires_at > ending_by and r.renewal_asked != cycle_of(r)]
        if to_ask:
            report.count(self._ask(subject, state, to_ask, now))

    def _ask(self, subject: str, state: SubjectState, records: list[ConsentRecord], now: int) -> RenewalOutcome:
        """Ask once for these consents' cycle: the question, the marks and the message owed in one
        transaction; the outbox sends it (again while the messenger cannot take it)."""
        language = self._texts.language(records[0].notice_language or None)
        notice = self._notices.get(language)
        addressed = next((r for r in records if r.address is not None), None)
        last_inbound = self._store.messages.last_inbound_at(subject)
        in_window = last_inbound is not None and now - last_inbound < SERVICE_WINDOW_SECONDS - _WINDOW_MARGIN_SECONDS
        if addressed is not None and not has_service_window(addressed.channel):
            in_window = True  # a channel without a service window: the question with buttons at any time
        template = self._config.channels.whatsapp.template(self._config.consent_renewal.template)
        method = "chat" if in_window else "template"
        reachable = addressed is not None and (in_window or template is not None)
        request = new_request(
            "renewal",
            records,
            cycle_of(records[0]),
            (notice.version, language, notice.sha256),
            now,
            method if reachable else "none",
        )
        asked = [Asked(r, cycle_of(r), r.expires_at - self._lapse_ahead) for r in records]
        owed: list[OwedMessage] = []
        if reachable and addressed is not None:
            owing = Owing(
                subject,
                addressed.channel or "whatsapp",
                self._address(subject, addressed),
                self._question(request, records, in_window),
                "renewal_question",
                RetentionClass.CONVERSATION,
            )
            owed.append(self._parts.sealer.seal(owing, self._parts.message_hash(f"renewal:{request.nonce}"), 0))
        try:
            self._store.renewals.ask(subject, request, asked, question=reachable, owed=owed)
        except Conflict:
            return RenewalOutcome.ALREADY_ASKED
        if not owed:
            return RenewalOutcome.UNREACHABLE
        return RenewalOutcome.ASKED_IN_WINDOW if in_window else RenewalOutcome.ASKED_BY_TEMPLATE

    def _address(self, subject: str, addressed: ConsentRecord) -> str:
        assert addressed.address is not None
        return self._parts.keyring.decrypt(subject, ADDRESS_ID, addressed.address).decode("utf-8")

    def _question(self, request: RenewalRequest, records: list[ConsentRecord], in_window: bool) -> Reply:
        """The question: buttons within WhatsApp's window, the configured utility template outside it."""
        language = request.language
        if not in_window:
            template = self._config.channels.whatsapp.template(self._config.consent_renewal.template)
            assert template is not None
            code = template.languages[self._texts.language(language)]
            return Reply(template=template.name, language=code, quick_reply=(0, RENEW_YES + request.nonce))
        left = timedelta(seconds=max(min(r.expires_at for r in records) - int(self._clock()), 0))
        texts = self._texts
        text = texts.text(
            "renewal_question",
            language,
            purposes=texts.purposes([r.purpose for r in records], language),
            period=texts.period(_rounded(left), language),
        )
        buttons = (
            Button(RENEW_YES + request.nonce, texts.text("button_renew", language)),
            Button(RENEW_NO + request.nonce, texts.text("button_end", language)),
        )
        return Reply(text=text, buttons=buttons)


def _rounded(left: timedelta) -> timedelta:
    """Time left, in whole days (at least one)."""
    return timedelta(days=max(1, round(left.total_seconds() / 86_400)))


__all__ = [
    "RENEW_NO",
    "RENEW_YES",
    "RenewalJob",
    "RenewalOutcome",
    "RenewalParts",
    "RenewalReport",
]
