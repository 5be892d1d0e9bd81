"""Special-category detection: health statements in it/de/en (on a labelled corpus), IBANs by mod-97, cards by Luhn."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chatconsent.special_categories import SpecialCategory, detect, iban_valid, luhn_valid

pytestmark = pytest.mark.unit


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


# -- the health-data detector on the labelled corpus (issue 13, item 11) ---------------------------------------------

CORPUS = Path(__file__).resolve().parents[1] / "data" / "health_corpus.jsonl"
LANGUAGES = {"de", "en", "it"}


def _corpus() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return rows[0]["header"], rows[1:]


def test_the_corpus_is_well_formed_with_both_labels_and_all_languages_in_each_split() -> None:
    header, items = _corpus()
    assert "labelling_rule" in header and "split" in header
    assert len(items) >= 300
    assert len({item["text"] for item in items}) == len(items)  # no duplicates
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        assert set(item) == {"id", "language", "text", "health", "split"}
        assert item["language"] in LANGUAGES and isinstance(item["health"], bool)
        assert item["split"] in {"train", "test"} and item["text"].strip()
        assert not re.search(r"\+?\d[\d ()-]{8,}\d", item["text"])  # no phone numbers
    for language in LANGUAGES:  # roughly a third each
        assert len([i for i in items if i["language"] == language]) >= len(items) // 4
    test = [i for i in items if i["split"] == "test"]
    assert len(test) >= 0.3 * len(items)
    for split in ("train", "test"):
        for language in LANGUAGES:
            for label in (True, False):
                stratum = [i for i in items if i["language"] == language and i["health"] is label]
                held_out = [i for i in stratum if i["split"] == "test"]
                in_split = held_out if split == "test" else [i for i in stratum if i["split"] == "train"]
                assert in_split, (split, language, label)
                assert len(held_out) >= 0.3 * len(stratum)  # stratified


def _recall_precision(items: list[dict[str, Any]]) -> tuple[float, float]:
    predicted = [SpecialCategory.HEALTH in detect(item["text"]) for item in items]
    tp = sum(p and item["health"] for p, item in zip(predicted, items, strict=True))
    fn = sum(item["health"] and not p for p, item in zip(predicted, items, strict=True))
    fp = sum(p and not item["health"] for p, item in zip(predicted, items, strict=True))
    return tp / (tp + fn), tp / (tp + fp)


@pytest.mark.parametrize("language", [*sorted(LANGUAGES), None])
def test_recall_and_precision_on_the_held_out_split_meet_the_targets(language: str | None) -> None:
    _, items = _corpus()
    test = [i for i in items if i["split"] == "test" and language in (None, i["language"])]
    recall, precision = _recall_precision(test)
    assert recall >= 0.9, recall
    assert precision >= 0.85, precision


@pytest.mark.parametrize(
    "text",
    [
        "My son was in hospital with pneumonia, that's why I missed the courier",
        "I'm pregnant, is the seat belt extender safe?",
        "I was sick all weekend and couldn't answer",
        "my GP says I need a firmer mattress for my back",
        "Ich bin seit der Hüft-OP auf Krücken, bitte liefern Sie bis an die Tür",
        "Meine Tochter ist krank, ich kann das Paket erst morgen abholen",
        "Ich vertrage keinen Gluten, ist das Brot wirklich glutenfrei?",
        "Mein Vater hat Demenz und bestellt alles doppelt",
        "Sono celiaca, la farina è davvero senza glutine?",
        "Mio figlio è malato, ritiro il pacco domani",
        "Dopo l'intervento al ginocchio non riesco a fare le scale",
        "Sto allattando, posso usare questa crema?",
    ],
)
def test_health_statements_are_found(text: str) -> None:
    assert SpecialCategory.HEALTH in detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "That's a sick deal, is it still on?",
        "My printer is sick again, it keeps jamming",
        "Your app says my phone has a virus",
        "Do you have a gluten-free bread recipe?",
        "Is the book about baking for diabetics in stock?",
        "Das Rezept für den Apfelkuchen fehlt in der Box",
        "Die Zahlung wurde als ungültige Operation abgelehnt",
        "Die Lieferung ist echt krank, drei Pakete für eine Bestellung",
        "Gibt es den Schwangerschaftstest im Dreierpack?",
        "Con la depressione atlantica in arrivo non lasciate il pacco fuori",
        "L'operazione di pagamento non è andata a buon fine",
        "La sezione farmacia del sito non si carica",
    ],
)
def test_look_alikes_are_not_health(text: str) -> None:
    assert SpecialCategory.HEALTH not in detect(text)


def test_health_and_bank_data_together() -> None:
    assert detect("I'm diabetic, refund to DE89 3704 0044 0532 0130 00 please") == {
        SpecialCategory.HEALTH,
        SpecialCategory.BANK,
    }


def test_card_numbers_are_masked_to_their_last_four_digits() -> None:
    from chatconsent.special_categories import mask_cards

    assert mask_cards("pay with 4111-1111-1111-1111 please") == ("pay with •••• 1111 please", 1)
    assert mask_cards("4111111111111111 and 5500 0000 0000 0004") == ("•••• 1111 and •••• 0004", 2)
    assert mask_cards("order 1234 5678 9012 3456 7") == ("order 1234 5678 9012 3456 7", 0)  # fails Luhn: kept
    assert mask_cards("") == ("", 0)
