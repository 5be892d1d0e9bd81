"""The Art. 30 record of processing activities, generated from the configuration (``make ropa``).

The same document that renders the notice and drives the purge: purposes, legal bases,
categories, recipients, transfers, retention per class and the security measures in place.
"""

from __future__ import annotations

from typing import Any

from chatconsent.config import BusinessConfig, Officer, in_language
from chatconsent.retention_classes import COPIES
from chatconsent.texts import format_period

DATA_SUBJECTS = ["Customers and prospects who opt in through the widget and write to the business's messenger accounts"]
DATA_CATEGORIES = [
    "Messenger identifier (WhatsApp: phone number; Telegram: chat id; Apple Messages for Business: the opaque id"
    " Apple issues per business), stored only as a keyed pseudonym (HMAC-SHA256) namespaced by channel; in clear only"
    " inside sealed messages (the address replies go to); a queued confirmation-link job holds it sealed under the KMS"
    " key. Profile names, usernames and pictures the messengers send are never read or stored",
    "Messages and their timestamps (text, button ids, media metadata), sealed with the person's own data key",
    "Special categories (Art. 9): health information in messages; bank data (IBANs, card numbers) in messages",
    "Consent records: purpose, notice version and hash, keyed hashes of message ids",
    "IP addresses of widget and form requests, only as keyed hashes in abuse-protection counters",
    "Technical records: webhook receipts, abuse-protection counters, admin audit entries (keyed hashes), "
    "erasure tombstones (the pseudonym of an erased person, for as long as a backup can be restored)",
    "Rights requests received by e-mail or post: type, arrival date, deadline and its extension with the reason,"
    " outcome; the officer's identity-check note sealed under the KMS key; the subject as a keyed pseudonym",
]
# Copies kept by AWS outside the tables (template.yaml configures these periods; a test compares them).
COPY_DESCRIPTIONS = {
    "link_jobs": "Queued confirmation-link jobs (the token; the number sealed under the KMS key)",
    "link_jobs_failed": "Confirmation-link jobs that failed every attempt (dead-letter queue)",
    "campaign_jobs": "Queued campaign jobs (pseudonyms and sealed addresses)",
    "failed_jobs": "Failed campaign, purge, retention, outbox and renewal jobs (dead-letter queues; no number"
    " in clear)",
    "logs": "Function and API access logs (no personal data)",
    "backups": "Point-in-time recovery of the main table (not of the per-person key table)",
}
SECURITY_MEASURES = [
    "Encryption at rest with a customer-managed AWS KMS key (rotation enabled); TLS in transit",
    "Identifiers only as keyed pseudonyms; provider message ids only as keyed hashes",
    "Webhook authentication (WhatsApp's signature, Telegram's secret token, Apple's signed token) checked in"
    " constant time on the raw request before any parsing; rotated secrets accepted side by side for a window",
    "Least-privilege IAM policy per function; secrets in SSM Parameter Store SecureStrings",
    "No personal data in logs, metrics or access logs; log groups with a retention period",
    "Every item carries a retention class and expiry; a scheduled purge deletes on time, with receipts",
    "Append-only, hash-chained consent ledger (tamper evident)",
    "Per-person data keys in a table without backups (erasure shreds them in every backup); erasures after "
    "a restore point replayed into a restored table from erasure tombstones (pseudonym only, 35 days)",
]


def _officer(officer: Officer | None) -> dict[str, str] | None:
    if officer is None:
        return None
    return {
        "name": in_language(officer.name, "en"),
        "address": in_language(officer.address, "en"),
        "email": officer.email,
    }


def build_record(config: BusinessConfig) -> dict[str, Any]:
    """Art. 30(1)(a)-(g) as data."""
    controller = config.controller.model_dump(mode="json")
    controller["address"] = in_language(config.controller.address, "en")
    return {
        "controller": controller,
        "data_protection_officer": _officer(config.dpo),
        "representative": _officer(config.representative),
        "notice_version": config.notice_version,
        "processing_activities": [
            {
                "purpose": purpose.id,
                "title": purpose.title["en"],
                "description": purpose.description["en"],
                "legal_basis": "Art. 9(2)(a) GDPR"
                if purpose.legal_basis == "explicit_consent"
                else "Art. 6(1)(a) GDPR",
                "special_category": purpose.special_category,
            }
            for purpose in config.purposes
        ],
        # every other processing, with its own legal basis: what is kept, why, and for how long
        "other_activities": [
            {"activity": name, "description": retention.description["en"], "legal_basis": retention.legal_basis["en"]}
            for name, retention in config.retention.items()
        ],
        "data_subjects": DATA_SUBJECTS,
        "data_categories": DATA_CATEGORIES,
        "recipients": [
            {"name": r.name, "role": r.role["en"], "country": r.country, "agreement": r.agreement}
            for r in config.recipients
        ],
        "third_country_transfers": [
            {"recipient": r.name, "basis": r.transfer_basis["en"]} for r in config.recipients if r.transfer_basis
        ],
        "retention": [
            {
                "class": name,
                "description": retention.description["en"],
                "period": format_period(retention.period, "en"),
                "period_seconds": int(retention.period.total_seconds()),
                "starts": retention.starts,
            }
            for name, retention in config.retention.items()
        ],
        "copies": [
            {
                "copy": name,
                "description": COPY_DESCRIPTIONS[name],
                "period": format_period(period, "en"),
                "period_seconds": int(period.total_seconds()),
            }
            for name, period in COPIES.items()
        ],
        "consent_validity": format_period(config.consent_validity, "en"),
        "consent_renewal": {
            "ask_before": format_period(config.consent_renewal.ask_before, "en"),
            "template": config.consent_renewal.template,
            "material_notice_versions": sorted(v for v, change in config.notice_changes.items() if change.material),
        },
        "security_measures": SECURITY_MEASURES,
    }


def render_markdown(record: dict[str, Any]) -> str:
    c = record["controller"]
    lines = [
        "# Record of processing activities (Art. 30 GDPR)",
        "",
        f"Generated from the configuration; notice version {record['notice_version']}.",
        "",
        f"**Controller:** {c['name']}, {c['address']}, {c['email']}  ",
    ]
    for label, key in (
        ("Data protection officer", "data_protection_officer"),
        ("Representative (Art. 27)", "representative"),
    ):
        if record[key]:
            lines.append(f"**{label}:** {record[key]['name']}, {record[key]['email']}  ")
    lines += [
        "",
        "## Purposes and legal basis",
        "",
        "| purpose | description | legal basis | special category |",
        "| --- | --- | --- | --- |",
    ]
    for a in record["processing_activities"]:
        special = "yes" if a["special_category"] else "no"
        lines.append(f"| {a['title']} (`{a['purpose']}`) | {a['description']} | {a['legal_basis']} | {special} |")
    lines += ["", "## Other processing and its legal basis", "", "| what | legal basis |", "| --- | --- |"]
    lines += [f"| {a['description']} | {a['legal_basis']} |" for a in record["other_activities"]]
    lines += ["", "## Data subjects", ""] + [f"- {s}" for s in record["data_subjects"]]
    lines += ["", "## Categories of personal data", ""] + [f"- {s}" for s in record["data_categories"]]
    lines += ["", "## Recipients", ""]
    lines += [
        f"- {r['name']}: {r['role']} ({r['country']})" + (f"; agreement: {r['agreement']}" if r["agreement"] else "")
        for r in record["recipients"]
    ]
    lines += ["", "## Transfers to third countries", ""]
    lines += [f"- {t['recipient']}: {t['basis']}" for t in record["third_country_transfers"]] or ["- none"]
    lines += ["", "## Time limits for erasure", "", "| class | what | kept for | from |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{r['class']}` | {r['description']} | {r['period']} | {r['starts'].replace('_', ' ')} |"
        for r in record["retention"]
    ]
    lines += ["", "Copies outside the tables:", "", "| copy | what | kept for |", "| --- | --- | --- |"]
    lines += [f"| `{c['copy']}` | {c['description']} | {c['period']} |" for c in record["copies"]]
    renewal = record["consent_renewal"]
    material = ", ".join(renewal["material_notice_versions"]) or "none"
    lines += [
        "",
        f"An active consent is valid for at most {record['consent_validity']}. {renewal['ask_before']} before it"
        " lapses the person is asked once whether to renew it (a yes/no question in the chat within WhatsApp's"
        f" 24-hour window, otherwise the utility template `{renewal['template']}`); a yes renews it for the same"
        " period (ledger: consent_renewed), a no withdraws it, no answer lets it lapse (ledger: consent_lapsed;"
        " its reach record is deleted and the conversation falls under the withdrawn period). Notice versions"
        f" that changed purposes or recipients (material: {material}) are re-confirmed at the person's next"
        " message (ledger: consent_reconfirmed); until then the consent stays valid.",
        "",
    ]
    lines += ["## Technical and organisational security measures (Art. 32)", ""] + [
        f"- {m}" for m in record["security_measures"]
    ]
    return "\n".join(lines) + "\n"
