"""Secrets come from SSM Parameter Store SecureStrings under one path, never from the template.

Two WhatsApp app secrets may be live at once (``app-secret`` and ``app-secret-previous``) so that
rotation drops no webhook; the same for Apple's Messaging API secret (``apple/messaging-secret`` and
``apple/messaging-secret-previous``, both as Apple hands them out: Base64, decoded where they are used).
The Apple ones are optional: a business without Apple Messages for Business sets neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PARAMETER_NAMES = {
    "pepper": "pepper",
    "whatsapp_app_secret": "whatsapp/app-secret",
    "whatsapp_app_secret_previous": "whatsapp/app-secret-previous",
    "whatsapp_verify_token": "whatsapp/verify-token",
    "whatsapp_access_token": "whatsapp/access-token",
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
    apple_messaging_secrets: tuple[str, ...] = ()  # Base64, as Apple hands them out; the current one first

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
        apple = [
            value
            for name in ("apple_messaging_secret", "apple_messaging_secret_previous")
            if (value := values.get(PARAMETER_NAMES[name], "")) and value != "-"
        ]
        return cls(
            apple_messaging_secrets=tuple(apple),
            pepper=need("pepper").encode("utf-8"),
            whatsapp_app_secrets=tuple(s.encode("utf-8") for s in app_secrets),
            whatsapp_verify_token=need("whatsapp_verify_token"),
            whatsapp_access_token=values.get(PARAMETER_NAMES["whatsapp_access_token"], ""),
        )


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
