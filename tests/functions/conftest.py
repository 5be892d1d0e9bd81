"""Every functional test also checks that nothing it printed or logged carries personal data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.flow import OTHER, PERSON

# Phone numbers in every notation the tests use, and the distinctive message texts they send.
PERSONAL = [PERSON, OTHER, "+" + PERSON, "+" + OTHER, "1701234567", "3471234567"]
MESSAGE_TEXTS = ["Mein Code", "My code", "where is my parcel", "Il mio codice", "private question"]


@pytest.fixture(autouse=True)
def no_personal_data_in_output(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    out, err = capfd.readouterr()
    captured = out + err + caplog.text
    for needle in PERSONAL + MESSAGE_TEXTS:
        assert needle not in captured, "personal data or message text reached the output"
