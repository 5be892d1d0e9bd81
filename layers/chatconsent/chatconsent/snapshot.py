"""SnapStart's runtime hooks: Lambda's ``snapshot_restore_py`` where the managed runtime ships it,
a stand-in that only remembers the hooks elsewhere (tests and tools run them)."""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class LocalSnapshotHooks:
    """``snapshot_restore_py``'s interface where the managed runtime does not provide it: the hooks are
    remembered (never run by anything but a test or a tool that calls them)."""

    def __init__(self) -> None:
        self.before: list[Hook] = []
        self.after: list[Hook] = []

    def register_before_snapshot(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        self.before.append((func, args, kwargs))
        return func

    def register_after_restore(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        self.after.append((func, args, kwargs))
        return func

    def get_before_snapshot(self) -> list[Hook]:
        return self.before

    def get_after_restore(self) -> list[Hook]:
        return self.after


@lru_cache(maxsize=1)
def snapshot_hooks() -> Any:
    """Lambda's ``snapshot_restore_py`` when present (SnapStart), else the local stand-in."""
    try:
        return importlib.import_module("snapshot_restore_py")
    except ImportError:
        return _LOCAL_HOOKS


_LOCAL_HOOKS = LocalSnapshotHooks()


def run_hooks(hooks: list[Hook]) -> None:
    """Run registered hooks as the runtime does (tests: "take the snapshot", "restore")."""
    for func, args, kwargs in list(hooks):
        func(*args, **kwargs)


class SnapshotAware(Protocol):
    def before_snapshot(self) -> None: ...

    def after_restore(self) -> None: ...


def register_weakly(owner: SnapshotAware) -> None:
    """Register ``owner``'s ``before_snapshot`` and ``after_restore`` as hooks without keeping it alive."""
    ref = weakref.ref(owner)

    def before_snapshot() -> None:
        if (alive := ref()) is not None:
            alive.before_snapshot()

    def after_restore() -> None:
        if (alive := ref()) is not None:
            alive.after_restore()

    hooks = snapshot_hooks()
    hooks.register_before_snapshot(before_snapshot)
    hooks.register_after_restore(after_restore)
