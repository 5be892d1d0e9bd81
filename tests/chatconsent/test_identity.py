"""E.164 normalisation and keyed pseudonyms: one person, one subject, whatever the notation."""

from __future__ import annotations

import pytest

from chatconsent.identity import InvalidIdentifier, Pseudonymizer, normalize_phone, normalize_whatsapp_id

PEPPER = b"a-test-pepper-of-32-bytes-length"
E164 = "+493012345678"  # a Berlin landline in E.164
WA_DIGITS = "493012345678"  # the same number as WhatsApp sends it (bare international digits)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+49 (0)30 12345678", None),
        ("0049 30 12345678", "DE"),
        ("030 12345678", "DE"),
        ("+49-30-1234-5678", None),
        ("＋４９３０１２３４５６７８", None),  # full-width plus and digits
        ("  +4930 12345678  ", None),
    ],
    ids=["national-trunk-in-brackets", "00-prefix", "national", "dashes", "full-width", "padded"],
)
def test_every_notation_normalises_to_one_e164_and_one_subject(raw: str, region: str | None) -> None:
    normalised = normalize_phone(raw, region)
    assert normalised == E164
    pseudonyms = Pseudonymizer(PEPPER)
    assert pseudonyms.subject("whatsapp", normalised) == pseudonyms.subject(
        "whatsapp", normalize_whatsapp_id(WA_DIGITS)
    )


@pytest.mark.parametrize("wa_id", [WA_DIGITS, f"+{WA_DIGITS}", f" {WA_DIGITS}\n"], ids=["bare", "plus", "padded"])
def test_whatsapp_ids_are_bare_international_digits(wa_id: str) -> None:
    assert normalize_whatsapp_id(wa_id) == E164


def test_a_whatsapp_id_is_never_read_as_a_national_number() -> None:
    # "03012345678" would be a valid German number with region DE; as a wa_id it is "+0…": invalid.
    with pytest.raises(InvalidIdentifier):
        normalize_whatsapp_id("03012345678")


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("not a number", None),
        ("+49 1", None),  # too short for Germany
        ("+999 1234567", None),  # no such country code
        ("030 12345678", None),  # national notation without a region
        ("+49 30 12345678901234567", None),  # too long
        ("+1 555 0100", None),  # well-formed, but no such number
        ("+", None),
    ],
    ids=["words", "too-short", "unknown-country", "no-region", "too-long", "unassigned", "plus-only"],
)
def test_invalid_input_raises_without_echoing_it(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidIdentifier) as error:
        normalize_phone(raw, region)
    message = str(error.value)
    assert raw not in message and raw.strip() not in message
    digits = "".join(c for c in raw if c.isdigit())
    assert not digits or digits not in message
    # the parser's error (which may quote the input) is not chained into the traceback
    assert error.value.__cause__ is None
    assert error.value.__context__ is None or error.value.__suppress_context__


def test_empty_input_is_invalid() -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_phone("")
    with pytest.raises(InvalidIdentifier):
        normalize_whatsapp_id("")


def test_invalid_identifier_is_a_value_error() -> None:
    assert issubclass(InvalidIdentifier, ValueError)


def test_pseudonyms_are_deterministic_hex_and_hide_the_number() -> None:
    subject = Pseudonymizer(PEPPER).subject("whatsapp", E164)
    assert subject == Pseudonymizer(PEPPER).subject("whatsapp", E164)
    assert len(subject) == 64 and int(subject, 16) >= 0
    assert WA_DIGITS not in subject and "12345678" not in subject


def test_pseudonyms_differ_per_channel() -> None:
    pseudonyms = Pseudonymizer(PEPPER)
    assert pseudonyms.subject("whatsapp", E164) != pseudonyms.subject("sms", E164)
    assert pseudonyms.message("whatsapp", "wamid.1") != pseudonyms.message("telegram", "wamid.1")
    assert pseudonyms.suppression("whatsapp", E164) != pseudonyms.suppression("sms", E164)


def test_pseudonyms_differ_per_pepper() -> None:
    a, b = Pseudonymizer(PEPPER), Pseudonymizer(PEPPER[:-1] + b"X")
    assert a.subject("whatsapp", E164) != b.subject("whatsapp", E164)
    assert a.message("whatsapp", "wamid.1") != b.message("whatsapp", "wamid.1")
    assert a.suppression("whatsapp", E164) != b.suppression("whatsapp", E164)
    assert a.client_ip("198.51.100.7") != b.client_ip("198.51.100.7")


def test_pseudonyms_differ_per_use_for_the_same_string() -> None:
    """A hash from one table cannot be joined with another's: each use has its own derived key."""
    pseudonyms = Pseudonymizer(PEPPER)
    value = "whatsapp:" + E164
    hashes = {
        pseudonyms.subject("whatsapp", E164),
        pseudonyms.message("whatsapp", E164),
        pseudonyms.suppression("whatsapp", E164),
        pseudonyms.client_ip(value),
        pseudonyms.keyed_hash("subject", value),
    }
    # subject() is keyed_hash("subject", "<channel>:<id>"); every other use differs
    assert len(hashes) == 4
    assert pseudonyms.subject("whatsapp", E164) == pseudonyms.keyed_hash("subject", value)
    assert pseudonyms.client_ip(value) != pseudonyms.keyed_hash("subject", value)


def test_pseudonyms_are_keyed_not_plain_hashes() -> None:
    import hashlib
    import hmac

    pseudonyms = Pseudonymizer(PEPPER)
    value = "whatsapp:" + E164
    subject = pseudonyms.subject("whatsapp", E164)
    assert subject != hashlib.sha256(value.encode()).hexdigest()
    assert subject != hmac.new(PEPPER, value.encode(), hashlib.sha256).hexdigest()  # the pepper is not used directly


@pytest.mark.parametrize("pepper", [b"", b"short", b"x" * 15])
def test_short_pepper_is_rejected(pepper: bytes) -> None:
    with pytest.raises(ValueError, match="pepper"):
        Pseudonymizer(pepper)


def test_sixteen_byte_pepper_is_accepted() -> None:
    assert len(Pseudonymizer(b"x" * 16).subject("whatsapp", E164)) == 64
