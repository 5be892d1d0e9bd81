"""The purge function over real flows: every item has a retention, and nothing expired survives."""

from __future__ import annotations

import json

import pytest

from chatconsent.consent_service import ConsentService
from chatconsent.retention import REQUIRED_CLASSES
from chatconsent.store.keys import expiry_shard
from chatconsent.tokens import code_hash
from tests.conftest import Env
from tests.flow import OTHER, deliver, last_buttons, start_optin, text
from tests.flow import button as button_message


def run_everything(env: Env) -> dict[str, str]:
    """One of each flow, so that every writer has written."""
    started = start_optin(env, purposes={"customer_service": True, "marketing": True})
    deliver(env, text(env, f"My code: {started['code']}"))
    yes, _ = last_buttons()
    deliver(env, button_message(env, yes["id"]))
    deliver(env, text(env, "where is my parcel?"))  # known subject
    deliver(env, text(env, "where is my parcel?", sender=OTHER))  # unknown sender: info reply + counter
    subject = env.wiring.pseudonymizer.subject("whatsapp", "+491701234567")
    ConsentService(env.store, env.wiring.config, env.clock).withdraw(subject, source="test", purposes={"marketing"})
    env.invoke("purge", {"job": "purge"})  # receipts (nothing expired yet: none written)
    return {"code": started["code"], "subject": subject}


def test_every_item_written_carries_a_retention_class_and_expiry(env: Env) -> None:
    run_everything(env)
    items = env.items()
    kinds = {i["PK"].split("#")[0] + ":" + i["SK"].split("#")[0] for i in items}
    assert {"OPTIN:REQUEST", "SUBJ:S", "SUBJ:M", "LEDGER:E", "DEDUPE:DEDUPE", "RATE:RATE"} <= kinds
    for item in items:
        assert item["retention_class"] in REQUIRED_CLASSES, item["PK"].split("#")[0]
        assert isinstance(item["expires_at"], int) and item["expires_at"] > env.clock()
        assert item["expiry_shard"] == expiry_shard(item["PK"], item["expires_at"])


def test_after_each_period_and_one_run_nothing_expired_remains_or_is_read(
    env: Env, capfd: pytest.CaptureFixture[str]
) -> None:
    handles = run_everything(env)
    runs = 0
    while any(i["retention_class"] != "purge_receipt" for i in env.items()):
        env.clock.now = min(i["expires_at"] for i in env.items()) + 60  # a run soon after each expiry
        runs += 1
        assert runs < 100
        result = env.invoke("purge", {"job": "purge"})
        assert result["complete"] is True
        now = env.clock()
        assert [i for i in env.items() if i["expires_at"] <= now] == []
        # reads never return anything expired, whatever the purge has done
        state = env.store.subjects.state(handles["subject"])
        assert all(r.expires_at > now for r in state.consents.values())
        assert state.pending is None or state.pending.expires_at > now
        if state.ledger_head:
            assert all(e.seq <= state.ledger_head.seq for e in env.store.ledger.entries(state.ledger_head.ledger_id))
        assert env.store.optins.request(code_hash(handles["code"])) is None or now < 1_795_000_000 + 3600
    remaining = {i["retention_class"] for i in env.items()}
    assert remaining <= {"purge_receipt"}
    out = capfd.readouterr().out
    metrics = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    names = {m["Name"] for doc in metrics for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"ItemsPurged", "PurgeLagSeconds"} <= names
    assert sum(value for doc in metrics for value in doc.get("ItemsPurged", [])) > 0


def test_malformed_schedule_input_fails_so_the_scheduler_retries(env: Env) -> None:
    with pytest.raises(Exception, match="validation error"):
        env.invoke("purge", {"job": "purge", "lookback_days": 0})
    with pytest.raises(Exception, match="validation error"):
        env.invoke("purge", {"job": "delete-everything"})
