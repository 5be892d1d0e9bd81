"""The desk page's files as they ship: nothing inline (the policy forbids it), nothing from elsewhere,
tokens nowhere but in memory, and every interface text it asks for in the catalogue in each language."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from chatconsent.config import LANGUAGES
from chatconsent.texts import catalogue

PAGE = Path(__file__).resolve().parents[2] / "functions" / "desk" / "page"
SCRIPT = (PAGE / "desk.js").read_text("utf-8")
# The texts the page builds from a prefix and a value the API names (contract: refusals, statuses …).
BUILT = {
    "refusal_": ("no_consent", "window_closed", "withdrawn", "restricted", "purpose_not_consented"),
    "status_": ("queued", "sent", "delivered", "read", "failed"),
    "direction_": ("in", "out"),
    "hidden_": ("special_category",),
    "purpose_status_": ("none", "pending", "active", "withdrawn", "expired", "lapsed"),  # ConsentState
    "column_": (
        *("seq", "at", "event", "purpose", "notice_version", "source", "hash"),  # ledger entries
        *("actor", "action", "subject_ref", "status"),  # audit entries
    ),
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data.strip()


def test_the_page_has_nothing_inline_and_nothing_from_elsewhere() -> None:
    parser = _Tags()
    parser.feed((PAGE / "index.html").read_text("utf-8"))
    assert not parser.script_text, "inline script"
    assert "style" not in {tag for tag, _ in parser.tags}, "inline style element"
    for tag, attrs in parser.tags:
        assert "style" not in attrs, f"style attribute on <{tag}>"
        assert not any(name.startswith("on") for name in attrs), f"event handler attribute on <{tag}>"
        for name in ("src", "href"):
            if attrs.get(name):
                assert attrs[name] in ("desk/assets/desk.js", "desk/assets/desk.css"), f"<{tag} {name}>"
    assert ("script", {"type": "module", "src": "desk/assets/desk.js"}) in parser.tags
    css = (PAGE / "desk.css").read_text("utf-8")
    assert "url(" not in css and "@import" not in css


def test_the_script_keeps_tokens_in_memory_and_builds_no_markup_from_strings() -> None:
    for forbidden in ("localStorage", "document.cookie", "innerHTML", "outerHTML", "insertAdjacentHTML", "eval("):
        assert forbidden not in SCRIPT, forbidden
    # sessionStorage holds only the PKCE verifier and state during the visit to the sign-in page.
    stored = re.findall(r"sessionStorage\.setItem\(PENDING_KEY, JSON\.stringify\(\{([^}]*)\}", SCRIPT)
    assert [fields.strip() for fields in stored] == ["verifier, state: stateValue, route: location.hash"]
    assert "http://" not in SCRIPT and "https://" not in SCRIPT


def test_every_text_the_page_asks_for_is_in_the_catalogue_in_every_language() -> None:
    texts = catalogue().texts
    asked = set(re.findall(r'\bt\("([a-z_]+)"', SCRIPT))
    asked |= set(re.findall(r'data-text="([a-z_]+)"', (PAGE / "index.html").read_text("utf-8")))
    asked |= {prefix + value for prefix, values in BUILT.items() for value in values}
    assert set(re.findall(r"\bt\(`([a-z_]+)\$\{", SCRIPT)) == set(BUILT), "a built text key the test does not know"
    missing = sorted(key for key in asked if f"desk.{key}" not in texts)
    assert not missing, f"desk texts missing from the catalogue: {missing}"
    assert all(set(texts[f"desk.{key}"]) == set(LANGUAGES) for key in asked)
    unused = sorted(k for k in texts if k.startswith("desk.") and k.removeprefix("desk.") not in asked)
    assert not unused, f"desk texts nobody shows: {unused}"
