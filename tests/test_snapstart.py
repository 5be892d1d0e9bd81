"""SnapStart: what a snapshot holds, and what every restored environment forgets and reads afresh.

Lambda runs the registered hooks (``snapshot_restore_py``) before it takes the snapshot and after each
restore; here the local stand-in remembers them and the tests run them the same way.
"""

from __future__ import annotations

import random
from typing import Any

from chatconsent.aws import client
from chatconsent.snapshot import run_hooks, snapshot_hooks
from chatconsent.wiring import Wiring, _pseudonymizer
from tests.conftest import Env
from tests.flow import activate, deliver, subject_of, text


def _count_calls(service_client: Any) -> list[str]:
    calls: list[str] = []
    service = service_client.meta.service_model.service_id.hyphenize()
    service_client.meta.events.register(f"before-call.{service}.*", lambda model, **_: calls.append(model.name))
    return calls


def _hooks_of(kind: str) -> list[Any]:
    hooks = snapshot_hooks()
    return list(hooks.get_before_snapshot() if kind == "before" else hooks.get_after_restore())


def test_every_wiring_registers_its_hooks() -> None:
    before, after = len(_hooks_of("before")), len(_hooks_of("after"))
    Wiring(dynamodb=object())
    assert len(_hooks_of("before")) == before + 1
    assert len(_hooks_of("after")) == after + 1


def test_the_snapshot_holds_the_wiring_and_no_secret(env: Env) -> None:
    ssm_calls = _count_calls(client("ssm"))
    run_hooks(_hooks_of("before"))
    built = env.wiring.__dict__
    assert {"config", "store", "notices", "texts", "consents", "rights", "keyring", "link_queue"} <= set(built)
    assert env.wiring._fetched is None and ssm_calls == []  # nothing fetched: no secret in the snapshot


def test_a_restore_reads_the_secrets_again_and_forgets_data_keys(env: Env) -> None:
    activate(env)
    deliver(env, text(env, "where is my parcel?"))  # the subject's data key is cached now
    subject = subject_of(env)
    keyring = env.wiring.keyring
    assert keyring is not None and subject in keyring._cache
    fetched = env.wiring._fetched
    assert fetched is not None
    old_pseudonymizer = env.wiring.pseudonymizer
    assert _pseudonymizer.cache_info().currsize >= 1

    ssm_calls = _count_calls(client("ssm"))
    run_hooks(_hooks_of("after"))  # a new environment, restored from the snapshot
    assert env.wiring._fetched is None and not keyring._cache and _pseudonymizer.cache_info().currsize == 0
    assert ssm_calls == []  # nothing read until a request needs it

    deliver(env, text(env, "and another question"))  # the first request after the restore
    # the secrets (in SSM's pages of ten parameters), fetched again, with a fresh fetch time
    assert ssm_calls and set(ssm_calls) == {"GetParametersByPath"}
    refreshed = env.wiring._fetched
    assert refreshed is not None and refreshed[0] >= fetched[0] and refreshed[1] is not fetched[1]
    assert env.wiring.pseudonymizer is not old_pseudonymizer
    assert subject in keyring._cache  # the key read again (from the key table, through KMS)
    assert len(env.inbound_items(subject)) == 2


def test_restored_environments_draw_different_random_numbers() -> None:
    snapshot = random.getstate()  # what every environment restored from one snapshot starts with
    drawn = []
    for _ in range(2):
        random.setstate(snapshot)
        run_hooks(_hooks_of("after"))
        drawn.append(random.getrandbits(64))
    assert drawn[0] != drawn[1]


def test_a_restore_closes_open_connections_and_the_clients_still_work(env: Env) -> None:
    ssm = client("ssm")
    closed: list[bool] = []
    original = ssm._endpoint.http_session.close

    def close() -> None:
        closed.append(True)
        original()

    ssm._endpoint.http_session.close = close
    try:
        run_hooks(_hooks_of("after"))
    finally:
        ssm._endpoint.http_session.close = original
    assert closed  # (once per live wiring: each closes every client of the container)
    assert env.wiring.secrets.whatsapp_verify_token  # a new connection for the next request


def test_the_opt_in_function_primes_its_routes_before_the_snapshot(env: Env) -> None:
    from localrun.functions import load_function

    optin = load_function("functions/optin")
    optin.wiring = env.wiring
    dynamodb_calls, ssm_calls = _count_calls(env.dynamodb), _count_calls(client("ssm"))
    assert optin._prime in [func for func, _, _ in _hooks_of("before")]
    optin._prime()
    assert dynamodb_calls == [] and ssm_calls == [] and env.wiring._fetched is None  # no AWS call, no secret
