"""Server-rendered pages: the confirmation link's (who will message the person, about what, two
buttons), the access link's (one download button) and the notice for people who open its link in a
browser.

Plain, escaped HTML with no script: the pages must work in any mail or messenger browser. The texts
are the catalogue's ``page_*`` entries; callers pass a language already resolved with ``Texts.language``.
"""

from __future__ import annotations

from html import escape

from chatconsent.channels.registry import CHANNELS
from chatconsent.config import LANGUAGES, BusinessConfig, Language
from chatconsent.texts import raw, resolve

_STYLE = (
    "body{font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;max-width:36rem;margin:2rem auto;"
    "padding:0 1rem}h1{font-size:1.4rem}li{margin:.4rem 0}.note{color:#444}"
    "button{font:inherit;padding:.6rem 1.2rem;margin:.4rem .4rem 0 0;border-radius:.4rem;border:2px solid #0b5c2a;"
    "cursor:pointer}button[value=confirm],button[value=download]{background:#0b5c2a;color:#fff}button[value=decline]{background:#fff;"
    "color:#0b5c2a}button:focus-visible,a:focus-visible{outline:3px solid #1a4fd6;outline-offset:2px}a{color:#1a4fd6}"
)


def _text(key: str, language: Language, **values: str) -> str:
    return escape(raw(f"page_{key}", language).format(**values))


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


def access_page(config: BusinessConfig, language: Language) -> str:
    """The access link's page: what the file holds and one button that downloads it (a POST, once)."""
    controller = config.controller.name
    title = _text("access_title", language, controller=controller)
    body = (
        f"<h1>{title}</h1>"
        f"<p>{_text('access_intro', language, controller=controller)}</p>"
        '<form method="post">'
        f'<button type="submit" name="download" value="download">{_text("access_download", language)}</button>'
        "</form>"
        f'<p class="note">{_text("access_once", language)}</p>'
    )
    return _page(language, title, body)


def access_result_page(language: Language, outcome: str) -> str:
    """``outcome``: used (downloaded before) or invalid (unknown, expired or erased)."""
    title = _text(f"access_{outcome}_h", language)
    return _page(language, title, f"<h1>{title}</h1><p>{_text(f'access_{outcome}', language)}</p>")


def channel_label(channel: str) -> str:
    spec = CHANNELS.get(channel)
    return spec.display_name if spec is not None else channel


def notice_page(language: str, version: str, text: str) -> str:
    """The notice exactly as published (the text whose hash the ledger records), readable."""
    lang = resolve(language, LANGUAGES, "en")  # every published language, whatever the business offers now
    title = escape(text.splitlines()[0].lstrip("# ")) if text else version
    body = f'<pre style="white-space:pre-wrap;font:inherit">{escape(text)}</pre>'
    return _page(lang, title, body)
