"""A function's init without the garbage collector's passes over what it builds.

Init builds a large graph of long-lived objects: botocore's service model and client, the
configuration, a few hundred modules. CPython's cyclic collector runs when allocations outnumber
deallocations, so it runs again and again while that graph grows, and its full passes walk all of
it, though none of it is garbage: ~25–45 ms of a cold start (``make bench`` measures it), more
than Powertools' Logger and Metrics cost to import. Each later full pass (on a warm request)
walks it again.

In a Lambda execution environment (``settings.in_lambda``) collection is paused from the package's
first import (``chatconsent/__init__.py``) until the wiring is built (the end of ``Wiring()``):
``init_built`` then moves every object alive into the permanent generation (``gc.freeze``), which no
pass scans again, and resumes collection. What the handler module builds after that is collected
as usual. Elsewhere (tests, tools, the local server) nothing changes: the collector is left alone.
"""

from __future__ import annotations

import gc

from chatconsent.settings import in_lambda

_paused: list[bool] = []  # one entry while this module keeps collection paused


def pause_collection() -> None:
    """In Lambda: no collection until ``init_built`` (the package's first import calls this)."""
    if in_lambda() and gc.isenabled():
        gc.disable()
        _paused.append(True)


def init_built() -> None:
    """The wiring is built: keep what init made out of every later pass, and collect again.

    A no-op unless ``pause_collection`` paused collection (outside Lambda, or a second wiring)."""
    if _paused:
        _paused.clear()
        gc.freeze()
        gc.enable()


def freeze_snapshot() -> None:
    """Before a SnapStart snapshot: what the snapshot holds is never scanned again (in Lambda only)."""
    if in_lambda():
        gc.freeze()
