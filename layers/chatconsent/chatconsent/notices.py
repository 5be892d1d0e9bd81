"""The notice registry: immutable, versioned Art. 13 notices and the SHA-256 of their exact text.

Rendered texts live in ``notices/<version>/<language>.md`` with a manifest of their hashes; the
ledger records version, language and hash, so an auditor can show precisely what was on screen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from chatconsent.errors import NotFound

NOTICE_DIR = Path(__file__).with_name("notices")


class UnknownNotice(NotFound):
    """No notice exists for the language and version asked for."""

    def __init__(self) -> None:
        super().__init__("no such notice")


@dataclass(frozen=True)
class Notice:
    version: str
    language: str
    text: str

    @cached_property
    def sha256(self) -> str:
        return text_sha256(self.text)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class NoticeRegistry:
    """Reads the committed notices; nothing is rendered at runtime."""

    def __init__(self, directory: Path = NOTICE_DIR) -> None:
        self._directory = directory
        self._cache: dict[tuple[str, str], Notice] = {}

    @cached_property
    def manifest(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self._directory / "manifest.json").read_text("utf-8"))
        return data

    @property
    def latest_version(self) -> str:
        return str(self.manifest["latest"])

    def versions(self) -> dict[str, dict[str, str]]:
        versions = self.manifest["versions"]
        assert isinstance(versions, dict)
        return versions

    def get(self, language: str, version: str | None = None) -> Notice:
        version = version or self.latest_version
        if language not in self.versions().get(version, {}):
            raise UnknownNotice()
        key = (version, language)
        if key not in self._cache:
            text = (self._directory / version / f"{language}.md").read_text("utf-8")
            self._cache[key] = Notice(version=version, language=language, text=text)
        return self._cache[key]
