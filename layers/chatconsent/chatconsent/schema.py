"""Validation of JSON documents into frozen dataclasses, without a validation library on the cold path.

Every function loads the configuration at start-up, so its validation is on every cold start; a
pydantic model per section cost more than the rest of the package's import (the library itself and
building the models). The configuration (``chatconsent.config``), the queues' jobs
(``chatconsent.link_sender``, ``chatconsent.broadcast``) and the purge schedule's input are
declared this way. The schema is the dataclasses themselves:

- the annotation is the type: ``Any`` (taken as it is), ``str``, ``int``, ``bool``, ``timedelta``
  (ISO 8601 duration or seconds), ``HttpUrl``, ``Literal[...]``, ``X | None``, ``A | B``,
  ``tuple[X, ...]``, ``dict[K, V]`` and nested ``Document`` dataclasses;
- bounds and patterns are the field's ``metadata`` (``constrained(ge=…, le=…, gt=…, pattern=…,
  min_length=…, max_length=…, description=…)``);
- checks across fields are ``__post_init__`` raising ``ValueError``.

Unknown fields are refused, every problem is collected with where it is (``purposes.0.id: …``),
and ``Document.model_validate`` raises one ``DocumentError`` listing them all (where and what, never
the input's values). Only strict JSON types are taken (no ``"5"`` for an int, no ``1`` for a bool).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import operator
import re
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit, urlunsplit

Location = tuple[str | int, ...]

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_DAYS_PER = {"years": 365, "months": 30, "weeks": 7, "days": 1}  # as pydantic reads them
_SECONDS_PER = {"hours": 3600, "minutes": 60, "seconds": 1}
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?$"
)
_URL_MAX = 2083


class HttpUrl(str):
    """An absolute http(s) URL, normalised as pydantic's ``HttpUrl`` writes it (host in lower case, ``/`` path)."""

    __slots__ = ()


def constrained(
    *, default: Any = dataclasses.MISSING, default_factory: Any = dataclasses.MISSING, repr: bool = True, **rules: Any
) -> Any:
    """A field with bounds, pattern or description (``ge``, ``gt``, ``le``, ``min_length``, ``max_length``,
    ``pattern``, ``description``), kept in its ``metadata``; ``repr=False`` keeps it out of ``repr()``."""
    return dataclasses.field(default=default, default_factory=default_factory, repr=repr, metadata=rules)


class DocumentError(ValueError):
    """Every problem of a document, each with where it is."""

    def __init__(self, title: str, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} validation error{'s' if len(problems) != 1 else ''} for {title}"]
        lines += [f"{'.'.join(map(str, loc)) or '(document)'}: {message}" for loc, message in problems]
        super().__init__("\n".join(lines))


class _Invalid(Exception):
    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems


def _fail(loc: Location, message: str) -> _Invalid:
    return _Invalid([(loc, message)])


# -- the types -------------------------------------------------------------------------------------


def _duration(value: object, loc: Location) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        found = _DURATION.fullmatch(value)
        if found and value.rstrip("-P") and not value.endswith("T"):
            parts = found.groupdict()
            days = sum(int(parts[name] or 0) * n for name, n in _DAYS_PER.items())
            seconds = sum(float(parts[name] or 0) * n for name, n in _SECONDS_PER.items())
            duration = timedelta(days=days, seconds=seconds)
            return -duration if parts["sign"] else duration
    raise _fail(loc, "should be a duration: ISO 8601 (P90D, PT1H) or seconds")


def _url(value: object, loc: Location) -> HttpUrl:
    if not isinstance(value, str) or len(value) > _URL_MAX:
        raise _fail(loc, f"should be a URL of at most {_URL_MAX} characters")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    host = (parts.hostname or "") if parts else ""
    if parts is None or parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(host):
        raise _fail(loc, "should be an absolute http or https URL")
    netloc = host.lower() + (f":{port}" if port is not None else "")
    if parts.username or parts.password:
        raise _fail(loc, "should be a URL without user or password")
    return HttpUrl(urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment)))


def _scalar(tp: Any, value: object, loc: Location) -> object:
    if tp is timedelta:
        return _duration(value, loc)
    if tp is HttpUrl:
        return _url(value, loc)
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is str and isinstance(value, str):
        return value
    raise _fail(loc, f"should be {'an' if tp is int else 'a'} {tp.__name__}")


def _members(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _union(tp: Any, value: object, loc: Location) -> object:
    members = _members(tp)
    if value is None:
        if type(None) in members:
            return None
        raise _fail(loc, "should not be null")
    problems: list[tuple[Location, str]] = []
    for member in (m for m in members if m is not type(None)):
        try:
            return _value(member, value, loc)
        except _Invalid as invalid:
            problems += invalid.problems
    raise _Invalid(problems)


def _sequence(tp: Any, value: object, loc: Location) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _fail(loc, "should be a list")
    item = _members(tp)[0]
    return tuple(_collect((_value, item, v, (*loc, i)) for i, v in enumerate(value)))


def _mapping(tp: Any, value: object, loc: Location) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(loc, "should be an object")
    key_type, value_type = _members(tp)
    keys = _collect((_value, key_type, k, (*loc, k)) for k in value)
    values = _collect((_value, value_type, v, (*loc, k)) for k, v in value.items())
    return dict(zip(keys, values, strict=True))


def _value(tp: Any, value: object, loc: Location) -> object:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in _members(tp) and not isinstance(value, bool | float):
            return value
        raise _fail(loc, "should be one of " + ", ".join(map(repr, _members(tp))))
    if origin in (types.UnionType, typing.Union):
        return _union(tp, value, loc)
    if origin is tuple:
        return _sequence(tp, value, loc)
    if origin is dict:
        return _mapping(tp, value, loc)
    if isinstance(tp, type) and issubclass(tp, Document):
        return tp.parse(value, loc)
    return _scalar(tp, value, loc)


def _collect(steps: Iterator[tuple[Any, Any, object, Location]]) -> list[Any]:
    """Run every step; raise all their problems together."""
    results, problems = [], []
    for parse, tp, value, loc in steps:
        try:
            results.append(parse(tp, value, loc))
        except _Invalid as invalid:
            problems += invalid.problems
    if problems:
        raise _Invalid(problems)
    return results


# -- the constraints -------------------------------------------------------------------------------


def _check(constraints: Mapping[str, Any], value: Any, loc: Location) -> None:
    if value is None:
        return
    limits = (("ge", "greater than or equal to", operator.ge), ("gt", "greater than", operator.gt),
              ("le", "less than or equal to", operator.le))  # fmt: skip
    for name, words, holds in limits:
        if name in constraints and not holds(value, constraints[name]):
            raise _fail(loc, f"should be {words} {constraints[name]}")
    size = len(value) if isinstance(value, str | tuple | dict) else None
    if size is not None and size < constraints.get("min_length", 0):
        raise _fail(loc, f"should have at least {constraints['min_length']} item(s) or character(s)")
    if size is not None and "max_length" in constraints and size > constraints["max_length"]:
        raise _fail(loc, f"should have at most {constraints['max_length']} item(s) or character(s)")
    if "pattern" in constraints and isinstance(value, str) and not re.search(constraints["pattern"], value):
        raise _fail(loc, f"should match pattern '{constraints['pattern']}'")


# -- the documents ---------------------------------------------------------------------------------


@typing.dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field, constrained)
)
class Document:
    """Base of a document: each subclass becomes a frozen, keyword-only dataclass validated from JSON."""

    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def _fields(cls) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
        hints = Document._hints.get(cls)
        if hints is None:
            hints = Document._hints[cls] = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            yield f, hints[f.name]

    @classmethod
    def parse(cls, data: object, loc: Location = ()) -> Self:
        if not isinstance(data, Mapping):
            raise _fail(loc, "should be an object")
        known = {f.name: (f, tp) for f, tp in cls._fields()}
        problems = [((*loc, key), "is not a known field") for key in data if key not in known]
        values: dict[str, Any] = {}
        for name, (f, tp) in known.items():
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    problems.append(((*loc, name), "is required"))
                continue
            try:
                values[name] = _value(tp, data[name], (*loc, name))
                _check(f.metadata, values[name], (*loc, name))
            except _Invalid as invalid:
                problems += invalid.problems
        if problems:
            raise _Invalid(problems)
        try:
            return cls(**values)
        except ValueError as error:
            raise _fail(loc, str(error)) from None

    @classmethod
    def model_validate(cls, data: object) -> Self:
        """The document validated, or ``DocumentError`` naming every problem."""
        try:
            return cls.parse(data)
        except _Invalid as invalid:
            raise DocumentError(cls.__name__, invalid.problems) from None

    def model_copy(self, *, update: Mapping[str, Any]) -> Self:
        """A copy with some fields replaced, not validated (as pydantic's ``model_copy``): for tests and tools
        that vary one setting; ``model_validate(model_dump())`` checks such a copy."""
        unknown = set(update) - {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        changed = copy.copy(self)
        for name, value in update.items():
            object.__setattr__(changed, name, value)
        return changed

    def model_dump(self, *, mode: Literal["json"] = "json") -> dict[str, Any]:
        """The document as JSON values, readable by ``model_validate`` (durations in ISO 8601)."""
        return {f.name: _dump(getattr(self, f.name)) for f, _ in self._fields()}

    def model_dump_json(self) -> str:
        """``model_dump()`` as compact JSON."""
        return json.dumps(self.model_dump(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        """A JSON text validated; text that is not JSON is a ``DocumentError`` too."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise DocumentError(cls.__name__, [((), "is not valid JSON")]) from None
        return cls.model_validate(data)


def _dump(value: object) -> Any:
    if isinstance(value, Document):
        return value.model_dump()
    if isinstance(value, timedelta):
        return _iso_duration(value)
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, HttpUrl):
        return str(value)
    return value


def _iso_duration(value: timedelta) -> str:
    sign, value = ("-", -value) if value < timedelta(0) else ("", value)
    seconds = value.seconds + value.microseconds / 1_000_000
    written = f"{seconds:.6f}".rstrip("0").rstrip(".")
    time = "" if not seconds else f"T{written}S" if seconds % 3600 else f"T{int(seconds) // 3600}H"
    return f"{sign}P{f'{value.days}D' if value.days or not time else ''}{time}"
