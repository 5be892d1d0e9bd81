"""The Art. 30 record and the notice come from the same configuration as the purge."""

from __future__ import annotations

import json
from datetime import timedelta

from chatconsent.config import current_config
from chatconsent.notice_render import render_notice
from chatconsent.retention import REQUIRED_CLASSES, RetentionClass, RetentionPlan
from chatconsent.ropa import build_record, render_markdown


def test_record_covers_every_purpose_class_recipient_and_transfer() -> None:
    config = current_config()
    record = build_record(config)
    assert [a["purpose"] for a in record["processing_activities"]] == list(config.purpose_ids)
    assert {r["class"] for r in record["retention"]} == REQUIRED_CLASSES
    assert any("2023/1795" in t["basis"] for t in record["third_country_transfers"])
    health = next(a for a in record["processing_activities"] if a["special_category"])
    assert health["legal_basis"] == "Art. 9(2)(a) GDPR"
    json.dumps(record)  # machine-readable as it is
    markdown = render_markdown(record)
    assert "| `conversation` | Chat messages | 90 days | receipt |" in markdown
    # every other processing with its legal basis; IP addresses, health and bank data; processor agreements
    assert {a["activity"] for a in record["other_activities"]} == REQUIRED_CLASSES
    assert all("GDPR" in a["legal_basis"] for a in record["other_activities"])
    categories = " ".join(record["data_categories"])
    assert "IP addresses" in categories and "health" in categories and "bank data" in categories
    assert all(r["agreement"] for r in record["recipients"])


def test_one_change_to_the_plan_changes_purge_notice_and_record() -> None:
    config = current_config()
    retention = dict(config.retention)
    retention["conversation"] = retention["conversation"].model_copy(update={"period": timedelta(days=60)})
    changed = config.model_copy(update={"retention": retention})
    plan = RetentionPlan.from_config(changed)
    assert plan.expires_at(RetentionClass.CONVERSATION, 0) == 60 * 86_400
    assert "Chat messages: 60 days from receipt" in render_notice(changed, "en")
    assert "Chat-Nachrichten: 60 Tage ab Eingang" in render_notice(changed, "de")
    assert "| `conversation` | Chat messages | 60 days | receipt |" in render_markdown(build_record(changed))


def test_record_and_notice_describe_renewal_lapse_and_reconfirmation() -> None:
    config = current_config()
    changes = {
        config.notice_version: config.notice_changes[config.notice_version].model_copy(update={"material": True})
    }
    record = build_record(config.model_copy(update={"notice_changes": changes}))
    assert record["consent_renewal"] == {
        "ask_before": "30 days",
        "template": "consent_renewal",
        "material_notice_versions": [config.notice_version],
    }
    markdown = render_markdown(record)
    assert "30 days before it lapses the person is asked once" in markdown and "consent_lapsed" in markdown
    assert f"(material: {config.notice_version})" in markdown
    assert "(material: none)" in render_markdown(build_record(config))  # the current version only clarifies
    for language, words in (("en", "renew"), ("de", "verlängern"), ("it", "rinnova")):
        notice = render_notice(config, language)
        assert words in notice and ("template" in notice or "Vorlage" in notice or "modello" in notice)


def test_the_rights_register_is_an_activity_under_a_legal_obligation_and_the_notice_says_so() -> None:
    config = current_config()
    record = build_record(config)
    [register] = [a for a in record["other_activities"] if a["activity"] == "rights_request"]
    assert "Art. 6(1)(c)" in register["legal_basis"] and "12 and 15 to 22" in register["legal_basis"]
    [kept] = [r for r in record["retention"] if r["class"] == "rights_request"]
    assert (kept["period"], kept["starts"]) == ("3 years", "closing")
    notices = {language: render_notice(config, language) for language in ("en", "de", "it")}
    assert "3 years after the request is closed" in notices["en"]
    assert (
        "e-mail or post" in notices["en"] and "E-Mail oder Post" in notices["de"] and "e-mail o posta" in notices["it"]
    )
    assert "(Art. 18)" in notices["en"] and "(Art. 18)" in notices["de"] and "(art. 18)" in notices["it"]
