"""The key layout of the main table and the key table: the only module that spells a key.

Single table, ``PK``/``SK`` strings:

=====================================  ==================  ===================================
PK                                     SK                  item
=====================================  ==================  ===================================
``OPTIN#<code hash>``                  ``REQUEST``         opt-in request with its single-use code or link token
``ACCESS#<token hash>``                ``ACCESS``          one-time link to the person's Art. 15 copy (DATA in the chat)
``SUBJ#<pseudonym>``                   ``S#CONSENT#<p>``   consent state for purpose ``p``
``SUBJ#<pseudonym>``                   ``S#REACH#<p>``     sealed address, proof hash, cap (``by_audience``)
``SUBJ#<pseudonym>``                   ``S#PENDING``       request bound to the subject, awaiting yes/no
``SUBJ#<pseudonym>``                   ``S#LEDGER``        ledger head (id, last seq, last hash)
``SUBJ#<pseudonym>``                   ``S#ERASE``         erasure asked in the chat, awaiting yes/no
``SUBJ#<pseudonym>``                   ``S#LINK``          confirmation link sent (one per number and period)
``SUBJ#<pseudonym>``                   ``S#ACCESS``        access link issued (one per person and period)
``SUBJ#<pseudonym>``                   ``S#ART9``          explicit consent asked for a quarantined message
``SUBJ#<pseudonym>``                   ``S#RENEW``         renewal or re-confirmation asked, awaiting yes/no
``SUBJ#<pseudonym>``                   ``S#CONV``          conversation summary (index ``by_activity``)
``SUBJ#<pseudonym>``                   ``S#RESTRICT``      processing restricted (Art. 18): storage only
``SUBJ#<pseudonym>``                   ``M#OUT#<hash>``    outbound message and its delivery status
``SUBJ#<pseudonym>``                   ``M#IN#<t>#<hash>`` inbound message, sealed with the subject's key
``SUBJ#<pseudonym>``                   ``M#CAMP#<id>``     send record: campaign ``id`` to this person (once)
``CAMPAIGN#<id>``                      ``CAMPAIGN``        a campaign: template, audience, approval, status
``CAMPAIGN#<id>``                      ``COUNT#<n>``       one shard of a campaign's aggregate results
``CAMPAIGN#<id>``                      ``JOB#<message>``   a send job whose counts the results hold (SQS id)
``CAMPAIGNS``                          ``<t>#<id>``        the list of campaigns, by creation
``BUCKET#<name>``                      ``BUCKET``          the provider's send rate, shared by every sender
``LEDGER#<ledger id>``                 ``E#<seq>``         consent ledger entry (no personal data)
``DEDUPE#<hash>``                      ``DEDUPE``          delivery record: this webhook message was processed
``OUTBOX#<hash>``                      ``OUT#<n>``         a message owed in answer to delivery ``hash``, sealed
``RATE#<scope>#<hash>#<window>``       ``RATE``            rate-limit counter
``SUPPRESS#<hash>``                    ``SUPPRESS``        block list: withdrawn, do not contact (keyed hash)
``RECEIPT#<day>``                      ``<run>#<class>``   purge or erasure receipt (counts only)
``ERASED#<day>``                       ``<t>#<pseudonym>`` erasure tombstone: who was erased, when (restore replay)
``AUDIT#<day>``                        ``<t>#<id>``        an admin action: who, what, when (keyed hash)
``RIGHTS#<id>``                        ``REQUEST``         a rights request received by e-mail or post (register)
=====================================  ==================  ===================================

Indexes: ``by_expiry`` (partition ``expiry_shard`` = ``<expiry day>#<0..3>``, sort ``expires_at``)
for the purge, and ``by_activity`` (partition ``activity_day`` = ``ACT#<UTC day>``, sort
``last_activity``) for the conversation list, ``by_renewal`` (partition ``renewal_slot`` =
``<day>#<0..3>``, sort ``renewal_at``: when the renewal job must next act on an active consent,
ask or lapse; sparse, only active consents carry it), and ``by_deadline`` (partition
``rights_queue``, present only while a rights request is open: sparse; sort ``due_at``) for the
open requests by deadline. The key table holds one item per subject, keyed
by ``subject``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

PARTITION, SORT = "PK", "SK"
EXPIRY_INDEX = "by_expiry"
EXPIRY_SHARD = "expiry_shard"
EXPIRY_SHARDS = 4
ACTIVITY_INDEX = "by_activity"
ACTIVITY_DAY = "activity_day"
KEY_TABLE_KEY = "subject"
AUDIENCE_INDEX = "by_audience"
AUDIENCE = "audience"
AUDIENCE_SORT = "reachable_at"
AUDIENCE_SHARDS = 16
RENEWAL_INDEX = "by_renewal"
RENEWAL_SLOT = "renewal_slot"
RENEWAL_AT = "renewal_at"
RENEWAL_SHARDS = 4
DEADLINE_INDEX = "by_deadline"
RIGHTS_QUEUE = "rights_queue"  # the sparse index's partition attribute: set while a request is open
RIGHTS_DUE = "due_at"
OPEN_RIGHTS = "OPEN"
# The associated data a sealed address is bound to (the same on each consent record that keeps it).
ADDRESS_ID = "S#ADDRESS"

_SUBJECT = "SUBJ#"

# Every kind of item in a subject's partition, by sort-key prefix: the export and the erasure
# must know them all (a test fails when a writer adds one that is missing here).
SUBJECT_ITEM_KINDS = {
    "S#CONSENT#": "consents",
    "S#REACH#": "reach",
    "S#PENDING": "pending_request",
    "S#LEDGER": "ledger_head",
    "S#ERASE": "erasure_request",
    "S#LINK": "link_request",
    "S#ACCESS": "access_link",
    "S#ART9": "special_category_request",
    "S#RENEW": "renewal_request",
    "S#CONV": "conversation_summary",
    "S#RESTRICT": "restriction",
    "M#IN#": "inbound_messages",
    "M#OUT#": "outbound_messages",
    "M#CAMP#": "campaign_sends",
}
CONSENT_PREFIX = "S#CONSENT#"
STATE_PREFIX = "S#"  # the items the inbound path reads about a subject in one query
MESSAGE_PREFIX = "M#"
INBOUND_PREFIX = "M#IN#"
OUTBOUND_PREFIX = "M#OUT#"
CONVERSATION_SK = "S#CONV"


class ItemKey(NamedTuple):
    """An item's primary key, opaque outside the store."""

    pk: str
    sk: str

    def as_key(self) -> dict[str, str]:
        return {PARTITION: self.pk, SORT: self.sk}

    @property
    def item_id(self) -> str:
        """What a sealed field is bound to (associated data): the sort key within the subject."""
        return self.sk

    @property
    def subject(self) -> str | None:
        return self.pk.removeprefix(_SUBJECT) if self.pk.startswith(_SUBJECT) else None


def key_of(item: Mapping[str, Any]) -> ItemKey:
    return ItemKey(str(item[PARTITION]), str(item[SORT]))


def kind_of(sk: str) -> str | None:
    """The export section of a subject's item, by its sort key (None: a kind nobody knows)."""
    return next((kind for prefix, kind in SUBJECT_ITEM_KINDS.items() if sk.startswith(prefix)), None)


def subject_pk(subject: str) -> str:
    return _SUBJECT + subject


def optin(code_hash: str) -> ItemKey:
    return ItemKey(f"OPTIN#{code_hash}", "REQUEST")


def consent(subject: str, purpose: str) -> ItemKey:
    return ItemKey(subject_pk(subject), CONSENT_PREFIX + purpose)


REACH_PREFIX = "S#REACH#"


def reach(subject: str, purpose: str) -> ItemKey:
    return ItemKey(subject_pk(subject), REACH_PREFIX + purpose)


def reach_purpose_of(sk: str) -> str:
    return sk.removeprefix(REACH_PREFIX)


def purpose_of(sk: str) -> str:
    return sk.removeprefix(CONSENT_PREFIX)


def pending(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), "S#PENDING")


def erasure_request(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), "S#ERASE")


def link(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), "S#LINK")


def access_link(token_hash: str) -> ItemKey:
    """A one-time link to the person's copy, by its token's hash (the token itself is never stored)."""
    return ItemKey(f"ACCESS#{token_hash}", "ACCESS")


def access_marker(subject: str) -> ItemKey:
    """The subject's issued access link: one per period, and how the erasure finds the link."""
    return ItemKey(subject_pk(subject), "S#ACCESS")


def conversation(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), CONVERSATION_SK)


def restriction(subject: str) -> ItemKey:
    """The subject's processing is restricted (Art. 18) while this item exists."""
    return ItemKey(subject_pk(subject), "S#RESTRICT")


def rights_request(request_id: str) -> ItemKey:
    """A rights request in the register: outside the subject's partition, so that an erasure keeps the proof."""
    return ItemKey(f"RIGHTS#{request_id}", "REQUEST")


def special_request(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), "S#ART9")


def renewal_request(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), "S#RENEW")


def renewal_slot(pk: str, at: int) -> str:
    """The renewal index's partition of a consent the job must act on at ``at``: its day and a shard."""
    shard = int(hashlib.sha256(pk.encode("utf-8")).hexdigest()[8:12], 16) % RENEWAL_SHARDS
    return f"{at // 86_400}#{shard}"


def renewal_partitions(now: int, lookback_seconds: int) -> list[str]:
    """Renewal-index partitions that can hold consents due by ``now``, oldest first."""
    first, last = (now - lookback_seconds) // 86_400, now // 86_400
    return [f"{day}#{shard}" for day in range(first, last + 1) for shard in range(RENEWAL_SHARDS)]


def ledger_head(subject: str) -> ItemKey:
    return ItemKey(subject_pk(subject), "S#LEDGER")


def outbound(subject: str, message_hash: str) -> ItemKey:
    return ItemKey(subject_pk(subject), f"{OUTBOUND_PREFIX}{message_hash}")


def inbound(subject: str, received_at: int, message_hash: str) -> ItemKey:
    return ItemKey(subject_pk(subject), f"{INBOUND_PREFIX}{received_at:010d}#{message_hash[:24]}")


SEND_PREFIX = "M#CAMP#"


def send_record(subject: str, campaign_id: str) -> ItemKey:
    return ItemKey(subject_pk(subject), f"{SEND_PREFIX}{campaign_id}")


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def campaign(campaign_id: str) -> ItemKey:
    return ItemKey(campaign_pk(campaign_id), "CAMPAIGN")


CAMPAIGN_LIST = "CAMPAIGNS"


def campaign_entry(created_at: int, campaign_id: str) -> ItemKey:
    """A campaign's entry in the list of campaigns (newest last in key order)."""
    return ItemKey(CAMPAIGN_LIST, f"{created_at:010d}#{campaign_id}")


COUNTER_PREFIX = "COUNT#"
COUNTER_SHARDS = 4


def campaign_counter(campaign_id: str, subject: str) -> ItemKey:
    """The results shard a subject's sends count into (a few shards: no hot item at full speed)."""
    shard = int(hashlib.sha256(subject.encode("utf-8")).hexdigest()[:4], 16) % COUNTER_SHARDS
    return ItemKey(campaign_pk(campaign_id), f"{COUNTER_PREFIX}{shard}")


JOB_PREFIX = "JOB#"


def campaign_job(campaign_id: str, job_id: str) -> ItemKey:
    """The mark of a send job counted into a campaign's results (``job_id``: the queue's message id)."""
    return ItemKey(campaign_pk(campaign_id), f"{JOB_PREFIX}{job_id}")


def bucket(name: str) -> ItemKey:
    return ItemKey(f"BUCKET#{name}", "BUCKET")


def audience(purpose: str, language: str, subject: str) -> str:
    """The audience index partition of a subject's active consent for ``purpose``."""
    shard = int(hashlib.sha256(subject.encode("utf-8")).hexdigest()[4:8], 16) % AUDIENCE_SHARDS
    return f"{purpose}#{language}#{shard}"


def audience_partitions(purpose: str, languages: tuple[str, ...]) -> list[str]:
    return [f"{purpose}#{language}#{shard}" for language in languages for shard in range(AUDIENCE_SHARDS)]


def ledger_pk(ledger_id: str) -> str:
    return f"LEDGER#{ledger_id}"


LEDGER_ENTRY_PREFIX = "E#"


def ledger_entry(ledger_id: str, seq: int) -> ItemKey:
    return ItemKey(ledger_pk(ledger_id), f"{LEDGER_ENTRY_PREFIX}{seq:010d}")


def delivery(message_hash: str) -> ItemKey:
    return ItemKey(f"DEDUPE#{message_hash}", "DEDUPE")


OUTBOX_PK_PREFIX = "OUTBOX#"
OUTBOX_PREFIX = "OUT#"  # the stream's filter for the outbox sender matches this sort-key prefix


def outbox(message_hash: str, index: int) -> ItemKey:
    """The ``index``-th message owed in answer to the delivery ``message_hash`` (written with it)."""
    return ItemKey(f"{OUTBOX_PK_PREFIX}{message_hash}", f"{OUTBOX_PREFIX}{index}")


def rate(scope: str, key_hash: str, window: int) -> ItemKey:
    return ItemKey(f"RATE#{scope}#{key_hash}#{window}", "RATE")


SUPPRESSION_PREFIX = "SUPPRESS#"


def suppression(suppression_hash: str) -> ItemKey:
    return ItemKey(f"{SUPPRESSION_PREFIX}{suppression_hash}", "SUPPRESS")


def receipt(day: str, run_id: str, label: str) -> ItemKey:
    return ItemKey(f"RECEIPT#{day}", f"{run_id}#{label}")


_TOMBSTONE = "ERASED#"


def tombstone(erased_at: int, subject: str) -> ItemKey:
    """An erasure's tombstone, in the partition of its UTC day, sorted by time (what a restore replays)."""
    return ItemKey(_TOMBSTONE + utc_day(erased_at), f"{erased_at:010d}#{subject}")


def tombstone_partitions(since: int, now: int) -> list[str]:
    """The tombstone partitions that can hold erasures after ``since``, oldest first."""
    first, last = since // 86_400, now // 86_400
    return [_TOMBSTONE + utc_day(day * 86_400) for day in range(first, last + 1)]


def tombstone_after(since: int) -> str:
    """The least tombstone sort key of an erasure strictly after ``since``."""
    return f"{since + 1:010d}#"


def tombstone_subject(sk: str) -> str:
    return sk.split("#", 1)[1]


def audit_pk(day: str) -> str:
    return f"AUDIT#{day}"


def audit(day: str, at: int, entry_id: str) -> ItemKey:
    return ItemKey(audit_pk(day), f"{at:010d}#{entry_id}")


def data_key(subject: str) -> dict[str, str]:
    """Key of the subject's data-key item in the separate key table."""
    return {KEY_TABLE_KEY: subject}


def expiry_shard(pk: str, expires_at: int) -> str:
    """The expiry index's partition: the expiry day and one of a few shards (no hot partition)."""
    shard = int(hashlib.sha256(pk.encode("utf-8")).hexdigest()[:4], 16) % EXPIRY_SHARDS
    return f"{expires_at // 86_400}#{shard}"


def expiry_partitions(now: int, lookback_seconds: int) -> list[str]:
    """Expiry-index partitions that can hold items expired by ``now``, oldest first."""
    first, last = (now - lookback_seconds) // 86_400, now // 86_400
    return [f"{day}#{shard}" for day in range(first, last + 1) for shard in range(EXPIRY_SHARDS)]


def utc_day(at: int) -> str:
    """The UTC day of an epoch second, as the day partitions name it (2026-11-30)."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def activity_day(at: int) -> str:
    return "ACT#" + utc_day(at)


def is_activity_cursor_key(key: Any, day: int) -> bool:
    """Whether ``key`` is an ``by_activity`` position in the partition of ``day`` (days since epoch)."""
    return (
        isinstance(key, dict)
        and set(key) == {PARTITION, SORT, ACTIVITY_DAY, "last_activity"}
        and all(isinstance(key[k], str) for k in (PARTITION, SORT, ACTIVITY_DAY))
        and str(key[PARTITION]).startswith(_SUBJECT)
        and key[SORT] == CONVERSATION_SK
        and key[ACTIVITY_DAY] == activity_day(day * 86_400)
        and isinstance(key["last_activity"], int)
        and not isinstance(key["last_activity"], bool)
        and 0 <= key["last_activity"] < 2**40
    )
