"""Secrets from SSM SecureStrings: two live app secrets during rotation, nothing ever printed."""

from __future__ import annotations

import pytest

from chatconsent.secrets import PARAMETER_NAMES, MissingSecret, Secrets, load_secrets
from localrun.aws import DEV_SECRETS, SECRETS_PATH, seed_secrets
from tests.conftest import Env

VALUES = {
    "pepper": "pepper-value-0123456789abcdef",
    "whatsapp/app-secret": "current-app-secret-value",
    "whatsapp/app-secret-previous": "previous-app-secret-value",
    "whatsapp/verify-token": "verify-token-value",
    "whatsapp/access-token": "access-token-value",
}


def test_both_app_secrets_are_live_during_rotation() -> None:
    secrets = Secrets.from_parameters(VALUES)
    assert secrets.whatsapp_app_secrets == (b"current-app-secret-value", b"previous-app-secret-value")
    assert secrets.pepper == b"pepper-value-0123456789abcdef"
    assert secrets.whatsapp_verify_token == "verify-token-value"
    assert secrets.whatsapp_access_token == "access-token-value"


@pytest.mark.parametrize("previous", ["-", "", None])
def test_without_a_previous_secret_only_the_current_one_is_live(previous: str | None) -> None:
    values = dict(VALUES)
    if previous is None:
        del values["whatsapp/app-secret-previous"]
    else:
        values["whatsapp/app-secret-previous"] = previous
    assert Secrets.from_parameters(values).whatsapp_app_secrets == (b"current-app-secret-value",)


@pytest.mark.parametrize("name", ["pepper", "whatsapp/app-secret", "whatsapp/verify-token"])
@pytest.mark.parametrize("absent", ["missing", "empty"])
def test_a_missing_required_secret_raises_without_leaking_values(name: str, absent: str) -> None:
    values = dict(VALUES)
    if absent == "missing":
        del values[name]
    else:
        values[name] = ""
    with pytest.raises(MissingSecret) as error:
        Secrets.from_parameters(values)
    message = str(error.value)
    assert name in message
    assert not any(value in message for value in VALUES.values())


def test_the_access_token_is_optional() -> None:
    values = {k: v for k, v in VALUES.items() if k != "whatsapp/access-token"}
    assert Secrets.from_parameters(values).whatsapp_access_token == ""


def test_repr_and_str_are_redacted() -> None:
    secrets = Secrets.from_parameters(VALUES)
    for shown in (repr(secrets), str(secrets), f"{secrets}", repr([secrets])):
        assert "<redacted>" in shown
        assert not any(value in shown for value in VALUES.values())


def test_parameter_names_are_the_readmes() -> None:
    from chatconsent.channels.telegram import BOT_TOKEN_PARAMETER, SECRET_TOKEN_PARAMETER

    telegram = {BOT_TOKEN_PARAMETER, SECRET_TOKEN_PARAMETER, f"{SECRET_TOKEN_PARAMETER}-previous"}
    assert set(PARAMETER_NAMES.values()) | telegram == set(DEV_SECRETS)


def test_load_secrets_from_ssm(env: Env) -> None:
    secrets = load_secrets(env.ssm, SECRETS_PATH)
    assert secrets.pepper == DEV_SECRETS["pepper"].encode()
    assert secrets.whatsapp_app_secrets == (
        DEV_SECRETS["whatsapp/app-secret"].encode(),
        DEV_SECRETS["whatsapp/app-secret-previous"].encode(),
    )
    assert secrets.whatsapp_verify_token == DEV_SECRETS["whatsapp/verify-token"]
    assert secrets.whatsapp_access_token == DEV_SECRETS["whatsapp/access-token"]


def test_load_secrets_reads_every_page_and_only_its_path(env: Env) -> None:
    path = "/chatconsent/paged"
    values = {**{f"unrelated/{n:02d}": f"filler-{n}" for n in range(15)}, **VALUES}  # more than one page, ours last
    seed_secrets(env.ssm, path, values)
    seed_secrets(env.ssm, path + "-other", {"pepper": "a-sibling-paths-pepper-value"})
    secrets = load_secrets(env.ssm, path)
    assert secrets.pepper == VALUES["pepper"].encode()
    assert secrets.whatsapp_app_secrets == (b"current-app-secret-value", b"previous-app-secret-value")


def test_a_rotation_is_seen_on_the_next_load(env: Env) -> None:
    env.ssm.put_parameter(
        Name=f"{SECRETS_PATH}/whatsapp/app-secret-previous", Value="-", Type="SecureString", Overwrite=True
    )
    assert load_secrets(env.ssm, SECRETS_PATH).whatsapp_app_secrets == (DEV_SECRETS["whatsapp/app-secret"].encode(),)


def test_load_secrets_without_parameters_raises(env: Env) -> None:
    with pytest.raises(MissingSecret):
        load_secrets(env.ssm, "/chatconsent/nothing-here")
