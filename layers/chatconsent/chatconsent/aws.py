"""AWS clients through botocore alone, one per service and container (no boto3 import)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import botocore.session  # noqa: PLC0415 (only when a client is first needed)

    return botocore.session.get_session().create_client(service)  # region and credentials from the environment
