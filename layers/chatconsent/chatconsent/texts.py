"""The text catalogue and the language resolver: everything the product says to people, per language.

Every text lives in ``texts.json`` beside this module (it ships with the layer, like
``default_config.json``) and is read once per process. Keys are flat and unique: the chat's own
(``prefill``, ``help`` …), ``page_*`` for the confirmation pages, ``notice_*`` for the Art. 13
notice, ``widget_*`` for the widget's first layer, ``unit_*`` for the words of a period and ``desk.*``
for the agents' desk (the page formats them itself: ``{name}`` placeholders filled in the browser).
``regions`` maps a phone number's region to the language spoken there.

``Texts(config)`` is the one place that decides a person's language: from a stored language, a
request's ``Accept-Language`` header or a phone number's region, always one the business offers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from chatconsent.config import LANGUAGES, BusinessConfig, Language

CATALOGUE_PATH = Path(__file__).with_name("texts.json")
_MAX_RANGES = 32  # language ranges read from one Accept-Language header; the rest are ignored


@dataclass(frozen=True)
class Catalogue:
    texts: Mapping[str, Mapping[Language, str]]
    regions: Mapping[str, Language]


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and check a catalogue: each text in every language of ``LANGUAGES`` and in no other."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or set(document) != {"texts", "regions"}:
        raise ValueError(f"{path.name}: an object with exactly 'texts' and 'regions'")
    texts: dict[str, dict[Language, str]] = {}
    for key, localized in _object(document["texts"], path, "texts").items():
        entry = _object(localized, path, key)
        if set(entry) != set(LANGUAGES) or not all(isinstance(text, str) for text in entry.values()):
            raise ValueError(f"{path.name}: {key} needs a text in each of {', '.join(LANGUAGES)} and no other")
        texts[key] = cast("dict[Language, str]", entry)
    regions: dict[str, Language] = {}
    for region, language in _object(document["regions"], path, "regions").items():
        if not re.fullmatch(r"[A-Z]{2}", region) or language not in LANGUAGES:
            raise ValueError(f"{path.name}: region {region!r} needs one of {', '.join(LANGUAGES)}")
        regions[region] = cast("Language", language)
    return Catalogue(texts=texts, regions=regions)


def _object(value: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{path.name}: {where} must be an object")
    return value


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped catalogue, read once per process."""
    return load_catalogue()


def raw(key: str, language: Language) -> str:
    """The unformatted text for ``key`` in exactly ``language`` (``KeyError`` for an unknown key)."""
    return catalogue().texts[key][language]


def resolve(value: str | None, supported: Sequence[Language], default: Language) -> Language:
    """The first of ``supported`` that ``value`` asks for, else ``default``.

    ``value`` is a language (``de``, ``de-DE``, ``DE``) or an ``Accept-Language`` header
    (``fr-CH, de;q=0.9, en;q=0.8``): ranges are tried by quality, in the order given when equal;
    ``q=0`` or a malformed quality excludes a range, and ``*`` matches nothing in particular.
    """
    for code in _requested(value):
        for language in supported:
            if code == language:
                return language
    return default


def _requested(value: str | None) -> list[str]:
    ranked: list[tuple[float, str]] = []
    for part in (value or "").split(",", _MAX_RANGES)[:_MAX_RANGES]:
        tag, _, parameters = part.partition(";")
        code = tag.strip().replace("_", "-").split("-")[0].lower()
        quality = _quality(parameters)
        if code and quality > 0:
            ranked.append((quality, code))
    ranked.sort(key=lambda item: -item[0])  # stable: equal qualities keep the order given
    return [code for _, code in ranked]


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0  # NaN and out-of-range fail both tests
    return 1.0


def format_period(period: timedelta, language: Language) -> str:
    """A period in words: whole years, else whole days, else hours, else minutes (never rounded to 0 hours)."""

    def words(n: int, unit: str) -> str:
        return f"{n} {raw(f'unit_{unit}' if n == 1 else f'unit_{unit}s', language)}"

    if period.days >= 365 and period.days % 365 == 0 and not period.seconds:
        return words(period.days // 365, "year")
    if period.days and not period.seconds:
        return words(period.days, "day")
    if period.total_seconds() % 3600:
        return words(round(period.total_seconds() / 60), "minute")
    return words(round(period.total_seconds() / 3600), "hour")


class Texts:
    """The catalogue for one business: its languages, its default, its names and links in the texts."""

    def __init__(self, config: BusinessConfig) -> None:
        self._config = config
        self._catalogue = catalogue()

    def language(self, value: str | None) -> Language:
        """One of the business's languages: what ``value`` asks for (see ``resolve``), else its default."""
        return resolve(value, self._config.languages, self._config.default_language)

    def language_for_region(self, region: str | None) -> Language:
        """The language for someone we know only by their number's region (``DE``, ``IT`` …)."""
        return self.language(self._catalogue.regions.get((region or "").upper()))

    def text(self, key: str, language: str | None, **values: str) -> str:
        """``key`` in the resolved language, with the business's name, e-mail and links filled in."""
        lang = self.language(language)
        base = str(self._config.public_base_url).rstrip("/")
        return self.raw(key, lang).format(
            controller=self._config.controller.name,
            controller_email=self._config.controller.email,
            notice_url=self._config.notice_url(lang),
            widget_url=f"{base}/widget",
            **values,
        )

    def raw(self, key: str, language: str | None) -> str:
        """``key`` unformatted, in the resolved language: for callers that format (and escape) themselves."""
        return self._catalogue.texts[key][self.language(language)]

    def purposes(self, purpose_ids: Iterable[str], language: str | None) -> str:
        """The purposes' titles in the resolved language, comma separated."""
        lang = self.language(language)
        return ", ".join(self._config.purpose(p).title[lang] for p in purpose_ids)

    def period(self, period: timedelta, language: str | None) -> str:
        """``format_period`` in the resolved language."""
        return format_period(period, self.language(language))
