"""Secrets come from SSM Parameter Store SecureStrings under one path, never from the template.

Two WhatsApp app secrets may be live at once (``app-secret`` and ``app-secret-previous``) so that
rotation drops no webhook. Every other channel's secrets live under ``<channel>/...`` beside them and
are read through :meth:`Secrets.channel_secret` and :meth:`Secrets.rotating` (the same window: the
current value and, while a rotation is under way, ``<name>-previous``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PARAMETER_NAMES = {
    "pepper": "pepper",
    "whatsapp_app_secret": "whatsapp/app-secret",
    "whatsapp_app_secret_previous": "whatsapp/app-secret-previous",
    "whatsapp_verify_token": "whatsapp/verify-token",
    "whatsapp_access_token": "whatsapp/access-token",
    # Apple's Messaging API secret, Base64 as Apple hands it out (optional; read with ``rotating``)
    "apple_messaging_secret": "apple/messaging-secret",
    "apple_messaging_secret_previous": "apple/messaging-secret-previous",
}


class MissingSecret(RuntimeError):
    """A required parameter is absent under the configured path."""


@dataclass(frozen=True, repr=False)
class Secrets:
    pepper: bytes
    whatsapp_app_secrets: tuple[bytes, ...]
    whatsapp_verify_token: str
    whatsapp_access_token: str
    values: Mapping[str, str] = field(default_factory=dict)  # every parameter by its name under the path

    def __repr__(self) -> str:  # never print secret values
        return "Secrets(<redacted>)"

    @classmethod
    def from_parameters(cls, values: dict[str, str]) -> Secrets:
        def need(field: str) -> str:
            value = values.get(PARAMETER_NAMES[field], "")
            if not value or value == "-":  # "-" marks an unset optional parameter, never a secret
                raise MissingSecret(f"parameter {PARAMETER_NAMES[field]!r} is not set")
            return value

        app_secrets = [need("whatsapp_app_secret")]
        previous = values.get(PARAMETER_NAMES["whatsapp_app_secret_previous"], "")
        if previous and previous != "-":
            app_secrets.append(previous)
        return cls(
            pepper=need("pepper").encode("utf-8"),
            whatsapp_app_secrets=tuple(s.encode("utf-8") for s in app_secrets),
            whatsapp_verify_token=need("whatsapp_verify_token"),
            whatsapp_access_token=values.get(PARAMETER_NAMES["whatsapp_access_token"], ""),
            values=dict(values),
        )

    def channel_secret(self, name: str) -> str:
        """The parameter ``name`` (``telegram/bot-token``); MissingSecret when it is not set."""
        value = self.values.get(name, "")
        if not value or value == "-":
            raise MissingSecret(f"parameter {name!r} is not set")
        return value

    def rotating(self, name: str) -> tuple[str, ...]:
        """The current value of ``name`` and, during a rotation, ``<name>-previous``: both are accepted."""
        previous = self.values.get(f"{name}-previous", "")
        return (self.channel_secret(name),) + ((previous,) if previous and previous != "-" else ())


def load_secrets(ssm: Any, path: str) -> Secrets:
    """Every SecureString under ``path``, decrypted (one call per 10 parameters); cached by the caller."""
    values: dict[str, str] = {}
    request: dict[str, Any] = {"Path": path, "Recursive": True, "WithDecryption": True}
    while True:
        response = ssm.get_parameters_by_path(**request)
        for parameter in response.get("Parameters", []):
            values[parameter["Name"].removeprefix(path).lstrip("/")] = parameter["Value"]
        if not response.get("NextToken"):
            return Secrets.from_parameters(values)
        request["NextToken"] = response["NextToken"]
