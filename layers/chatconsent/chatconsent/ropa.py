"""The Art. 30 record of processing activities, generated from the configuration (``make ropa``).

The same document that renders the notice and drives the purge: purposes, legal bases,
categories, recipients, transfers, retention per class and the security measures in place.
"""

from __future__ import annotations

from typing import Any

from chatconsent.config import BusinessConfig, Officer, in_language
from chatconsent.texts import format_period

DATA_SUBJECTS = ["Customers and prospects who opt in through the widget and write to the business's messenger accounts"]
DATA_CATEGORIES = [
    "Messenger identifier (phone number), stored only as a keyed pseudonym (HMAC-SHA256); in clear only inside"
    " sealed messages (the address replies go to) and, for at most an hour, in a queued confirmation-link job",
    "Messages and their timestamps (text, button ids, media metadata), sealed with the person's own data key",
    "Special categories (Art. 9): health information in messages; bank data (IBANs, card numbers) in messages",
    "Consent records: purpose, notice version and hash, keyed hashes of message ids",
    "IP addresses of widget and form requests, only as keyed hashes in abuse-protection counters",
    "Technical records: webhook receipts, abuse-protection counters, admin audit entries (keyed hashes), "
    "erasure tombstones (the pseudonym of an erased person, for as long as a backup can be restored)",
]
SECURITY_MEASURES = [
    "Encryption at rest with a customer-managed AWS KMS key (rotation enabled); TLS in transit",
    "Identifiers only as keyed pseudonyms; provider message ids only as keyed hashes",
    "Webhook signatures verified in constant time on the raw body before any processing",
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
        "consent_validity": format_period(config.consent_validity, "en"),
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
    lines += ["", f"An active consent is valid for at most {record['consent_validity']}.", ""]
    lines += ["## Technical and organisational security measures (Art. 32)", ""] + [
        f"- {m}" for m in record["security_measures"]
    ]
    return "\n".join(lines) + "\n"
