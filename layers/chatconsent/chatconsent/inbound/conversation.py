"""Ordinary messages under consent: kept sealed with the person's own key, nothing more.

Only an allow-list of fields is kept (Art. 5(1)(c)): the sender's address (to reply), the text,
the button id, and for media only type, id, MIME type and size; never a profile name, caption or
file. A payment card number in the text is replaced by its last four digits before sealing, and the
person is told once not to send card data in the chat. Health and bank data go under the
special-category class; health data without explicit consent goes to quarantine and the person is
asked (:mod:`chatconsent.inbound.special`).
"""

from __future__ import annotations

import json

from chatconsent.consent_state import SubjectState
from chatconsent.inbound import special
from chatconsent.inbound.outcomes import Outcome
from chatconsent.inbound.parts import Turn, language_of
from chatconsent.retention import RetentionClass
from chatconsent.special_categories import SpecialCategory, detect, mask_cards
from chatconsent.store import Conflict, Duplicate


def _content(turn: Turn, text: str | None) -> bytes:
    message = turn.message
    media = message.media
    content = {
        "from": message.sender,
        "text": text,
        "button": message.button_id,
        "media": {"type": media.type, "id": media.id, "mime_type": media.mime_type, "size": media.size}
        if media
        else None,
    }
    return json.dumps({k: v for k, v in content.items() if v is not None}).encode("utf-8")


def keep(turn: Turn, state: SubjectState) -> Outcome:
    """Keep the message under the conversation's consent, as read (a withdrawal in between keeps nothing)."""
    keyring = turn.parts.keyring
    if keyring is None:
        return Outcome.ACCEPTED if turn.record_delivery() else Outcome.DUPLICATE
    if not keyring.has_key(turn.subject) and turn.parts.store.guards.was_delivered(turn.message_hash):
        # a duplicate would otherwise create the person's data key (KMS and a write) before it is noticed
        return Outcome.DUPLICATE
    text, cards = mask_cards(turn.message.text) if turn.message.text else (turn.message.text, 0)
    plaintext = _content(turn, text)  # a card number is never stored, only its last four digits
    found = detect(text) if text else frozenset()
    purpose = special.special_purpose(turn)
    quarantined = SpecialCategory.HEALTH in found and purpose not in state.active_purposes
    if quarantined:
        retention = RetentionClass.SPECIAL_QUARANTINE  # Art. 9: without explicit consent, gone within the hour
    elif found:
        retention = RetentionClass.SPECIAL_CATEGORY
    else:
        retention = RetentionClass.CONVERSATION
    subject = turn.subject
    try:
        turn.parts.store.messages.store_inbound(
            subject,
            turn.message_hash,
            turn.message.kind.value,
            lambda item_id: keyring.encrypt(subject, item_id, plaintext),
            retention,
            [s.value for s in found],
            covered_by=state.consents[turn.parts.config.conversation_purpose],
        )
    except Duplicate:
        return Outcome.DUPLICATE
    except Conflict:  # withdrawn a moment ago: nothing is kept
        return Outcome.SUPPRESSED if turn.record_delivery() else Outcome.DUPLICATE
    if cards:  # told once
        warning = turn.owe_text("card_warning", language_of(state))
        turn.parts.store.messages.first_card_warning(subject, warning)
    if quarantined and purpose is not None:
        return special.ask(turn, state, purpose)
    return Outcome.STORED
