"""Special-category detection: health terms in it/de/en, IBANs by mod-97, cards by Luhn."""

from __future__ import annotations

import pytest

from chatconsent.special_categories import SpecialCategory, detect, iban_valid, luhn_valid


@pytest.mark.parametrize(
    "text",
    ["I have a nut allergy", "Ich bin schwanger", "sono celiaca, avete prodotti senza glutine?", "Diabetes Typ 2"],
)
def test_health_information_in_each_language(text: str) -> None:
    assert detect(text) == {SpecialCategory.HEALTH}


@pytest.mark.parametrize(
    "text",
    ["My IBAN is DE89 3704 0044 0532 0130 00", "IT60X0542811101000000123456 please", "card 4111 1111 1111 1111"],
)
def test_bank_data_with_valid_checksums(text: str) -> None:
    assert detect(text) == {SpecialCategory.BANK}


@pytest.mark.parametrize(
    "text",
    ["order 4111 1111 1111 1112", "DE89 3704 0044 0532 0130 01", "call me on +49 170 1234567", "where is my parcel?"],
)
def test_ordinary_text_and_numbers_are_not_special(text: str) -> None:
    assert detect(text) == frozenset()


def test_checksums() -> None:
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert luhn_valid("5555555555554444") and not luhn_valid("5555555555554445") and not luhn_valid("1234")


@pytest.mark.parametrize(
    "text",
    [
        "DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX",
        "IBAN DE89370400440532013000 OK THANKS",
        "de89 3704 0044 0532 0130 00",
        "DE89-3704-0044-0532-0130-00",
        "please use IT60 X054 2811 1010 0000 0123 456 for the refund",
    ],
)
def test_ibans_are_found_in_any_case_grouping_and_context(text: str) -> None:
    assert SpecialCategory.BANK in detect(text)


def test_an_iban_with_a_wrong_check_is_not_bank_data() -> None:
    assert detect("DE89 3704 0044 0532 0130 01 BIC COBADEFFXXX") == frozenset()
