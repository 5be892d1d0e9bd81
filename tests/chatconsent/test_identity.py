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
    is_e164 = normalised == E164  # compared outside the assert: a failure report never shows a number
    assert is_e164, "the notation did not normalise to the expected E.164 number"
    pseudonyms = Pseudonymizer(PEPPER)
    from_form = pseudonyms.subject("whatsapp", normalised)
    from_whatsapp = pseudonyms.subject("whatsapp", normalize_whatsapp_id(WA_DIGITS))
    assert from_form == from_whatsapp


@pytest.mark.parametrize("wa_id", [WA_DIGITS, f"+{WA_DIGITS}", f" {WA_DIGITS}\n"], ids=["bare", "plus", "padded"])
def test_whatsapp_ids_are_bare_international_digits(wa_id: str) -> None:
    is_e164 = normalize_whatsapp_id(wa_id) == E164
    assert is_e164, "the WhatsApp id did not normalise to the expected E.164 number"


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
    digits = "".join(c for c in raw if c.isdigit())
    echoed = raw in message or raw.strip() in message or bool(digits and digits in message)
    assert not echoed, "the exception message repeats the input"
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
    subject, again = Pseudonymizer(PEPPER).subject("whatsapp", E164), Pseudonymizer(PEPPER).subject("whatsapp", E164)
    assert subject == again
    assert len(subject) == 64 and int(subject, 16) >= 0
    assert not any(digits in subject for digits in (WA_DIGITS, "12345678"))


def test_pseudonyms_differ_per_channel() -> None:
    pseudonyms = Pseudonymizer(PEPPER)
    for use in (pseudonyms.subject, pseudonyms.message, pseudonyms.suppression):
        on_whatsapp, on_sms = use("whatsapp", E164), use("sms", E164)
        assert on_whatsapp != on_sms


def test_pseudonyms_differ_per_pepper() -> None:
    a, b = Pseudonymizer(PEPPER), Pseudonymizer(PEPPER[:-1] + b"X")
    pairs = [
        (a.subject("whatsapp", E164), b.subject("whatsapp", E164)),
        (a.message("whatsapp", "wamid.1"), b.message("whatsapp", "wamid.1")),
        (a.suppression("whatsapp", E164), b.suppression("whatsapp", E164)),
        (a.client_ip("198.51.100.7"), b.client_ip("198.51.100.7")),
    ]
    for under_a, under_b in pairs:
        assert under_a != under_b


def test_pseudonyms_differ_per_use_for_the_same_string() -> None:
    """A hash from one table cannot be joined with another's: each use has its own derived key."""
    pseudonyms = Pseudonymizer(PEPPER)
    value = "whatsapp:" + E164
    subject = pseudonyms.subject("whatsapp", E164)
    message = pseudonyms.message("whatsapp", E164)
    suppression = pseudonyms.suppression("whatsapp", E164)
    client_ip = pseudonyms.client_ip(value)
    assert len({subject, message, suppression, client_ip}) == 4
    # subject() is keyed_hash("subject", "<channel>:<id>"); another use of the same string differs
    by_use = pseudonyms.keyed_hash("subject", value), pseudonyms.keyed_hash("ip", value)
    assert by_use == (subject, client_ip)


def test_pseudonyms_are_keyed_not_plain_hashes() -> None:
    import hashlib
    import hmac

    value = ("whatsapp:" + E164).encode()
    subject = Pseudonymizer(PEPPER).subject("whatsapp", E164)
    plain = hashlib.sha256(value).hexdigest()
    pepper_directly = hmac.new(PEPPER, value, hashlib.sha256).hexdigest()
    assert subject not in (plain, pepper_directly)  # the pepper is only the root of derived keys


@pytest.mark.parametrize("pepper", [b"", b"short", b"x" * 15])
def test_short_pepper_is_rejected(pepper: bytes) -> None:
    with pytest.raises(ValueError, match="pepper"):
        Pseudonymizer(pepper)


def test_sixteen_byte_pepper_is_accepted() -> None:
    subject = Pseudonymizer(b"x" * 16).subject("whatsapp", E164)
    assert len(subject) == 64


def test_the_desk_alias_is_short_stable_keyed_and_holds_no_digit_of_the_number() -> None:
    import re

    from chatconsent.identity import Pseudonymizer

    one, other = Pseudonymizer(b"p" * 32), Pseudonymizer(b"q" * 32)
    subject = one.subject("whatsapp", "+491701234567")
    alias = one.desk_alias(subject)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}", alias)
    assert one.desk_alias(subject) == alias != other.desk_alias(subject)  # stable, and keyed by the pepper
    assert alias.replace("-", "").lower() not in subject  # not a piece of the pseudonym
    aliases = {one.desk_alias(one.subject("whatsapp", f"+4917012{n:05d}")) for n in range(2000)}
    assert len(aliases) >= 1995  # 30 bits: a clash among 2,000 people is rare
