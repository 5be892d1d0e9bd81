"""Server-rendered pages: the confirmation link's (who will message the person, about what, two
buttons) and the notice for people who open its link in a browser.

Plain, escaped HTML with no script: the pages must work in any mail or messenger browser.
"""

from __future__ import annotations

from html import escape

from chatconsent.config import LANGUAGES, BusinessConfig, Language

_T: dict[str, dict[Language, str]] = {
    "title": {
        "en": "Confirm messages from {controller}",
        "de": "Nachrichten von {controller} bestätigen",
        "it": "Conferma i messaggi di {controller}",
    },
    "intro": {
        "en": "{controller} would like to write to you on {channel} for these purposes:",
        "de": "{controller} möchte Ihnen über {channel} zu diesen Zwecken schreiben:",
        "it": "{controller} desidera scriverle su {channel} per queste finalità:",
    },
    "explicit": {
        "en": "explicit consent to processing health data (Art. 9(2)(a) GDPR)",
        "de": "ausdrückliche Einwilligung in die Verarbeitung von Gesundheitsdaten (Art. 9 Abs. 2 lit. a DSGVO)",
        "it": "consenso esplicito al trattamento di dati sanitari (art. 9, par. 2, lett. a GDPR)",
    },
    "notice": {
        "en": "Privacy notice (version {version})",
        "de": "Datenschutzhinweise (Version {version})",
        "it": "Informativa privacy (versione {version})",
    },
    "withdraw": {
        "en": "You can withdraw at any time by writing STOP in the chat.",
        "de": "Sie können jederzeit widerrufen, indem Sie STOPP in den Chat schreiben.",
        "it": "Può revocare in qualsiasi momento scrivendo STOP nella chat.",
    },
    "unsolicited": {
        "en": "Did not ask for this? Choose “No” or ignore this page: nothing happens and the link expires.",
        "de": "Nicht angefordert? Wählen Sie „Nein“ oder ignorieren Sie diese Seite: Es passiert nichts.",
        "it": "Non l'ha richiesto? Scelga «No» o ignori questa pagina: non succede nulla.",
    },
    "confirm": {"en": "Yes, I agree", "de": "Ja, ich willige ein", "it": "Sì, acconsento"},
    "decline": {"en": "No, thanks", "de": "Nein, danke", "it": "No, grazie"},
    "confirmed_h": {"en": "Thank you: confirmed", "de": "Danke: bestätigt", "it": "Grazie: confermato"},
    "confirmed": {
        "en": "{controller} may now write to you for the purposes you confirmed. Write STOP in the chat to withdraw.",
        "de": "{controller} darf Ihnen nun zu den bestätigten Zwecken schreiben. Schreiben Sie STOPP zum Widerruf.",
        "it": "{controller} può ora scriverle per le finalità confermate. Scriva STOP nella chat per revocare.",
    },
    "declined_h": {"en": "Declined", "de": "Abgelehnt", "it": "Rifiutato"},
    "declined": {
        "en": "Nothing was stored about your consent and you will not receive messages.",
        "de": "Es wurde keine Einwilligung gespeichert und Sie erhalten keine Nachrichten.",
        "it": "Non è stato registrato alcun consenso e non riceverà messaggi.",
    },
    "closed_h": {"en": "Link already used", "de": "Link bereits verwendet", "it": "Link già utilizzato"},
    "closed": {
        "en": "This link has been used or withdrawn and cannot change anything any more.",
        "de": "Dieser Link wurde bereits verwendet oder widerrufen und ändert nichts mehr.",
        "it": "Questo link è già stato usato o revocato e non può più cambiare nulla.",
    },
    "invalid_h": {"en": "Link not valid", "de": "Link ungültig", "it": "Link non valido"},
    "invalid": {
        "en": "This link is unknown or has expired. You can start again on our web site.",
        "de": "Dieser Link ist unbekannt oder abgelaufen. Sie können auf unserer Website neu beginnen.",
        "it": "Questo link è sconosciuto o scaduto. Può ricominciare dal nostro sito web.",
    },
    "bad_h": {"en": "Please choose", "de": "Bitte wählen", "it": "Scelga, per favore"},
    "bad": {
        "en": "Please answer with one of the two buttons on the confirmation page.",
        "de": "Bitte antworten Sie mit einer der beiden Schaltflächen der Bestätigungsseite.",
        "it": "Risponda con uno dei due pulsanti della pagina di conferma.",
    },
}

_STYLE = (
    "body{font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;max-width:36rem;margin:2rem auto;"
    "padding:0 1rem}h1{font-size:1.4rem}li{margin:.4rem 0}.note{color:#444}"
    "button{font:inherit;padding:.6rem 1.2rem;margin:.4rem .4rem 0 0;border-radius:.4rem;border:2px solid #0b5c2a;"
    "cursor:pointer}button[value=confirm]{background:#0b5c2a;color:#fff}button[value=decline]{background:#fff;"
    "color:#0b5c2a}button:focus-visible,a:focus-visible{outline:3px solid #1a4fd6;outline-offset:2px}a{color:#1a4fd6}"
)


def language_of(value: str | None, config: BusinessConfig | Language) -> Language:
    """A supported language from a request's language or an ``Accept-Language`` header."""
    for part in (value or "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        for language in LANGUAGES:
            if code == language:
                return language
    return config if isinstance(config, str) else config.default_language


def _text(key: str, language: Language, **values: str) -> str:
    return escape(_T[key][language].format(**values))


def _page(language: Language, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def confirmation_page(
    config: BusinessConfig, language: Language, purposes: tuple[str, ...], channel: str, notice_version: str
) -> str:
    controller = config.controller.name
    items = []
    for purpose_id in purposes:
        if purpose_id not in config.purpose_ids:  # no longer offered: it cannot be confirmed either
            continue
        purpose = config.purpose(purpose_id)
        extra = f" <strong>({_text('explicit', language)})</strong>" if purpose.special_category else ""
        title, description = escape(purpose.title[language]), escape(purpose.description[language])
        items.append(f"<li><strong>{title}</strong>: {description}{extra}</li>")
    notice_url = f"{config.notice_url(language)}/{notice_version}"
    title = _text("title", language, controller=controller)
    body = (
        f"<h1>{title}</h1>"
        f"<p>{_text('intro', language, controller=controller, channel=channel_label(channel))}</p>"
        f"<ul>{''.join(items)}</ul>"
        f'<p><a href="{escape(notice_url)}">{_text("notice", language, version=notice_version)}</a></p>'
        f"<p>{_text('withdraw', language)}</p>"
        '<form method="post">'
        f'<button type="submit" name="decision" value="confirm">{_text("confirm", language)}</button>'
        f'<button type="submit" name="decision" value="decline">{_text("decline", language)}</button>'
        "</form>"
        f'<p class="note">{_text("unsolicited", language)}</p>'
    )
    return _page(language, title, body)


def result_page(config: BusinessConfig, language: Language, outcome: str) -> str:
    """``outcome``: confirmed, declined, closed, invalid or bad."""
    title = _text(f"{outcome}_h", language)
    body = f"<h1>{title}</h1><p>{_text(outcome, language, controller=config.controller.name)}</p>"
    return _page(language, title, body)


def channel_label(channel: str) -> str:
    return {"whatsapp": "WhatsApp"}.get(channel, channel)


def notice_page(language: str, version: str, text: str) -> str:
    """The notice exactly as published (the text whose hash the ledger records), readable."""
    lang: Language = language_of(language, "en")
    title = escape(text.splitlines()[0].lstrip("# ")) if text else version
    body = f'<pre style="white-space:pre-wrap;font:inherit">{escape(text)}</pre>'
    return _page(lang, title, body)
