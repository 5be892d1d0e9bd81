"""AWS clients through botocore alone, one per service and container (no boto3 import).

A client keeps its service model (the costly part: built once, and kept in a SnapStart snapshot)
and a pool of open connections; ``close_connections`` drops the connections only, so that
environments restored from one snapshot never share a socket (the next request opens a new one).
"""

from __future__ import annotations

from functools import cache
from typing import Any

_built: list[str] = []  # the services whose client exists, in the order they were built


@cache
def client(service: str) -> Any:
    import botocore.session  # noqa: PLC0415 (only when a client is first needed)

    _built.append(service)
    return botocore.session.get_session().create_client(service)  # region and credentials from the environment


def close_connections() -> None:
    """Close the connection pools of every client built here; the clients stay usable."""
    for service in _built:
        client(service).close()
