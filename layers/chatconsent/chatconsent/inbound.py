"""Chat-started double opt-in, step two and three, and everything else a webhook delivers.

A message carrying a valid code binds its sender to the pending request and gets a yes/no
question; "yes" activates the consent and appends the proof to the ledger; "no" discards the
request. Each state change and its dedupe record commit in one transaction, so a replayed or
concurrently delivered webhook has no second effect. Unknown senders get at most one short
information reply a day, and nothing is stored about them but the dedupe record and the counter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from enum import StrEnum

import phonenumbers

from chatconsent.channels.base import (
    Button,
    Channel,
    ChannelError,
    InboundKind,
    InboundMessage,
    ParsedWebhook,
    PreferenceUpdate,
    StatusUpdate,
)
from chatconsent.classifier import Sensitive, classify
from chatconsent.clock import Clock
from chatconsent.config import BusinessConfig
from chatconsent.consent import SpecialRequest, SubjectState
from chatconsent.consents import Activation, ConsentService
from chatconsent.identity import Pseudonymizer
from chatconsent.keyring import SubjectKeyring
from chatconsent.keywords import NO, YES, Keyword, is_single_word, keyword_of
from chatconsent.notice_render import format_period
from chatconsent.notices import NoticeRegistry
from chatconsent.optin import code_hash, find_code
from chatconsent.replies import Replies
from chatconsent.retention import RetentionClass, RetentionPlan
from chatconsent.rights import SubjectRights
from chatconsent.store import STATUS_RANK, ChatconsentTable, Conflict, Replay

BUTTON_YES = "optin:yes:"
BUTTON_NO = "optin:no:"
ERASE_YES = "erase:yes:"
ERASE_NO = "erase:no:"
ART9_YES = "art9:yes:"
ART9_NO = "art9:no:"
_LANGUAGE_BY_REGION = {"DE": "de", "AT": "de", "LI": "de", "IT": "it", "SM": "it", "VA": "it"}


class Outcome(StrEnum):
    REPLAY = "replay"
    CODE_BOUND = "code_bound"
    CODE_REPEATED = "code_repeated"
    CODE_REJECTED = "code_rejected"
    ALREADY_ACTIVE = "already_active"
    CONSENT_ACTIVATED = "consent_activated"
    CONSENT_DECLINED = "consent_declined"
    STALE_ANSWER = "stale_answer"
    REMINDED = "reminded"
    ACCEPTED = "accepted"
    INFO_REPLIED = "info_replied"
    INFO_SUPPRESSED = "info_suppressed"
    STATUS_UPDATED = "status_updated"
    STATUS_IGNORED = "status_ignored"
    SEND_FAILED = "send_failed"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ALREADY_WITHDRAWN = "already_withdrawn"
    HELP_REPLIED = "help_replied"
    SUPPRESSED = "suppressed"
    STORED = "stored"
    IGNORED = "ignored"
    ACCESS_ANSWERED = "access_answered"
    ERASURE_ASKED = "erasure_asked"
    ERASURE_CANCELLED = "erasure_cancelled"
    ERASED = "erased"
    QUARANTINED = "quarantined"
    SPECIAL_GRANTED = "special_granted"
    SPECIAL_DECLINED = "special_declined"


def language_for(identifier: str, default: str) -> str:
    """A reply language for someone we know nothing about, from their number's country."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(identifier))
    except phonenumbers.NumberParseException:
        return default
    return _LANGUAGE_BY_REGION.get(region or "", default)


class InboundService:
    def __init__(
        self,
        table: ChatconsentTable,
        pseudonymizer: Pseudonymizer,
        channel: Channel,
        config: BusinessConfig,
        clock: Clock,
        new_ledger_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        keyring: SubjectKeyring | None = None,
        rights: SubjectRights | None = None,
        notices: NoticeRegistry | None = None,
    ) -> None:
        self._table = table
        self._pseudonymizer = pseudonymizer
        self._channel = channel
        self._config = config
        self._clock = clock
        self._replies = Replies(config)
        self._consents = ConsentService(table, config, clock, new_ledger_id)
        self._keyring = keyring
        self._rights = rights
        self._notices = notices or NoticeRegistry()
        self._plan = RetentionPlan.from_config(config)

    def handle(self, parsed: ParsedWebhook) -> list[Outcome]:
        """Every message and status of a batched webhook, in order."""
        outcomes = [self.handle_message(message) for message in parsed.messages]
        outcomes += [self.handle_status(status) for status in parsed.statuses]
        outcomes += [self.handle_preference(preference) for preference in parsed.preferences]
        return outcomes

    def handle_preference(self, preference: PreferenceUpdate) -> Outcome:
        """WhatsApp's in-app "stop marketing messages" withdraws the marketing purpose (nothing is sent)."""
        if preference.category != "marketing_messages" or preference.value != "stop":
            return Outcome.IGNORED
        subject = self._pseudonymizer.subject(preference.channel, preference.sender)
        withdrawn = self._consents.withdraw(
            subject, source=f"{preference.channel}:user_preferences", purposes={"marketing"}
        )
        return Outcome.CONSENT_WITHDRAWN if withdrawn else Outcome.ALREADY_WITHDRAWN

    # -- messages ------------------------------------------------------------------------------

    def handle_message(self, message: InboundMessage) -> Outcome:
        subject = self._pseudonymizer.subject(message.channel, message.sender)
        message_hash = self._pseudonymizer.message(message.channel, message.message_id)
        code = find_code(message.text) if message.kind is InboundKind.TEXT and message.text else None
        if code:
            return self._code(message, subject, message_hash, code)

        state = self._table.subject_state(subject)
        keyword = keyword_of(message.text) if message.kind is InboundKind.TEXT and message.text else None
        if keyword is Keyword.WITHDRAW:
            return self._withdraw(message, subject, message_hash, state)
        special = self._special_answer(message, state)
        if special is not None:
            return self._special(message, subject, message_hash, state, granted=special)
        if message.kind is InboundKind.BUTTON and (message.button_id or "").startswith((ART9_YES, ART9_NO)):
            # an answer to a question that expired (its message is gone) or was answered already
            return Outcome.STALE_ANSWER if self._table.mark_processed(message_hash) else Outcome.REPLAY
        erase = self._erase_answer(message, state)
        if erase is not None:
            return self._erase(message, subject, message_hash, state, confirmed=erase)
        answer = self._answer(message, state)
        if answer is True:
            return self._activate(message, subject, message_hash, state)
        if answer is False:
            return self._decline(message, subject, message_hash, state)

        conversation = self._config.conversation_purpose
        if conversation in state.active_purposes and state.pending is None and keyword is None:
            return self._store(message, subject, message_hash, state)  # rights words are handled, not kept
        if not self._table.mark_processed(message_hash):
            return Outcome.REPLAY
        known = bool(state.consents or state.pending)
        if keyword is Keyword.ACCESS and known:
            return self._access(message, subject, state)
        if keyword is Keyword.ERASE and known:
            return self._ask_erasure(message, subject, state)
        if keyword is Keyword.HELP and (state.pending or state.active_purposes):
            return self._reply(
                message, subject, "help", self._language(state), Outcome.HELP_REPLIED, retention=self._kept(state)
            )
        if state.pending is not None:
            return self._reply(
                message,
                subject,
                "answer_buttons",
                state.pending.language,
                Outcome.REMINDED,
                retention=RetentionClass.PENDING_OPTIN_CHAT,
            )
        if state.active_purposes:
            return Outcome.ACCEPTED
        if state.consents:  # withdrawn: no further messages of any kind
            return Outcome.SUPPRESSED
        return self._info(message, subject, "help" if keyword is Keyword.HELP else "info")

    def _store(self, message: InboundMessage, subject: str, message_hash: str, state: SubjectState) -> Outcome:
        """Kept only under active consent: content and address sealed with the subject's own key."""
        if self._keyring is None:
            return Outcome.ACCEPTED if self._table.mark_processed(message_hash) else Outcome.REPLAY
        keyring = self._keyring
        media = message.media
        content = {  # the allow-list (Art. 5(1)(c)): no profile name, no caption, no file
            "from": message.sender,
            "text": message.text,
            "button": message.button_id,
            "media": {"type": media.type, "id": media.id, "mime_type": media.mime_type, "size": media.size}
            if media
            else None,
        }
        plaintext = json.dumps({k: v for k, v in content.items() if v is not None}).encode("utf-8")
        sensitive = classify(message.text) if message.text else frozenset()
        special_purpose = self._special_purpose()
        quarantined = Sensitive.HEALTH in sensitive and special_purpose not in state.active_purposes
        if quarantined:
            retention = RetentionClass.SPECIAL_QUARANTINE  # Art. 9: without explicit consent, gone within the hour
        elif sensitive:
            retention = RetentionClass.SPECIAL_CATEGORY
        else:
            retention = RetentionClass.CONVERSATION
        try:
            self._table.store_inbound(
                subject,
                message_hash,
                message.kind.value,
                lambda item_id: keyring.encrypt(subject, item_id, plaintext),
                retention,
                [s.value for s in sensitive],
                covered_by=state.consents[self._config.conversation_purpose],
            )
        except Replay:
            return Outcome.REPLAY
        except Conflict:  # withdrawn a moment ago: nothing is kept
            return Outcome.SUPPRESSED if self._table.mark_processed(message_hash) else Outcome.REPLAY
        if quarantined and special_purpose is not None:
            return self._ask_special(message, subject, state, special_purpose)
        return Outcome.STORED

    # -- special categories (Art. 9): explicit consent asked in the chat -----------------------

    def _special_purpose(self) -> str | None:
        """The purpose that covers health data, if the business offers one."""
        return next((p.id for p in self._config.purposes if p.special_category), None)

    def _ask_special(self, message: InboundMessage, subject: str, state: SubjectState, purpose: str) -> Outcome:
        """Once per quarantine period: may we process the health data? Yes or no, as buttons."""
        language = self._replies.language(self._language(state))
        notice = self._notices.get(language)
        nonce = uuid.uuid4().hex[:16]
        request = SpecialRequest(nonce, purpose, language, notice.version, notice.sha256, int(self._clock()))
        if not self._table.ask_special_consent(subject, request):
            return Outcome.QUARANTINED  # already asked: this message waits with the others
        period = format_period(self._plan.period(RetentionClass.SPECIAL_QUARANTINE), language)
        text = self._replies.text(
            "special_question", language, purpose=self._replies.purposes([purpose], language), period=period
        )
        buttons = [
            Button(ART9_YES + nonce, self._replies.text("button_consent", language)),
            Button(ART9_NO + nonce, self._replies.text("button_discard", language)),
        ]
        try:
            sent = self._channel.send_buttons(message.sender, text, buttons)
        except ChannelError:
            return Outcome.SEND_FAILED
        self._table.record_outbound(  # a neutral kind, gone with the quarantine
            subject,
            self._pseudonymizer.message(message.channel, sent),
            "consent_question",
            retention=RetentionClass.SPECIAL_QUARANTINE,
        )
        return Outcome.QUARANTINED

    @staticmethod
    def _special_answer(message: InboundMessage, state: SubjectState) -> bool | None:
        request = state.special_request
        if request is None or message.kind is not InboundKind.BUTTON or not message.button_id:
            return None
        if message.button_id == ART9_YES + request.nonce:
            return True
        if message.button_id == ART9_NO + request.nonce:
            return False
        return None

    def _special(
        self, message: InboundMessage, subject: str, message_hash: str, state: SubjectState, granted: bool
    ) -> Outcome:
        assert state.special_request is not None
        language = state.special_request.language
        quarantined = self._table.quarantined_messages(subject)
        if not granted:
            try:
                self._table.discard_quarantine(subject, state.special_request.nonce, quarantined, message_hash)
            except Replay:
                return Outcome.REPLAY
            except Conflict:  # answered or expired a moment ago: the purge removes what is left
                return Outcome.STALE_ANSWER if self._table.mark_processed(message_hash) else Outcome.REPLAY
            return self._reply(message, subject, "special_declined", language, Outcome.SPECIAL_DECLINED, record=False)
        result = self._consents.grant_special(subject, state, message.channel, message_hash)
        if result is Activation.REPLAY:
            return Outcome.REPLAY
        if result is Activation.STALE:
            return Outcome.STALE_ANSWER
        self._table.release_quarantine(subject, quarantined)
        return self._reply(message, subject, "special_granted", language, Outcome.SPECIAL_GRANTED)

    # -- access and erasure from inside the chat (the person is who writes from that number) --

    def _access(self, message: InboundMessage, subject: str, state: SubjectState) -> Outcome:
        language = self._language(state)
        lang = self._replies.language(language)
        purposes = self._replies.purposes(state.active_purposes, language) if state.active_purposes else "-"
        stored = len(self._table.inbound_messages(subject))
        summary = {
            "en": f"{stored} messages (kept 90 days), consent for: {purposes}, the record of your consent",
            "de": f"{stored} Nachrichten (90 Tage gespeichert), Einwilligung für: {purposes}, "
            "der Nachweis Ihrer Einwilligung",
            "it": f"{stored} messaggi (conservati 90 giorni), consenso per: {purposes}, la prova del suo consenso",
        }[lang]
        text = self._replies.text("access", language, summary=summary)
        return self._send(message, subject, text, "access", Outcome.ACCESS_ANSWERED, record=bool(state.active_purposes))

    def _ask_erasure(self, message: InboundMessage, subject: str, state: SubjectState) -> Outcome:
        nonce = uuid.uuid4().hex[:16]
        self._table.request_erasure(subject, nonce)
        language = self._language(state)
        buttons = [
            Button(ERASE_YES + nonce, self._replies.text("button_delete", language)),
            Button(ERASE_NO + nonce, self._replies.text("button_keep", language)),
        ]
        try:
            self._channel.send_buttons(message.sender, self._replies.text("erase_question", language), buttons)
        except ChannelError:
            return Outcome.SEND_FAILED
        return Outcome.ERASURE_ASKED

    @staticmethod
    def _erase_answer(message: InboundMessage, state: SubjectState) -> bool | None:
        if state.erasure_request is None or message.kind is not InboundKind.BUTTON or not message.button_id:
            return None
        if message.button_id == ERASE_YES + state.erasure_request:
            return True
        if message.button_id == ERASE_NO + state.erasure_request:
            return False
        return None

    def _erase(
        self, message: InboundMessage, subject: str, message_hash: str, state: SubjectState, confirmed: bool
    ) -> Outcome:
        language = self._language(state)
        if not confirmed:
            try:
                self._table.cancel_erasure(subject, message_hash)
            except Replay:
                return Outcome.REPLAY
            return self._reply(message, subject, "erase_cancelled", language, Outcome.ERASURE_CANCELLED, record=False)
        if self._rights is None or not self._table.mark_processed(message_hash):
            return Outcome.REPLAY
        self._rights.erase(subject, self._pseudonymizer.suppression(message.channel, message.sender))
        return self._reply(message, subject, "erased", language, Outcome.ERASED, record=False)

    @staticmethod
    def _language(state: SubjectState) -> str | None:
        if state.pending:
            return state.pending.language
        return next((r.notice_language for r in state.consents.values() if r.notice_language), None)

    def _withdraw(self, message: InboundMessage, subject: str, message_hash: str, state: SubjectState) -> Outcome:
        """Withdrawal is as easy as giving: one word, effective before the webhook answers.

        The confirmation goes out first; then the conversation moves to the withdrawn period. That
        step is idempotent and also runs on a repeated STOP or a redelivery, so a run cut short
        is completed later.
        """
        suppression = self._pseudonymizer.suppression(message.channel, message.sender)
        try:
            withdrawn = self._consents.withdraw(
                subject, source="chat:keyword", message_hash=message_hash, suppression_hash=suppression, state=state
            )
        except Replay:
            self._consents.settle_retention(subject)
            return Outcome.REPLAY
        if not withdrawn:
            if not state.consents:  # someone we never had consent from asks not to be contacted
                self._table.suppress(suppression)
            self._consents.settle_retention(subject)
            return Outcome.ALREADY_WITHDRAWN  # repeated STOP: nothing changes, nothing is sent
        outcome = self._reply(
            message, subject, "withdrawn", self._language(state), Outcome.CONSENT_WITHDRAWN, record=False
        )
        self._consents.settle_retention(subject)
        return outcome

    def _answer(self, message: InboundMessage, state: SubjectState) -> bool | None:
        """True/False for a yes/no to the subject's pending request, None for anything else."""
        pending = state.pending
        if pending is None:
            return None
        if message.kind is InboundKind.BUTTON and message.button_id:
            if message.button_id == BUTTON_YES + pending.request_id:
                return True
            if message.button_id == BUTTON_NO + pending.request_id:
                return False
            return None
        if message.kind is InboundKind.TEXT and message.text:
            if is_single_word(message.text, YES):
                return True
            if is_single_word(message.text, NO):
                return False
        return None

    def _code(self, message: InboundMessage, subject: str, message_hash: str, code: str) -> Outcome:
        request = self._table.optin_request(code_hash(code))
        if request is not None and request.status == "bound" and request.subject == subject:
            # The person sent their code again: ask again, change nothing.
            if not self._table.mark_processed(message_hash):
                return Outcome.REPLAY
            state = self._table.subject_state(subject)
            if state.pending is None or state.pending.request_id != request.request_id:
                return Outcome.CODE_REJECTED
            self._ask(message, subject, request.request_id, request.purposes, request.language)
            return Outcome.CODE_REPEATED
        if request is None or request.status != "pending" or request.channel != message.channel:
            if not self._table.mark_processed(message_hash):
                return Outcome.REPLAY
            self._info(message, subject, "info")
            return Outcome.CODE_REJECTED

        purposes = list(request.purposes)
        while True:
            try:
                suppression = self._pseudonymizer.suppression(message.channel, message.sender)
                self._table.bind_request(request, subject, purposes, message_hash, message_hash, suppression)
                break
            except Replay:
                return Outcome.REPLAY
            except Conflict as conflict:
                active = {label.split(":", 1)[1] for label in conflict.failed if label.startswith("consent:")}
                if not active or "request" in conflict.failed:
                    # Used, expired or taken by someone else a moment ago: nothing changes.
                    if not self._table.mark_processed(message_hash):
                        return Outcome.REPLAY
                    return Outcome.CODE_REJECTED
                purposes = [p for p in purposes if p not in active]
                if not purposes:
                    if not self._table.mark_processed(message_hash):
                        return Outcome.REPLAY
                    return self._reply(message, subject, "already_active", request.language, Outcome.ALREADY_ACTIVE)
        return self._ask(message, subject, request.request_id, tuple(purposes), request.language)

    def _ask(
        self, message: InboundMessage, subject: str, request_id: str, purposes: tuple[str, ...], language: str
    ) -> Outcome:
        text = self._replies.text("confirm_question", language, purposes=self._replies.purposes(purposes, language))
        buttons = [
            Button(BUTTON_YES + request_id, self._replies.text("button_yes", language)),
            Button(BUTTON_NO + request_id, self._replies.text("button_no", language)),
        ]
        try:
            sent = self._channel.send_buttons(message.sender, text, buttons)
        except ChannelError:
            return Outcome.SEND_FAILED
        self._table.record_outbound(
            subject,
            self._pseudonymizer.message(message.channel, sent),
            "confirmation_question",
            retention=RetentionClass.PENDING_OPTIN_CHAT,  # gone with the request unless the person says yes
        )
        return Outcome.CODE_BOUND

    def _activate(self, message: InboundMessage, subject: str, message_hash: str, state: SubjectState) -> Outcome:
        assert state.pending is not None
        pending = state.pending
        method = "button" if message.kind is InboundKind.BUTTON else "text"
        result = self._consents.activate(
            subject, state, pending.request_id, message_hash, {"confirmation_method": method}
        )
        if result is Activation.REPLAY:
            return Outcome.REPLAY
        if result is Activation.STALE:
            return Outcome.STALE_ANSWER
        return self._reply(message, subject, "activated", pending.language, Outcome.CONSENT_ACTIVATED)

    def _decline(self, message: InboundMessage, subject: str, message_hash: str, state: SubjectState) -> Outcome:
        pending = state.pending
        assert pending is not None
        try:
            self._table.decline(subject, pending, state.consents, message_hash)
        except Replay:
            return Outcome.REPLAY
        except Conflict:
            return Outcome.STALE_ANSWER if self._table.mark_processed(message_hash) else Outcome.REPLAY
        return self._reply(message, subject, "declined", pending.language, Outcome.CONSENT_DECLINED, record=False)

    def _info(self, message: InboundMessage, subject: str, key: str) -> Outcome:
        limit = self._config.limits.info_replies_per_day
        if limit == 0 or self._table.is_suppressed(self._pseudonymizer.suppression(message.channel, message.sender)):
            return Outcome.SUPPRESSED
        if not self._table.consume_rate("info-reply", subject, 86_400, limit):
            return Outcome.INFO_SUPPRESSED
        language = language_for(message.sender, self._config.default_language)
        return self._reply(message, subject, key, language, Outcome.INFO_REPLIED, record=False)

    def _reply(
        self,
        message: InboundMessage,
        subject: str,
        key: str,
        language: str | None,
        outcome: Outcome,
        record: bool = True,
        retention: RetentionClass = RetentionClass.CONVERSATION,
    ) -> Outcome:
        text = self._replies.text(key, language)
        return self._send(message, subject, text, key, outcome, record, retention)

    def _send(
        self,
        message: InboundMessage,
        subject: str,
        text: str,
        kind: str,
        outcome: Outcome,
        record: bool = True,
        retention: RetentionClass = RetentionClass.CONVERSATION,
    ) -> Outcome:
        try:
            sent = self._channel.send_text(message.sender, text)
        except ChannelError:
            return Outcome.SEND_FAILED
        if record:
            self._table.record_outbound(
                subject, self._pseudonymizer.message(message.channel, sent), kind, retention=retention
            )
        return outcome

    def _kept(self, state: SubjectState) -> RetentionClass:
        """How long a reply's delivery record lives: with the conversation, or with the request."""
        if self._config.conversation_purpose in state.active_purposes:
            return RetentionClass.CONVERSATION
        return RetentionClass.PENDING_OPTIN_CHAT

    # -- statuses ------------------------------------------------------------------------------

    def handle_status(self, status: StatusUpdate) -> Outcome:
        if status.status not in STATUS_RANK:
            return Outcome.STATUS_IGNORED
        subject = self._pseudonymizer.subject(status.channel, status.recipient)
        message_hash = self._pseudonymizer.message(status.channel, status.message_id)
        updated = self._table.update_outbound_status(subject, message_hash, status.status)
        return Outcome.STATUS_UPDATED if updated else Outcome.STATUS_IGNORED
