"""Each send of a campaign as stored: claimed before the provider call, closed after, and the shared rate.

A send is claimed in one transaction that checks the consent still active at the revision the
audience index showed, the number not on the block list and the frequency cap, and writes the
per-(campaign, person) send record; a redelivered job finds the record and sends nothing. The
record is closed with the provider's message id (statuses find it by that), released when the
provider refused for now (the cap gets its message back) or settled as failed for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from chatconsent.consent_state import ConsentState
from chatconsent.retention import RetentionClass
from chatconsent.store import keys
from chatconsent.store.campaigns import CAMPAIGN_CHANNEL, Campaign, Cap, Claim, Recipient
from chatconsent.store.guards import Guards
from chatconsent.store.table import Conflict, Operation, Table


class Sends:
    def __init__(self, table: Table, guards: Guards) -> None:
        self._t = table
        self._guards = guards

    # -- one send ----------------------------------------------------------------------------------

    def _reach_op(self, recipient: Recipient, campaign_id: str, cap: Cap | None, now: int) -> Operation:
        """Count this send against the cap, conditioned on the reach record as the index showed it."""
        t = self._t
        values: dict[str, Any] = {":rev": recipient.consent_rev, ":cid": campaign_id, ":now": now}
        sets = ["last_campaign = :cid", "last_sent_at = :now"]
        condition = "consent_rev = :rev"
        if cap is not None and (recipient.cap_until <= now or recipient.cap_count == 0):  # a new window opens
            until = now + cap.period_seconds
            values |= {":until": until, ":one": 1, ":zero": 0, ":next": until if cap.messages <= 1 else now}
            sets += ["cap_until = :until", "cap_count = :one", f"{keys.AUDIENCE_SORT} = :next"]
            condition += " AND (attribute_not_exists(cap_until) OR cap_until <= :now OR cap_count = :zero)"
        elif cap is not None:  # within the window: one more, if the cap allows
            count = recipient.cap_count + 1
            values |= {":seen": recipient.cap_count, ":count": count, ":until": recipient.cap_until}
            values[":max"] = cap.messages
            values[":next"] = recipient.cap_until if count >= cap.messages else now
            sets += ["cap_count = :count", f"{keys.AUDIENCE_SORT} = :next"]
            condition += " AND cap_until = :until AND cap_count = :seen AND cap_count < :max"
        update = t.update(keys.reach(recipient.subject, recipient.purpose), "SET " + ", ".join(sets), values, condition)
        return ("reach", "Update", update)

    def _consent_check(self, recipient: Recipient, now: int) -> Operation:
        # Campaigns are WhatsApp templates sent to the reach record's address: a consent given on another
        # messenger (its address a Telegram chat id or an Apple opaque id) is never written to by one.
        condition = (
            "#state = :active AND #rev = :rev AND #exp > :now"
            " AND (attribute_not_exists(#channel) OR #channel = :campaign_channel)"
        )
        values = {
            ":active": ConsentState.ACTIVE.value,
            ":rev": recipient.consent_rev,
            ":now": now,
            ":campaign_channel": CAMPAIGN_CHANNEL,
        }
        check = self._t.delete(keys.consent(recipient.subject, recipient.purpose), condition, values)
        return ("consent", "ConditionCheck", check)

    def _send_record(self, campaign: Campaign, recipient: Recipient, now: int) -> dict[str, Any]:
        t = self._t
        return t.item(
            keys.send_record(recipient.subject, campaign.campaign_id),
            {
                "state": "claimed",
                "campaign_id": campaign.campaign_id,
                "template": campaign.template,
                "purpose": recipient.purpose,
                "consent_proof": recipient.proof_hash,  # the ledger entry of the consent it is sent under
                "claimed_at": now,
            },
            RetentionClass.CAMPAIGN_SEND,
            t.expires_at(RetentionClass.CAMPAIGN_SEND, now),
        )

    def claim(self, campaign: Campaign, recipient: Recipient, cap: Cap | None) -> Claim:
        """Check and record one send in one transaction, before anything is sent.

        The consent still active at the revision read, the number not on the block list, the person's
        processing not restricted (Art. 18), the cap not reached, no send record for this campaign
        and person yet: all or nothing.
        """
        t = self._t
        now = t.now()
        record = self._send_record(campaign, recipient, now)
        ops: list[Operation] = [self._consent_check(recipient, now)]
        if recipient.suppression_hash:
            ops.append(self._guards.not_suppressed_check(recipient.suppression_hash, now))
        restriction = t.delete(keys.restriction(recipient.subject), "attribute_not_exists(PK)")
        ops.append(("restriction", "ConditionCheck", restriction))
        ops.append(self._reach_op(recipient, campaign.campaign_id, cap, now))
        # a record released after a refusal (nothing was sent) may be claimed again
        condition = "attribute_not_exists(PK) OR #state = :released"
        ops.append(("send", "Put", t.put(record, condition, {":released": "released"})))
        try:
            t.transact(ops)
        except Conflict as conflict:
            return self._why(campaign, recipient, conflict.failed)
        return Claim.CLAIMED

    def _why(self, campaign: Campaign, recipient: Recipient, failed: Sequence[str]) -> Claim:
        if "consent" in failed:
            record = self._t.get(keys.consent(recipient.subject, recipient.purpose)) or {}
            if record.get("channel", CAMPAIGN_CHANNEL) != CAMPAIGN_CHANNEL:
                return Claim.OTHER_CHANNEL
            return Claim.WITHDRAWN
        if "suppression" in failed:
            self._unreach(recipient)
            return Claim.BLOCKED
        if "restriction" in failed:
            return Claim.RESTRICTED
        if "send" in failed:  # the record exists and was not released: never a second send
            existing = self._t.get(keys.send_record(recipient.subject, campaign.campaign_id)) or {}
            return Claim.IN_DOUBT if existing.get("state") == "claimed" else Claim.SENT_BEFORE
        if "reach" in failed:
            return Claim.CAPPED  # the cap moved since the index was read (another campaign wrote first)
        raise Conflict(failed)  # a transaction conflict: the job is retried

    def _unreach(self, recipient: Recipient) -> None:
        """A blocked number leaves the audience: its reach record (and the sealed address) goes, if still
        the one read, so no later campaign reads it again. Opting in again from the chat brings it back."""
        t = self._t
        request = t.delete(
            keys.reach(recipient.subject, recipient.purpose), "consent_rev = :rev", {":rev": recipient.consent_rev}
        )
        t.delete_item(request)

    def close(self, campaign_id: str, subject: str, message_hash: str, template: str) -> None:
        """The provider accepted the message: the record says so, and statuses find it by the message."""
        t = self._t
        now = t.now()
        outbound = t.item(
            keys.outbound(subject, message_hash),
            {
                "kind": "campaign",
                "status": "accepted",
                "status_rank": 0,
                "sent_at": now,
                "template": template,
                "campaign_id": campaign_id,
            },
            RetentionClass.CAMPAIGN_SEND,
            t.expires_at(RetentionClass.CAMPAIGN_SEND, now),
        )
        sent = t.update(
            keys.send_record(subject, campaign_id),
            "SET #state = :sent, message_hash = :m, sent_at = :now",
            {":sent": "sent", ":m": message_hash, ":now": now, ":claimed": "claimed"},
            "#state = :claimed",
        )
        t.transact([("send", "Update", sent), ("message", "Put", t.put(outbound))])

    def release(self, campaign_id: str, recipient: Recipient, reason: str) -> None:
        """Nothing was sent (the provider refused for now): the record may be claimed again and the
        cap gets its message back, so a later run or a resume sends it."""
        t = self._t
        now = t.now()
        released = t.update(
            keys.send_record(recipient.subject, campaign_id),
            "SET #state = :released, failure = :reason, settled_at = :now",
            {":released": "released", ":reason": reason, ":now": now, ":claimed": "claimed"},
            "#state = :claimed",
        )
        refund = t.update(
            keys.reach(recipient.subject, recipient.purpose),
            f"SET cap_count = cap_count - :one, {keys.AUDIENCE_SORT} = :now",
            {":one": 1, ":now": now, ":rev": recipient.consent_rev, ":zero": 0},
            "consent_rev = :rev AND cap_count > :zero",
        )
        try:
            t.transact([("send", "Update", released), ("reach", "Update", refund)])
        except Conflict as conflict:
            if conflict.failed != ("reach",):
                raise
            t.update_item(released)  # withdrawn meanwhile: no cap left to give back

    def settle(self, campaign_id: str, subject: str, state: str, reason: str) -> None:
        """A send the provider refused: ``released`` (may be sent again) or ``failed`` (for good)."""
        t = self._t
        t.update_item(
            t.update(
                keys.send_record(subject, campaign_id),
                "SET #state = :state, failure = :reason, settled_at = :now",
                {":state": state, ":reason": reason, ":now": t.now(), ":claimed": "claimed"},
                "#state = :claimed",
            )
        )

    # -- the shared send rate ----------------------------------------------------------------------

    def reserve(self, bucket: str, slots: int, interval: int, now: int, busy: bool) -> int:
        """Reserve ``slots`` consecutive send slots of the shared rate; returns when the first starts.

        Times are epoch microseconds. The bucket keeps the time its next free slot starts (generic
        cell rate algorithm): every sender of every container takes its slots from it, so together
        they never exceed the rate. ``busy`` says which of the two writes to try first (the other
        follows if its condition fails).
        """
        t = self._t
        key = keys.bucket(bucket)
        span = slots * interval
        retention = (RetentionClass.SEND_RATE, t.expires_at(RetentionClass.SEND_RATE, now // 1_000_000))
        for attempt in range(2):
            if busy != bool(attempt):  # the bucket is ahead of now: take the slots after the last one taken
                request = t.update(
                    key,
                    "SET next_slot = next_slot + :span",
                    {":span": span, ":now": now},
                    "next_slot > :now",
                    retention,
                )
            else:  # idle: the slots start now (never in the past: no burst after a pause)
                request = t.update(
                    key,
                    "SET next_slot = :end",
                    {":end": now + span, ":now": now},
                    "attribute_not_exists(next_slot) OR next_slot <= :now",
                    retention,
                )
            request["ReturnValues"] = "UPDATED_NEW"
            try:
                response = t.client.update_item(**request)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            return int(response["Attributes"]["next_slot"]["N"]) - span
        raise Conflict(["bucket"])
